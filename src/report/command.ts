/**
 * `autoscale report [run-dir]` and `autoscale runs`: the CLI edge. Reads a
 * recording, writes report.html and report.md next to it, prints their paths;
 * lists the recorded runs. Only writes to `io`; exit codes via setExitCode.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join, resolve } from 'node:path';
import type { CliIO } from '../cli-io.js';
import { UsageError } from '../errors.js';
import { METRICS, type MetricName } from '../policy/metrics.js';
import { EVENTS_FILE, listRunDirs, liveRunDirs, runsDir } from '../runs/paths.js';
import { readExperimentRecord } from '../runs/experiment-record.js';
import type { RunModel } from './aggregate.js';
import { DEFAULT_PRICE, type Price } from './price.js';
import { renderHtml, type MetricLabel, type PageAssets, type ReplayExtra } from './render-html.js';
import { renderMarkdown } from './render-md.js';
import { loadRun } from './run-dir.js';
import { resolveRunDir } from '../runs/read.js';
import { formatCount, formatDuration as duration, formatLocalTime as localTime } from '../format.js';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The report page's shared components (charts, tables; also served by the live page of `autoscale start`) and its own boot script. */
export const REPORT_SCRIPTS = ['report-charts.js', 'report-page.js'] as const;

/** One of the report's browser assets from the source tree (both dist/ and src/ sit next to src/report/assets). */
export function readReportScript(name: (typeof REPORT_SCRIPTS)[number]): string {
  return readFileSync(new URL(`../../src/report/assets/${name}`, import.meta.url), 'utf8');
}

/** uPlot's browser build and stylesheet from node_modules. */
export function readUplot(): { js: string; css: string } {
  return { js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'), css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8') };
}

/** uPlot from node_modules and the page scripts from the source tree, the components first. */
export function readAssets(): PageAssets {
  const uplot = readUplot();
  return { uplotJs: uplot.js, uplotCss: uplot.css, pageJs: REPORT_SCRIPTS.map(readReportScript).join('\n') };
}

function parsePrice(raw: string | undefined, currency: string | undefined): Price {
  if (raw === undefined) {
    if (currency !== undefined) throw new UsageError('--currency needs --price-per-hour (the default price is in USD)');
    return DEFAULT_PRICE;
  }
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`--price-per-hour must be a number >= 0 (received ${JSON.stringify(raw)})`);
  const cur = currency ?? 'USD';
  if (!/^[A-Za-z]{3}$/.test(cur)) throw new UsageError(`--currency must be a three-letter code such as USD or EUR (received ${JSON.stringify(cur)})`);
  return { perHour: n, currency: cur.toUpperCase(), source: `given with --price-per-hour ${raw}` };
}

export interface ReportResult {
  html: string;
  md: string;
}

/** Render the report of `dir` into it. */
export function writeReport(dir: string, opts: { price?: Price; env?: NodeJS.ProcessEnv; now?: Date; replay?: ReplayExtra } = {}): ReportResult {
  const run = loadRun(dir, { price: opts.price, env: opts.env });
  const html = join(dir, 'report.html');
  const md = join(dir, 'report.md');
  writeFileSync(html, reportHtml(run.model, run.name, opts.now, opts.replay ?? null));
  writeFileSync(md, renderMarkdown(run.model, run.name, opts.replay ?? null));
  return { html, md };
}

/** The metric's label and unit as the charts show them. */
export function metricLabel(metric: string): MetricLabel {
  const info = METRICS[metric as MetricName] ?? { label: metric, unit: '' };
  return { label: info.label, unit: info.unit };
}

/** report.html of a run model (also what the live page offers for download when its lab stops). */
export function reportHtml(model: RunModel, name: string, now: Date = new Date(), replay: ReplayExtra | null = null): string {
  const generator = `autoscale ${pkg.version}, report made ${localTime(now.getTime())}`;
  return renderHtml(model, name, metricLabel(model.settings.metric), readAssets(), generator, replay);
}

/**
 * Open `file` in the default browser where the platform has an opener. Waits a
 * few seconds for the opener's verdict (xdg-open exits 3 when it finds no
 * browser); one still running then has launched something and is left alone.
 * Resolves with what went wrong, or null.
 */
export function openInBrowser(file: string): Promise<string | null> {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [file]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', file]] : ['xdg-open', [file]];
  return new Promise((resolve) => {
    const child = spawn(cmd, args as string[], { detached: true, stdio: 'ignore' });
    const timer = setTimeout(() => {
      child.unref();
      resolve(null);
    }, 3000);
    child.once('error', () => {
      clearTimeout(timer);
      resolve(`no program to open it (${cmd} not found); open ${file} in a browser`);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? null : `${cmd} could not open it (exit code ${code}: no browser found?); open ${file} in a browser`);
    });
  });
}

