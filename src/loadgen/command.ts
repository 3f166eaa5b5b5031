import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { CliIO, SetExitCode } from '../cli-io.js';
import { UsageError } from '../errors.js';
import { formatNdjsonLine, formatProgress, formatSummary } from './format.js';
import { LOAD_DEFAULTS, parseLoadOptions, type RawLoadOptions } from './options.js';
import { PROFILE_NAMES } from './profile.js';
import { LoadRun } from './run.js';
import { exitCodeFor, failuresOf } from './summary.js';
import { LOAD_FILE, liveLabs } from '../runs/paths.js';
import { chooseRecordLab, LAB_HELP } from '../runs/choose-lab.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Opens the --out file before the run starts, so a bad path fails fast with exit 2. */
function openOut(path: string, flags: 'w' | 'a'): number {
  try {
    return openSync(path, flags);
  } catch (err) {
    const reason = err instanceof Error && 'code' in err ? String((err as NodeJS.ErrnoException).code) : String(err);
    throw new UsageError(`cannot write --out file "${path}" (${reason})`);
  }
}

const CLEAR_LINE = '\r\x1b[2K';

/** Adds `autoscale load [url]` to the program. The action writes only to `io` and reports through `setExitCode`. */
export function registerLoadCommand(program: Command, io: CliIO, setExitCode: SetExitCode): void {
  program
    .command('load')
    .summary('send HTTP load to a target and report throughput, errors and latency percentiles')
    .description(
      'Send HTTP load to a target (default: the balancer) and report throughput, errors by kind and HDR latency percentiles.\n' +
        'Closed loop by default: --threads virtual users, each sending its next request when the previous one finishes.\n' +
        'With --rate: open loop, requests scheduled at that rate over up to --threads connections; latency is measured\n' +
        'from the scheduled send time (coordinated-omission corrected) and late or unsent requests are counted.',
    )
    .argument('[url]', `target URL (default: ${LOAD_DEFAULTS.url}, or with --record the balancer of the lab it records into)`)
    .option('-t, --threads <n>', 'concurrent virtual users (open loop: maximum connections)', String(LOAD_DEFAULTS.threads))
    .option('-d, --duration <seconds>', 'how long to send (seconds; also 500ms, 30s, 2m, 1h)', String(LOAD_DEFAULTS.durationSec))
    .option('-r, --rate <req/s>', 'open loop: target arrival rate in requests per second (peak of the profile)')
    .addOption(new Option('-p, --profile <name>', `load shape: ${PROFILE_NAMES.join(', ')}`).default('constant'))
    .option('--base <n>', 'profile low level in threads or req/s (burst off-phase, ramp start, step start, spike baseline, sine trough)')
    .option('--burst-on <seconds>', `burst: time at peak per cycle (default ${LOAD_DEFAULTS.burstOnSec})`)
    .option('--burst-off <seconds>', `burst: time at --base per cycle (default ${LOAD_DEFAULTS.burstOffSec})`)
    .option('--ramp-time <seconds>', 'ramp: time to go from --base to the peak (default: --duration)')
    .option('--steps <n>', `step: number of levels up to the peak (default ${LOAD_DEFAULTS.steps})`)
    .option('--step-time <seconds>', 'step: time each level is held (default: --duration / --steps)')
    .option('--spike-at <seconds>', 'spike: when the spike starts (default: centred in the run)')
    .option('--spike-length <seconds>', 'spike: how long the spike lasts (default: min(10, duration / 5))')
    .option('--period <seconds>', 'sine: period of the wave (default: --duration)')
    .option('-m, --method <method>', 'HTTP method (default GET, or POST with --body)')
    .option('-H, --header <name:value>', 'request header, repeatable', collect)
    .option('-b, --body <text>', 'request body')
    .option('--mix <kind=percent>', 'send this share of the requests as another request on the same host: visits=20 (20 % POST /visits {"page":"load"})')
    .option('--timeout <ms>', 'per-request timeout in milliseconds', String(LOAD_DEFAULTS.timeoutMs))
    .option('-w, --workers <n>', 'spread the virtual users over N worker threads (0: run in the main thread)', String(LOAD_DEFAULTS.workers))
    .option('--json', 'print the summary as one JSON object on stdout (nothing else on stdout)')
    .option('-o, --out <file.ndjson>', 'write one JSON line per second (t, at, sent, ok, errors, rps, p50, p99, threads or targetRate); a directory: <dir>/load.ndjson, appended')
    .option('--record', "append the per-second lines to the running lab's run directory (load.ndjson), for `autoscale report`")
    .option('--lab <port|run>', `with --record: ${LAB_HELP}`)
    .action(async (url: string | undefined, raw: RawLoadOptions & { record?: boolean; lab?: string }) => {
      if (raw.lab !== undefined && raw.record !== true) throw new UsageError('--lab names the lab that --record records into; give --record too');
      // With --record and no URL, the load goes to the recorded lab's balancer (not to the default :8000).
      const recordInto = raw.record === true ? recordLab(url, raw.lab, raw.out, io.env) : null;
      const config = parseLoadOptions(url ?? recordInto?.balancerUrl ?? undefined, raw);
      const out = recordInto !== null ? { path: join(recordInto.runDir, LOAD_FILE), flags: 'a' as const } : outTarget(config.out);
      const outFd = out === null ? null : openOut(out.path, out.flags);
      if (out?.flags === 'a') io.stderr.write(`recording load in ${out.path}\n`);
      const live = io.stderr.isTTY === true;
      const mode = config.rate === null ? 'closed' : 'open';

      const run = new LoadRun(config, {
        onSecond: (sample, totals) => {
          if (outFd !== null) writeSync(outFd, formatNdjsonLine(sample, mode, Date.now()));
          if (live) io.stderr.write(CLEAR_LINE + formatProgress(sample, config.durationSec, failuresOf(totals.all), mode));
        },
      });
      const onSignal = (): void => run.interrupt();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const summary = await run.run();
        if (live) io.stderr.write(CLEAR_LINE);
        io.stdout.write(config.json ? JSON.stringify(summary) + '\n' : formatSummary(summary));
        setExitCode(exitCodeFor(summary));
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        if (outFd !== null) closeSync(outFd);
      }
    });
}

