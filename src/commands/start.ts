/**
 * `autoscale start`: run the lab and attach one view — the dashboard on a
 * TTY, plain lines otherwise, NDJSON with --json. Ctrl+C / SIGTERM / SIGHUP
 * stop it cleanly; the returned promise resolves with the exit code.
 */
import { existsSync, rmSync } from 'node:fs';
import { AutoscaleError, DatabaseUnavailableError, listenError } from '../errors.js';
import { watchLifeline, type CliIO } from '../cli-io.js';
import { formatJsonLine, formatPlainLine } from '../dashboard/plain.js';
import { startDashboard } from '../dashboard/dashboard.js';
import type { LabConfig } from '../settings/config.js';
import { attachForecast } from '../simulate/history.js';
import { openOperations, type Operations } from './operations.js';
import { exposureWarning, Lab } from '../lab/lab.js';
import { running } from './running.js';
import { emptySummary, foldSummary, summaryLines } from '../summary/summary.js';
import { RunSession, type RunOptions } from '../runs/session.js';
import type { StoreLocation } from '../store/location.js';
import { prepareStore } from '../store/open.js';
import { defaultSqlite } from '../store/location.js';
import { openInBrowser } from '../report/command.js';
import { webExposureWarning, WebServer } from '../web/server.js';
import { AlarmNotifier } from '../lab/notify.js';
import type { NotifyOptions } from '../settings/alarms.js';

export interface StartOptions extends RunOptions {
  dashboard: boolean;
  json: boolean;
  /** null/absent: visits.db in the run directory. */
  database?: StoreLocation | null;
  /** The live page (src/web): port 0 or absent turns it off; `chosen` when the user gave --web-port (then a taken port is an error). */
  web?: WebPageOptions | null;
  /** --allow-stress: workers accept POST /stress even when the balancer is reachable from other machines. */
  allowStress?: boolean;
  /** --on-alarm / --alarm-webhook: where alarm transitions go (null: nowhere). */
  notify?: NotifyOptions | null;
}

export interface WebPageOptions {
  host: string;
  port: number;
  chosen: boolean;
  open: boolean;
}