export interface RunRow {
  name: string;
  dir: string;
  startedAt: number | null;
  durationSec: number | null;
  policy: string;
  peak: number | null;
  requests: number | null;
  report: boolean;
  running: boolean;
  problem: string | null;
}

/** What `runs` shows of one run, cached next to its events (valid while events.ndjson keeps its size and mtime). */
type RunFacts = Pick<RunRow, 'startedAt' | 'durationSec' | 'policy' | 'peak' | 'requests'>;
const FACTS_FILE = '.runs-cache.json';

function runFacts(dir: string, env: NodeJS.ProcessEnv, running: boolean): RunFacts {
  const events = join(dir, EVENTS_FILE);
  const st = statSync(events);
  const stamp = { size: st.size, mtimeMs: st.mtimeMs };
  try {
    const cached = JSON.parse(readFileSync(join(dir, FACTS_FILE), 'utf8')) as { size: number; mtimeMs: number; facts: RunFacts };
    if (cached.size === stamp.size && cached.mtimeMs === stamp.mtimeMs) return cached.facts;
  } catch {
    // no cache yet, or unreadable: compute it
  }
  const { model } = loadRun(dir, { env, withLoad: false });
  const facts = { startedAt: model.startedAt, durationSec: model.summary.durationSec, policy: `${model.settings.policy}/${model.settings.metric}`, peak: model.summary.peakInstances, requests: model.summary.requests };
  if (!running) {
    try {
      writeFileSync(join(dir, FACTS_FILE), JSON.stringify({ ...stamp, facts }) + '\n');
    } catch {
      // a read-only run dir is still listed
    }
  }
  return facts;
}

/** Every recorded run, newest first. A long run is parsed once; later listings read its cached facts. */
export function listRuns(env: NodeJS.ProcessEnv = process.env): RunRow[] {
  const live = liveRunDirs(env);
  return listRunDirs(env)
    .reverse()
    .map((dir) => {
      const name = basename(dir);
      const report = existsSync(join(dir, 'report.html'));
      const running = live.has(resolve(dir));
      const experiment = readExperimentRecord(dir);
      if (experiment !== null) {
        // An experiment's directory: its arms are runs inside it (autoscale report <dir>/<arm>).
        const done = experiment.arms.filter((a) => a.status === 'finished').length;
        const startedAt = Date.parse(experiment.startedAt);
        const ended = experiment.endedAt === null ? null : Date.parse(experiment.endedAt);
        return { name, dir, startedAt, durationSec: ended === null ? null : (ended - startedAt) / 1000, policy: `experiment ${experiment.name}: ${done}/${experiment.arms.length} arms ${experiment.status}`, peak: null, requests: null, report: existsSync(join(dir, 'experiment.html')), running: false, problem: null };
      }
      try {
        return { name, dir, ...runFacts(dir, env, running), report, running, problem: null };
      } catch (err) {
        return { name, dir, startedAt: null, durationSec: null, policy: '–', peak: null, requests: null, report, running, problem: (err as Error).message };
      }
    });
}

/** The `autoscale runs` table, newest first. Pure. */
export function formatRuns(rows: RunRow[], root: string): string {
  if (rows.length === 0) return `no recorded runs in ${root}\n`;
  const header = ['run', 'started', 'duration', 'policy', 'peak', 'requests', 'report'];
  const body = rows.map((r) => [
    r.name + (r.running ? ' (running)' : ''),
    r.startedAt === null ? '–' : localTime(r.startedAt),
    r.durationSec === null ? '–' : duration(r.durationSec),
    r.problem === null ? r.policy : `unreadable: ${r.problem}`,
    r.peak === null ? '–' : String(r.peak),
    r.requests === null ? '–' : formatCount(r.requests),
    r.report ? 'yes' : 'no',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return `runs in ${root}, newest first\n${[line(header), ...body.map(line)].join('\n')}\n`;
}

/** `autoscale report [run-dir]`: write the report of a run (default: the latest); resolves with the exit code. */
export async function runReport(arg: string | undefined, opts: { open?: boolean; pricePerHour?: string; currency?: string }, io: CliIO): Promise<number> {
  const price = parsePrice(opts.pricePerHour, opts.currency);
  const dir = resolveRunDir(arg, io.env);
  const out = writeReport(dir, { price, env: io.env });
  io.stdout.write(`${out.html}\n${out.md}\n`);
  if (opts.open) {
    const problem = await openInBrowser(out.html);
    if (problem !== null) io.stderr.write(`${problem}\n`);
  }
  return 0;
}

/** `autoscale runs`: the recorded runs, newest first. */
export function runRuns(opts: { json?: boolean }, io: CliIO): number {
  const rows = listRuns(io.env);
  io.stdout.write(opts.json ? JSON.stringify(rows) + '\n' : formatRuns(rows, runsDir(io.env)));
  return 0;
}
