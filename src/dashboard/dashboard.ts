/**
 * The blessed wiring of the terminal dashboard: subscribe to the lab's events,
 * fold them into the pure state (state.ts), and paint the panels (panels/*.ts) at most about twice a
 * second. Keys only call the daemon's controls; the daemon owns every process
 * and every exit path (this file never exits, and takes blessed's own signal
 * handlers away so blessed cannot exit the process behind the daemon's back).
 */
import blessed from 'blessed';
import type { Widgets } from 'blessed';
import contrib from 'blessed-contrib';
import type { LineElement } from 'blessed-contrib';
import type { CliIO } from '../cli-io.js';
import type { LabEvent, LabEvents } from '../events.js';
import { keyAction, noticeFor } from './keys.js';
import { dashStrokes, gapStrokes } from './dash.js';
import { computeLayout, HEADER_ROWS, type Layout } from './layout.js';
import { chartAxis, chartModel, type ChartId, type ChartModel } from './panels/charts.js';
import { footerText, HELP_LINES, tooSmallLines } from './panels/footer.js';
import { alarmSegments, headerLines } from './panels/header.js';
import { visibleLog } from './panels/log.js';
import { instanceTable, tableLabel, type RowTone } from './panels/table.js';
import { initialDashboardState, reduceDashboard, type DashboardState, type LogLevel } from './state.js';
import { truncate } from '../format.js';

export interface DashboardControls {
  /** Manual scale out/in by one (the daemon clamps to [min, max]). */
  scale(delta: 1 | -1): void;
  /** Pause/resume autoscaling; the daemon answers with a 'paused' event. */
  togglePause(): void;
  /** Stop the lab (workers drained and stopped); the daemon then calls close(). */
  quit(): void;
}

export interface Dashboard {
  /** Destroy the screen and restore the terminal. Idempotent. */
  close(): void;
}

/** Repaint at most this often; events in between are folded into the next paint. */
const MIN_PAINT_GAP_MS = 500;
/** How long a key's footer notice stays (ms of lab time) unless an event answers it first. */
const NOTICE_MS = 5000;
const RESIZE_DEBOUNCE_MS = 100;

const TONE_COLOR: Record<RowTone, string | null> = { ok: null, warn: 'yellow', bad: 'red', dim: 'gray' };
const LEVEL_COLOR: Record<LogLevel, string | null> = { info: null, scale: 'cyan', warn: 'yellow', error: 'red' };
/** The alarm line: ALARM on red, OK on green (INSUFFICIENT_DATA stays on the header's blue). */
const ALARM_BG = { alarm: 'red', ok: 'green' } as const;

function colored(text: string, color: string | null): string {
  const safe = blessed.escape(text);
  return color ? `{${color}-fg}${safe}{/${color}-fg}` : safe;
}

/** The chart's border title: its values, then a colour key of its lines when there is room. */
function chartTitle(model: ChartModel, width: number): string {
  const room = Math.max(1, width - 4);
  const label = ` ${model.label} `;
  const key = (s: ChartModel['series'][number]): string => `${s.dashed ? '╍' : '━'}${s.title}`;
  const legend = model.series.map(key).join(' ');
  const short = ` ${model.shortLabel} `;
  // The colour key matters more than the long label: fall back to the short label to keep it.
  const withKey = [label, short].find((l) => model.series.length > 0 && l.length + legend.length + 1 <= room);
  if (withKey !== undefined) {
    const keyed = model.series.map((s) => `{${s.color}-fg}${blessed.escape(key(s))}{/${s.color}-fg}`).join(' ');
    return `${blessed.escape(withKey)}${keyed} `;
  }
  return blessed.escape(label.length <= room ? label : truncate(short, room));
}

/** Blessed installs process signal/exception handlers that call process.exit; the daemon owns those. */
function detachBlessedProcessHandlers(): void {
  const statics = blessed.screen as unknown as Record<string, ((...args: unknown[]) => void) | undefined>;
  const handlers: Array<[string, string]> = [
    ['SIGINT', '_sigintHandler'],
    ['SIGTERM', '_sigtermHandler'],
    ['SIGQUIT', '_sigquitHandler'],
    ['uncaughtException', '_exceptionHandler'],
  ];
  for (const [event, key] of handlers) {
    const handler = statics[key];
    if (handler) process.removeListener(event, handler);
  }
}