export async function runStart(configIn: LabConfig, io: CliIO, opts: StartOptions): Promise<number> {
  // --policy predictive: learn the forecast from --history before anything starts (a bad path is one line, exit 2).
  const config = attachForecast(configIn);
  const warning = exposureWarning(config.host);
  // POST /stress burns a core per worker: through the balancer only when nobody else can reach it, or when asked.
  const stress = warning === null || opts.allowStress === true;
  if (warning !== null) io.stderr.write(`${warning}${stress ? '' : '; POST /stress is refused (403) unless you start with --allow-stress'}\n`);
  const webWarning = opts.web && opts.web.port !== 0 ? webExposureWarning(opts.web.host) : null;
  if (webWarning !== null) io.stderr.write(`${webWarning}\n`);
  let run: RunSession;
  try {
    run = RunSession.open(opts, io.env);
  } catch (err) {
    if (err instanceof AutoscaleError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  // One clear error before any worker starts, instead of workers that never turn healthy; done before
  // the lab exists so that its clock (the 'started' event at +00:00) does not include opening the database.
  const store = opts.database ?? defaultSqlite(run.runDir);
  const createdFile = store.kind === 'sqlite' && !existsSync(store.file);
  try {
    await prepareStore(store);
  } catch (err) {
    run.close();
    io.stderr.write(`error: ${new DatabaseUnavailableError(`cannot use the visits database: ${(err as Error).message}`).message}\n`);
    return 1;
  }
  // A start that failed leaves the run dir as it found it.
  const undoStore = () => {
    if (createdFile && store.kind === 'sqlite') for (const f of [store.file, `${store.file}-wal`, `${store.file}-shm`]) rmSync(f, { force: true });
  };
  const lab = new Lab(config, { runDir: run.runDir, store, stress });
  try {
    await lab.listen();
  } catch (err) {
    undoStore();
    run.close();
    // Every listen error is one line: EADDRNOTAVAIL, EACCES… (see listenError).
    const e = err instanceof AutoscaleError ? err : listenError(err, config.host, config.port, 'balancer', '--port');
    io.stderr.write(`error: ${e.message}\n`);
    return e.exitCode;
  }
  let ops: Operations;
  try {
    ops = await openOperations(lab, config, io);
  } catch (err) {
    await lab.stop('could not open the control socket or the metrics port');
    undoStore();
    run.close();
    if (err instanceof AutoscaleError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  let web: WebServer | null;
  try {
    web = opts.web && opts.web.port !== 0 ? await openWeb(lab, opts.web, io) : null;
  } catch (err) {
    await lab.stop('could not open the live page');
    await ops.close();
    run.close();
    if (err instanceof AutoscaleError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  // The experiment runner's `experiment` requests (control socket) show on the page's banner.
  if (web !== null) lab.operator.showExperimentOn((status) => web.setExperiment(status));
  running.add(lab);
  // Subscribed before run(): it needs the 'started' event's wall clock for StateChangeTime.
  const notifier = opts.notify ? new AlarmNotifier({ events: lab.events, rules: config.alarms, now: () => lab.now(), env: io.env ?? process.env }, opts.notify) : null;
  // A closed stdout (`autoscale start | head -1`, a terminal gone) ends the output quietly and stops the lab
  // cleanly: workers drained, the run recorded to its `stopped` line, the summary on stderr.
  const output = { open: true };
  const onOutputError = (err: NodeJS.ErrnoException) => {
    if (!output.open) return;
    output.open = false;
    void lab.stop(`its output was closed (${err.code ?? err.message})`);
  };
  io.stdout.on('error', onOutputError);
  // Other terminals find this lab's control socket (and metrics) through its entry in the registry of live labs.
  run.setLabFields({ controlSocket: ops.controlSocket, metricsUrl: lab.metricsUrl });
  let summary = emptySummary();
  lab.events.on('event', (e) => (summary = foldSummary(summary, e)));
  run.attach(lab.events, (message) => io.stderr.write(`warning: ${message}\n`));
  io.stderr.write(run.record ? `recording this run in ${run.runDir}\n` : `not recording (--no-record); worker logs in ${run.runDir}\n`);
  if (web !== null) {
    io.stderr.write(`live page: ${web.url}\n`);
    if (opts.web?.open) {
      const problem = await openInBrowser(web.url);
      if (problem !== null) io.stderr.write(`warning: ${problem}\n`);
    }
  }

  const useDashboard = opts.dashboard && !opts.json && io.stdout.isTTY === true;
  let dashboard: { close(): void } | null = null;
  if (useDashboard) {
    dashboard = startDashboard(
      lab.events,
      {
        scale: (delta) => void lab.command({ cmd: 'scale-by', delta }, 'dashboard'),
        togglePause: () => void lab.command({ cmd: 'toggle-pause' }, 'dashboard'),
        quit: () => void lab.command({ cmd: 'stop' }, 'dashboard'),
      },
      io,
      web?.url ?? null,
    );
  } else {
    const format = opts.json ? formatJsonLine : formatPlainLine;
    lab.events.on('event', (e) => {
      const line = format(e);
      if (line !== null && output.open) io.stdout.write(`${line}\n`);
    });
  }
  const onSignal = (signal: NodeJS.Signals) => void lab.stop(`received ${signal}`);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  const unwatch = watchLifeline(io.env ?? process.env, () => void lab.stop('the process that started this lab is gone (its lifeline closed)'));
  try {
    await lab.run();
    await lab.stopped;
  } finally {
    await ops.close();
    // Notifications still running get until their own deadline (10 s), then are killed.
    await notifier?.close();
    // After the lab stopped: every open page gets the run's report, then the stream ends.
    await web?.close();
    for (const s of signals) process.off(s, onSignal);
    unwatch();
    dashboard?.close();
    running.delete(lab);
    run.close();
    io.stdout.off('error', onOutputError);
    // After the dashboard has restored the screen; on stderr, so --json keeps stdout pure NDJSON.
    io.stderr.write(`${summaryLines(summary, { runDir: run.runDir, recorded: run.record }).join('\n')}\n`);
  }
  return 0;
}

/**
 * The live page. The default port being taken (another lab's page) only
 * costs the page, with a warning; a port the user chose must work.
 */
export async function openWeb(lab: Lab, opts: WebPageOptions, io: CliIO): Promise<WebServer | null> {
  const web = new WebServer({ events: lab.events, command: (cmd, source) => lab.command(cmd, source), balancerPort: () => lab.balancer.port }, { host: opts.host, port: opts.port });
  try {
    await web.listen();
  } catch (err) {
    if (err instanceof AutoscaleError && err.code === 'AS_ERR_PORT_IN_USE' && !opts.chosen) {
      io.stderr.write(`warning: web port ${opts.port} is in use, so the live page is off (choose a port with --web-port, or 0 to silence this)\n`);
      return null;
    }
    throw err;
  }
  return web;
}
