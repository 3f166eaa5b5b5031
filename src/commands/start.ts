/**
 * `autoscale start`: run the lab and attach one view — the dashboard on a
 * TTY, plain lines otherwise, NDJSON with --json. Ctrl+C / SIGTERM / SIGHUP
 * stop it cleanly; the returned promise resolves with the exit code.
 */
import { AutoscaleError, listenError } from '../errors.js';
import type { CliIO } from '../cli-io.js';
import { formatJsonLine, formatPlainLine } from '../dashboard/plain.js';
import { startDashboard } from '../dashboard/dashboard.js';
import type { LabConfig } from '../lab/config.js';
import { openOperations, type Operations } from './operations.js';
import { exposureWarning, Lab } from '../lab/lab.js';
import { running } from './running.js';
import { RunSession, type RunOptions } from '../runs/session.js';

export interface StartOptions extends RunOptions {
  dashboard: boolean;
  json: boolean;
}

export async function runStart(config: LabConfig, io: CliIO, opts: StartOptions): Promise<number> {
  const warning = exposureWarning(config.host);
  if (warning !== null) io.stderr.write(`${warning}\n`);
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
  const lab = new Lab(config, { runDir: run.runDir });
  try {
    await lab.listen();
  } catch (err) {
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
    run.close();
    if (err instanceof AutoscaleError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  running.add(lab);
  // Other terminals find this lab's control socket (and metrics) through the `current` pointer.
  run.setPointerFields({ controlSocket: ops.controlSocket, metricsUrl: lab.metricsUrl });
  run.attach(lab.events, (message) => io.stderr.write(`warning: ${message}\n`));
  io.stderr.write(run.record ? `recording this run in ${run.runDir}\n` : `not recording (--no-record); worker logs in ${run.runDir}\n`);

  const useDashboard = opts.dashboard && !opts.json && io.stdout.isTTY === true;
  let dashboard: { close(): void } | null = null;
  if (useDashboard) {
    dashboard = startDashboard(lab.events, {
      scale: (delta) => void lab.command({ cmd: 'scale-by', delta }, 'dashboard'),
      togglePause: () => void lab.command({ cmd: 'toggle-pause' }, 'dashboard'),
      quit: () => void lab.command({ cmd: 'stop' }, 'dashboard'),
    }, io);
  } else {
    const format = opts.json ? formatJsonLine : formatPlainLine;
    lab.events.on('event', (e) => {
      const line = format(e);
      if (line !== null) io.stdout.write(`${line}\n`);
    });
  }
  const onSignal = (signal: NodeJS.Signals) => void lab.stop(`received ${signal}`);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    await lab.run();
    await lab.stopped;
  } finally {
    await ops.close();
    for (const s of signals) process.off(s, onSignal);
    dashboard?.close();
    running.delete(lab);
    run.close();
    io.stderr.write(run.record ? `run recorded in ${run.runDir} (render it: autoscale report ${run.runDir})\n` : `worker logs in ${run.runDir}\n`);
  }
  return 0;
}
