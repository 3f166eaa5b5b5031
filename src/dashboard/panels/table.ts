/** The instance table panel: one fixed-width row per worker, and its title. */
import type { StoreStatus, WorkerSnapshot, WorkerState } from '../../events.js';
import { formatBytes, formatClock, formatCount, formatLatency, formatPercent, truncate, UNKNOWN } from '../../format.js';
import type { DashboardState } from '../state.js';

export type RowTone = 'ok' | 'warn' | 'bad' | 'dim';
export interface TableRow { text: string; tone: RowTone }

interface Column { title: string; width: number; align: 'left' | 'right' }
const COLUMNS: Column[] = [
  { title: 'ID', width: 3, align: 'right' },
  { title: 'PORT', width: 5, align: 'right' },
  { title: 'PID', width: 7, align: 'right' },
  // Wide enough for "booting (12 s left)" (--boot-delay).
  { title: 'STATE', width: 19, align: 'left' },
  { title: 'CPU%', width: 5, align: 'right' },
  { title: 'MEM', width: 8, align: 'right' },
  { title: 'REQ/S', width: 6, align: 'right' },
  { title: 'IN-FL', width: 5, align: 'right' },
  // Client connections the worker holds; known under --balancer l4 (handed over), "–" under l7.
  { title: 'CONNS', width: 5, align: 'right' },
  { title: 'VISITS', width: 6, align: 'right' },
  { title: 'RESTARTS', width: 8, align: 'right' },
  { title: 'UPTIME', width: 8, align: 'right' },
];

/**
 * What the STATE column says: the lifecycle state, "unhealthy" when health checks failed, or
 * "booting (12 s left)" while a listening worker holds its readiness (--boot-delay).
 */
export function displayState(w: WorkerSnapshot, now?: number): string {
  if (!w.healthy && (w.state === 'ready' || w.state === 'starting')) return 'unhealthy';
  if (w.state === 'starting' && w.bootingUntil !== undefined && now !== undefined) {
    return `booting (${Math.max(0, Math.ceil((w.bootingUntil - now) / 1000))} s left)`;
  }
  return w.state;
}

function rowTone(w: WorkerSnapshot): RowTone {
  if (w.state === 'crashed' || !w.healthy || w.store?.up === false) return 'bad';
  if (w.state === 'ready') return 'ok';
  if (w.state === 'exited') return 'dim';
  return 'warn';
}

function formatCells(cells: readonly string[], width: number): string {
  const natural = COLUMNS.reduce((s, c) => s + c.width, 0);
  const gap = natural + 2 * (COLUMNS.length - 1) <= width ? 2 : 1;
  const text = cells
    .map((cell, i) => {
      const col = COLUMNS[i];
      const fitted = truncate(cell, col.width);
      return col.align === 'right' ? fitted.padStart(col.width) : fitted.padEnd(col.width);
    })
    .join(' '.repeat(gap));
  return truncate(text, width);
}

function isLive(state: WorkerState): boolean {
  return state !== 'exited' && state !== 'crashed';
}

export function workerCells(w: WorkerSnapshot, now: number): string[] {
  return [
    String(w.id),
    w.port > 0 ? String(w.port) : UNKNOWN,
    w.pid === undefined ? UNKNOWN : String(w.pid),
    displayState(w, now),
    formatPercent(w.cpu),
    formatBytes(w.rss),
    formatCount(w.rps),
    formatCount(w.inFlight),
    w.connections === undefined ? UNKNOWN : formatCount(w.connections),
    w.store ? formatCount(w.store.visits) : UNKNOWN,
    formatCount(w.restarts),
    isLive(w.state) ? formatClock(now - w.startedAt) : UNKNOWN,
  ];
}

/** The instance table as fixed-width text: a header line and one row per worker, ordered by id. */
export function instanceTable(state: DashboardState, width: number): { header: string; rows: TableRow[] } {
  return {
    header: formatCells(COLUMNS.map((c) => c.title), width),
    rows: state.workers.map((w) => ({ text: formatCells(workerCells(w, state.now), width), tone: rowTone(w) })),
  };
}

/** The table's title: how many workers serve, and the balancer's traffic in one line (fits any layout). */
export function tableLabel(state: DashboardState, width: number): string {
  const ready = state.workers.filter((w) => w.state === 'ready' && w.healthy).length;
  let text = `Instances: ${ready} ready of ${state.workers.length}`;
  const where = state.lab?.store;
  if (where) text += ` · ${storeLabel(where.kind, state.store)}`;
  const t = state.traffic;
  if (t) {
    text += ` · balancer ${formatCount(t.rpm)} req/min, ${formatCount(t.rps)} req/s, p50 ${formatLatency(t.p50)}, p99 ${formatLatency(t.p99)}, in flight ${formatCount(t.inFlight)}, errors ${formatCount(t.errors)}`;
  }
  return truncate(text, width);
}

/** "sqlite up, 1,204 visits" / "postgres DOWN (worker 2: ECONNREFUSED …)" / "sqlite …" before any report. */
export function storeLabel(kind: string, store: StoreStatus | null): string {
  if (store === null || store.up === null) return `${kind} ${UNKNOWN}`;
  if (!store.up) return `${kind} DOWN (${store.detail})`;
  return `${kind} up, ${formatCount(store.visits)} visit${store.visits === 1 ? '' : 's'}`;
}