interface Panels {
  header?: Widgets.BoxElement;
  charts: Array<{ id: ChartId; chart: LineElement; width: number; height: number; drawnFrom: unknown }>;
  table?: Widgets.BoxElement;
  log?: Widgets.BoxElement;
  footer?: Widgets.BoxElement;
  tooSmall?: Widgets.BoxElement;
  all: Widgets.BlessedElement[];
}

/** The window a chart is drawn from: when it is the same object, the chart needs no redraw. */
function chartSource(state: DashboardState, id: ChartId): unknown {
  switch (id) {
    case 'cpu':
      return state.ticks;
    case 'instances':
      return state.instances;
    case 'requests':
    case 'latency':
      return state.requests;
  }
}

export function startDashboard(events: LabEvents, controls: DashboardControls, io: CliIO, webUrl: string | null = null): Dashboard {
  let state = initialDashboardState();
  // One more header row for the live page's URL, and one for the alarm line when the lab has alarms.
  const headerRows = () => HEADER_ROWS + (webUrl === null ? 0 : 1) + ((state.alarms?.length ?? 0) > 0 ? 1 : 0);
  let notice: { text: string; t: number } | null = null;
  let help = false;
  let quitting = false;
  let closed = false;
  let lastPaint = 0;
  let paintTimer: NodeJS.Timeout | null = null;
  let resizeTimer: NodeJS.Timeout | null = null;

  const screen = blessed.screen({
    input: process.stdin,
    output: io.stdout as unknown as NodeJS.WriteStream,
    smartCSR: true,
    title: 'autoscale',
    warnings: false,
    autoPadding: false,
  });
  detachBlessedProcessHandlers();

  const helpBox = blessed.box({
    top: 'center',
    left: 'center',
    width: Math.max(...HELP_LINES.map((l) => l.length)) + 3,
    height: HELP_LINES.length + 2,
    border: { type: 'line' },
    label: ' Help (? or Esc closes) ',
    content: HELP_LINES.join('\n'),
    style: { border: { fg: 'cyan' }, bg: 'black' },
    hidden: true,
  });

  let layout: Layout = computeLayout(screen.width as number, screen.height as number, 5, headerRows());
  let ui: Panels = { charts: [], all: [] };

  function build(): void {
    for (const w of ui.all) w.destroy();
    ui = { charts: [], all: [] };
    layout = computeLayout(screen.width as number, screen.height as number, state.lab?.config.max ?? 5, headerRows());
    const add = <T extends Widgets.BlessedElement>(w: T): T => {
      screen.append(w);
      ui.all.push(w);
      return w;
    };
    if (layout.kind === 'too-small') {
      ui.tooSmall = add(blessed.box({ top: 0, left: 0, width: '100%', height: '100%', tags: false, style: { fg: 'yellow' } }));
    } else {
      ui.header = add(blessed.box({ ...layout.header, tags: true, style: { fg: 'white', bg: 'blue', bold: true } }));
      for (const { id, rect } of layout.charts) {
        const chart = add(
          contrib.line({
            ...rect,
            tags: true,
            border: { type: 'line' },
            label: ' ',
            showLegend: false,
            minY: 0,
            maxY: 100,
            numYLabels: 2,
            wholeNumbersOnly: id === 'instances',
            xLabelPadding: 3,
            xPadding: 5,
            style: { line: 'yellow', text: 'white', baseline: 'white', border: { fg: 'cyan' } },
          }),
        );
        ui.charts.push({ id, chart, width: rect.width, height: rect.height, drawnFrom: null });
      }
      ui.table = add(blessed.box({ ...layout.table, tags: true, border: { type: 'line' }, style: { border: { fg: 'cyan' } } }));
      ui.log = add(blessed.box({ ...layout.log, tags: true, border: { type: 'line' }, label: ' Events (newest last) ', style: { border: { fg: 'cyan' } } }));
      ui.footer = add(blessed.box({ ...layout.footer, style: { fg: 'black', bg: 'white' } }));
    }
    // Keep the help overlay on top of whatever was rebuilt.
    screen.append(helpBox);
  }

  function currentNotice(): string | null {
    if (quitting) return 'stopping: draining and stopping workers…';
    if (notice && state.now - notice.t <= NOTICE_MS) return notice.text;
    return null;
  }

  function paintChart(entry: Panels['charts'][number]): void {
    const model = chartModel(state, entry.id);
    entry.chart.setLabel(chartTitle(model, entry.width));
    const source = chartSource(state, entry.id);
    if (entry.drawnFrom === source) return;
    entry.drawnFrom = source;
    if (model.series.length === 0) return;
    const axis = chartAxis(entry.id, entry.height, model);
    entry.chart.options.minY = model.minY;
    entry.chart.options.maxY = axis.maxY;
    entry.chart.options.numYLabels = axis.numYLabels;
    dashStrokes(entry.chart, model.series.filter((s) => s.dashed).map((s) => s.color));
    gapStrokes(entry.chart);
    entry.chart.setData(model.series.map((s) => ({ title: s.title, x: s.x, y: s.y, style: { line: s.color } })));
  }

  function paint(): void {
    if (closed) return;
    lastPaint = Date.now();
    if (layout.kind === 'too-small') {
      ui.tooSmall?.setContent(tooSmallLines(state, layout.cols, layout.rows).join('\n'));
    } else {
      const inner = layout.cols - 2;
      const alarms = alarmSegments(state, layout.cols - 2);
      const alarmLine = alarms === null ? [] : [` ${alarms.map((a) => (a.tone === 'unknown' ? blessed.escape(a.text) : `{${ALARM_BG[a.tone]}-bg}{black-fg}${blessed.escape(a.text)}{/black-fg}{/${ALARM_BG[a.tone]}-bg}`)).join(' ')}`];
      ui.header?.setContent([...headerLines(state, layout.cols - 1, webUrl).map((l) => ` ${blessed.escape(l)}`), ...alarmLine].join('\n'));
      for (const entry of ui.charts) paintChart(entry);
      const table = instanceTable(state, inner - 1);
      ui.table?.setLabel(` ${blessed.escape(tableLabel(state, layout.cols - 6))} `);
      ui.table?.setContent(
        [`{bold}${blessed.escape(table.header)}{/bold}`, ...table.rows.map((r) => colored(r.text, TONE_COLOR[r.tone]))].join('\n'),
      );
      const logLines = visibleLog(state, inner - 1, layout.log.height - 2);
      ui.log?.setContent(logLines.map((l) => colored(l.text, LEVEL_COLOR[l.level])).join('\n'));
      ui.footer?.setContent(footerText(state, layout.cols, currentNotice()));
    }
    if (help) helpBox.show();
    else helpBox.hide();
    screen.render();
  }

  /** Paint now if the last paint is old enough, else once the gap has passed; never more than one pending. */
  function requestPaint(): void {
    if (closed || paintTimer) return;
    const wait = Math.max(0, lastPaint + MIN_PAINT_GAP_MS - Date.now());
    paintTimer = setTimeout(() => {
      paintTimer = null;
      paint();
    }, wait);
    paintTimer.unref();
  }

  const onEvent = (event: LabEvent): void => {
    const before = state;
    state = reduceDashboard(state, event);
    if (event.type === 'scale' || event.type === 'paused') notice = null;
    // The table height follows --max, known from 'started', and the header's height whether there are alarms.
    if (event.type === 'started' && (before.lab?.config.max !== state.lab?.config.max || (before.alarms?.length ?? 0) !== (state.alarms?.length ?? 0))) {
      build();
    }
    requestPaint();
  };
  events.on('event', onEvent);

  screen.on('keypress', (ch: string | undefined, key: { name?: string; ctrl?: boolean; meta?: boolean } | undefined) => {
    const action = keyAction(ch, key);
    if (action === null || closed) return;
    const text = noticeFor(action, {
      paused: state.paused,
      desired: state.counts?.desired ?? null,
      min: state.lab?.config.min ?? null,
      max: state.lab?.config.max ?? null,
    });
    if (text !== null) notice = { text, t: state.now };
    switch (action) {
      case 'quit':
        if (!quitting) {
          quitting = true;
          controls.quit();
        }
        break;
      case 'scale-out':
        if (!quitting) controls.scale(1);
        break;
      case 'scale-in':
        if (!quitting) controls.scale(-1);
        break;
      case 'toggle-pause':
        if (!quitting) controls.togglePause();
        break;
      case 'toggle-help':
        help = !help;
        break;
      case 'close-help':
        help = false;
        break;
    }
    paint();
  });

  screen.on('resize', () => {
    if (resizeTimer) clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      resizeTimer = null;
      if (closed) return;
      build();
      paint();
    }, RESIZE_DEBOUNCE_MS);
    resizeTimer.unref();
  });

  build();
  paint();

  return {
    close(): void {
      if (closed) return;
      closed = true;
      events.removeListener('event', onEvent);
      if (paintTimer) clearTimeout(paintTimer);
      if (resizeTimer) clearTimeout(resizeTimer);
      screen.destroy();
    },
  };
}
