/**
 * `autoscale start`: run the lab and attach one view — the dashboard on a
 * TTY, plain lines otherwise, NDJSON with --json. Ctrl+C / SIGTERM / SIGHUP
 * stop it cleanly; the returned promise resolves with the exit code.
 */
import { AutoscaleError } from '../errors.js';
import type { CliIO } from '../cli-io.js';
import { formatJsonLine, formatPlainLine } from '../dashboard/plain.js';
import { startDashboard } from '../dashboard/dashboard.js';
import type { LabConfig } from '../lab/config.js';
import { Lab } from '../lab/lab.js';
import { running } from './running.js';

export interface StartOptions {
  dashboard: boolean;
  json: boolean;
  runDir?: string;
}


export async function runStart(config: LabConfig, io: CliIO, opts: StartOptions): Promise<number> {
  const lab = new Lab(config, { runDir: opts.runDir });
  try {
    await lab.listen();
  } catch (err) {
    if (err instanceof AutoscaleError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  running.add(lab);

  const useDashboard = opts.dashboard && !opts.json && io.stdout.isTTY === true;
  let dashboard: { close(): void } | null = null;
  if (useDashboard) {
    dashboard = startDashboard(lab.events, {
      scale: (delta) => lab.scale(delta),
      togglePause: () => lab.togglePause(),
      quit: () => void lab.stop('quit from the dashboard'),
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
    for (const s of signals) process.off(s, onSignal);
    dashboard?.close();
    running.delete(lab);
  }
  return 0;
}