/**
 * The lab `--record` writes into: the one --lab names, else the one the URL
 * aims at (its balancer port), else the only running lab; two or more labs
 * and nothing to tell them apart is refused with the list (exit 2).
 */
function recordLab(url: string | undefined, lab: string | undefined, out: string | undefined, env: NodeJS.ProcessEnv | undefined): { runDir: string; balancerUrl: string | null } {
  if (out !== undefined) throw new UsageError('--record writes into the running lab\'s run directory; use it without --out (or give --out that directory)');
  let target: URL | null = null;
  if (url !== undefined) {
    try {
      target = new URL(url);
    } catch {
      target = null; // parseLoadOptions says what is wrong with it
    }
  }
  const choice = chooseRecordLab(liveLabs(env), lab, target);
  if (!choice.ok) {
    if (choice.error.code === 'AS_ERR_NO_LAB') throw new UsageError('--record: no running lab found; start one with `autoscale start`');
    throw new UsageError(`--record: ${choice.error.message}`);
  }
  if (!choice.lab.record) throw new UsageError(`--record: the running lab${lab === undefined ? '' : ` ${lab}`} does not record (it was started with --no-record)`);
  return choice.lab;
}

/** Where the per-second lines go: --out as given (truncated), or a directory given to --out (its load.ndjson, appended, e.g. a run dir). */
function outTarget(out: string | null): { path: string; flags: 'w' | 'a' } | null {
  if (out === null) return null;
  let isDir = false;
  try {
    isDir = statSync(out).isDirectory();
  } catch {
    // not there yet: a file path
  }
  return isDir ? { path: join(out, LOAD_FILE), flags: 'a' } : { path: out, flags: 'w' };
}
