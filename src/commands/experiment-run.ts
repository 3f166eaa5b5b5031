/**
 * `autoscale experiment`, the running part (loaded on demand by
 * commands/experiment.ts so that other commands do not pay for zod, yaml and
 * the report): load a built-in or a file, list the catalogue, run it live
 * with progress on a terminal, plain lines otherwise, NDJSON with --json.
 * Ctrl+C / SIGTERM stop cleanly at any moment.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliIO } from '../cli-io.js';
import { ExperimentFileError, UsageError } from '../errors.js';
import { BUILT_INS, builtInText, CATALOGUE_DIR, isBuiltIn } from '../experiment/catalogue.js';
import { armConfig, parseExperiment, type Experiment } from '../experiment/schema.js';
import { resolveConfig } from '../settings/config.js';
import { attachForecast } from '../simulate/history.js';
import type { ArmPorts } from '../experiment/run-arm.js';
import { webPortConflict } from '../web/options.js';
import { progressLine } from '../experiment/progress.js';
import { armOverheadSec, runExperiment, type ExperimentProgress } from '../experiment/run.js';
import { running } from './running.js';

const BIN = fileURLToPath(new URL('../../bin/autoscale.js', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };

export interface ExperimentFlags {
  quick?: boolean;
  json?: boolean;
}

/** A built-in by name, or a file: its text, its name and where it came from. */
export function loadExperiment(target: string, quick: boolean): { exp: Experiment; text: string; name: string; source: string } {
  if (isBuiltIn(target)) {
    const text = builtInText(target);
    return { exp: parseExperiment(text, target, { quick, baseDir: CATALOGUE_DIR }), text, name: target, source: target };
  }
  if (!/\.ya?ml$/i.test(target)) builtInText(target); // throws: names the built-ins
  let text: string;
  try {
    text = readFileSync(target, 'utf8');
  } catch (err) {
    throw new ExperimentFileError(`cannot read ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const name = target.replace(/^.*\//, '').replace(/\.ya?ml$/i, '');
  const exp = parseExperiment(text, target, { quick, baseDir: dirname(resolve(target)) });
  // A predictive arm's history is learned now, so a wrong path is one line before any arm starts.
  for (const arm of exp.arms) attachForecast(resolveConfig({}, arm.settings, { ports: false }));
  return { exp, text, name, source: target };
}

/** The --list table: name, arms, minutes (full and --quick), what it teaches (first sentence). */
export function formatCatalogue(): string {
  const rows = BUILT_INS.map((name) => {
    const full = parseExperiment(builtInText(name), name);
    const quick = parseExperiment(builtInText(name), name, { quick: true });
    const minutes = (e: Experiment, overhead: number) => ((e.loadSec + overhead) * e.arms.length) / 60;
    const first = /^[^.]*\./.exec(full.teaches)?.[0] ?? full.teaches;
    return [name, String(full.arms.length), `${minutes(full, armOverheadSec(false)).toFixed(1)}`, `${minutes(quick, armOverheadSec(true)).toFixed(1)}`, first];
  });
  const header = ['experiment', 'arms', 'minutes', '--quick', 'teaches'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n\nrun one: autoscale experiment <name> [--quick]; start your own: autoscale experiment show <name> > my-lesson.yaml\n`;
}

/** A chosen --web-port that clashes with an arm's own ports (its workers' range depends on the arm's max): a usage error. */
export function checkWebPort(exp: Experiment, ports: ArmPorts): void {
  if (ports.webPort === null || ports.webPort === 0) return;
  for (const arm of exp.arms) {
    const conflict = webPortConflict(ports.webPort, armConfig(arm, { port: ports.port, basePort: ports.basePort, metricsPort: ports.metricsPort }));
    if (conflict !== null) throw new UsageError(`${conflict} (arm ${arm.name})`);
  }
}

export async function runLive(loaded: ReturnType<typeof loadExperiment>, ports: ArmPorts, opts: ExperimentFlags, io: CliIO): Promise<number> {
  const controller = new AbortController();
  const children = new Set<ChildProcess>();
  const killAllSync = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  const killable = { killAllSync };
  running.add(killable);
  process.on('exit', killAllSync);
  const onSignal = (s: NodeJS.Signals) => {
    if (!controller.signal.aborted) io.stderr.write(`\n${s}: stopping cleanly (a running arm's run is kept, marked interrupted; the comparison is written for what finished)…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const tty = io.stderr.isTTY === true && !opts.json;
  let lastPlain = 0;
  let statusShown = false;
  let pageShown = false;
  const clear = () => {
    if (statusShown) io.stderr.write('\r\x1b[K');
    statusShown = false;
  };
  const say = (line: string) => {
    clear();
    io.stderr.write(`${line}\n`);
  };
  const { exp } = loaded;
  const view = (e: ExperimentProgress) => {
    if (opts.json) {
      const { comparison: _c, ...rest } = e as ExperimentProgress & { comparison?: unknown };
      io.stdout.write(`${JSON.stringify(e.type === 'done' ? { ...rest, claimsTable: e.comparison.claims.map((c) => ({ claim: `${c.claim.name} ${c.claim.text}`, arm: c.arm, measured: c.measured, met: c.met })), counterfactual: e.comparison.counterfactual } : rest)}\n`);
      return;
    }
    switch (e.type) {
      case 'experiment':
        say(`${exp.title}: ${e.arms} arm${e.arms === 1 ? '' : 's'}, ${Math.round(e.loadSec)} s of load each${e.timeFactor !== 1 ? ` (--quick: every time × ${e.timeFactor.toFixed(2)})` : ''}\n\n${e.teaches}\n\nrecording in ${e.dir}`);
        break;
      case 'pause':
        say(`arm ${e.arm}: ${e.message}`);
        break;
      case 'arm-start':
        pageShown = false;
        say(`arm ${e.arm} of ${exp.arms.length}: ${e.name} (load average ${e.loadAverage.map((v) => v.toFixed(2)).join(' ')}) → ${e.runDir}`);
        break;
      case 'live': {
        // Each arm's lab has its own page (and token): its URL once per arm, where the lesson can follow it.
        if (!pageShown && e.live.page !== null) {
          pageShown = true;
          say(`arm ${e.arm}: live page ${e.live.page}`);
        }
        const line = progressLine({ arm: e.arm, arms: exp.arms.length, armName: e.name, loadSec: exp.loadSec, overheadSec: armOverheadSec(opts.quick === true), live: e.live });
        if (tty) {
          const width = (io.stdout.columns ?? 120) - 1;
          io.stderr.write(`\r\x1b[K${line.slice(0, width)}`);
          statusShown = true;
        } else if (Date.now() - lastPlain >= 5000) {
          lastPlain = Date.now();
          io.stderr.write(`${line}\n`);
        }
        break;
      }
      case 'arm-end':
        say(`arm ${e.arm} ${e.name}: ${e.status}${e.error ? ` (${e.error})` : ''}`);
        break;
      case 'done': {
        const lines = e.comparison.claims.map((c) => `  ${c.met ? '✔' : '✘'} ${c.arm}: ${c.claim.name} ${c.claim.text} (measured ${c.measured === null ? '–' : Math.round(c.measured * 10) / 10})`);
        say(`\nclaims: ${e.claimsMet} of ${e.claims} met\n${lines.join('\n')}\n\n${e.html}\n${e.md}`);
        io.stdout.write(`${e.html}\n`);
        break;
      }
    }
  };
  try {
    const result = await runExperiment({
      exp,
      text: loaded.text,
      name: loaded.name,
      source: loaded.source,
      quick: opts.quick === true,
      ports,
      env: io.env ?? process.env,
      bin: BIN,
      tool: { name: pkg.name, version: pkg.version },
      signal: controller.signal,
      track: (c) => {
        children.add(c);
        c.once('exit', () => children.delete(c));
      },
      on: view,
    });
    // Interrupted on request is a clean stop, like `start` on Ctrl+C; an arm whose lab failed is a runtime failure.
    return result.record.status === 'failed' ? 1 : 0;
  } finally {
    clear();
    killAllSync();
    process.off('exit', killAllSync);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    running.delete(killable);
  }
}
