/**
 * `autoscale load` as a commander command: its flags and help only. What it runs is in run-command.ts,
 * loaded when a load runs, so `autoscale --help` and the other commands do not load the generator.
 */
import { Option, type Command } from 'commander';
import type { CliIO, SetExitCode } from '../cli-io.js';
import { LOAD_DEFAULTS, type RawLoadOptions } from './options.js';
import { PROFILE_NAMES } from './profile.js';
import { LAB_HELP } from '../runs/choose-lab.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}


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
      // The load generator (undici, HDR histograms, worker threads) is loaded only when a load runs.
      const { runLoadCommand } = await import('./run-command.js');
      setExitCode(await runLoadCommand(url, raw, io));
    });
}
