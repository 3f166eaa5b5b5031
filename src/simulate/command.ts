/** `autoscale simulate`: the thin I/O edge around the simulator. */
import { Option, type Command } from 'commander';
import type { CliIO, SetExitCode } from '../cli-io.js';
import { addSettingOptions, POLICY_FLAGS, typedSettings } from '../settings/flags.js';
import { PROFILE_NAMES } from '../loadgen/profile.js';
import { collect } from '../settings/policy-flags.js';

export function registerSimulateCommand(program: Command, io: CliIO, setExitCode: SetExitCode): void {
  const cmd = program
    .command('simulate')
    .summary('run a policy over a synthetic or recorded load at any scale, no process started')
    .description(
      'Run the lab\'s own policy (the same decide() as `start`) over a load shape or a trace, with a capacity model\n' +
        'instead of real workers: per simulated second throughput, every metric and the instance count. Prints a\n' +
        'comparison table (repeat --compare \'<flags>\' for more policies) and can write the timeline as NDJSON.',
    );
  addSettingOptions(cmd, POLICY_FLAGS)
    .option('--trace <file>', 'offered load: a `autoscale load --out` NDJSON file, or a CSV of t,req/s')
    .option('--trace-scale <factor>', "multiply the trace's load by this (a laptop's 40 req/s × 500 = a cloud's 20,000); the shape is kept")
    .addOption(new Option('--profile <name>', `offered load shape: ${PROFILE_NAMES.join(', ')}`))
    .option('--peak <req/s>', 'profile: peak arrival rate, requests per second')
    .option('--duration <s>', 'profile: simulated time (30, 2m, 24h) (default 600)')
    .option('--base <req/s>', 'profile low level (burst off-phase, ramp start, step start, spike baseline, sine trough)')
    .option('--burst-on <s>', 'burst: time at peak per cycle')
    .option('--burst-off <s>', 'burst: time at --base per cycle')
    .option('--ramp-time <s>', 'ramp: time from --base to the peak')
    .option('--steps <n>', 'step: number of levels')
    .option('--step-time <s>', 'step: time per level')
    .option('--spike-at <s>', 'spike: when it starts')
    .option('--spike-length <s>', 'spike: how long it lasts')
    .option('--period <s>', 'sine: period')
    .option('--capacity <req/s>', 'requests per second one instance serves at 100 % of its core (default 100)')
    .option('--boot <s>', 'time from fork to ready, seconds (90 for a VM, 2 for a container) (default 2)')
    .option('--compare <flags>', "another policy to run on the same load, e.g. --compare '--cooldown 300' or '--boot 90' (repeatable)", collect)
    .option('--start <time>', 'with a schedule: the wall-clock time the simulation starts, with its zone (2026-12-07T00:00+01:00) (default: the next midnight in the first action\'s zone)')
    .option('--price-per-hour <price>', 'price of one instance-hour, for the cost column')
    .option('--slo-p95 <ms>', 'count the seconds whose p95 exceeds this (default 200)')
    .option('-o, --out <file.ndjson>', 'write the simulated timelines (one line per second and per tick) to this file')
    .option('--json', 'print the model and the rows as one JSON object')
    // Loaded on demand, like the other commands' engines.
    .action(async (opts: Record<string, unknown>, command: Command) => {
      const { flags, file } = typedSettings(opts, command, POLICY_FLAGS);
      const { runSimulate } = await import('./run.js');
      io.stdout.write(runSimulate(flags, file, opts));
      setExitCode(0);
    });
}
