/** `autoscale replay <run-dir>`: the thin I/O edge around calibration, simulation and fidelity. */
import type { Command } from 'commander';
import type { CliIO, SetExitCode } from '../cli-io.js';
import { addSettingOptions, POLICY_FLAGS, typedSettings } from '../settings/flags.js';
import type { RawSettings } from '../settings/config.js';
import { collect } from '../settings/policy-flags.js';

export function registerReplayCommand(program: Command, io: CliIO, setExitCode: SetExitCode): void {
  const cmd = program
    .command('replay')
    .argument('[run-dir]', 'a recorded run directory: events.ndjson (every autoscale start records one) and, if present, load.ndjson (autoscale load --record); default: the latest run (autoscale runs lists them)')
    .summary('re-run a recorded run under other policies, with a model calibrated from the run')
    .description(
      'Re-run the load of a recorded run through the same policy step() the live lab uses, under the recorded policy\n' +
        '(to measure fidelity) and under the policy flags given and each --compare \'<flags>\'. The capacity model is\n' +
        'calibrated from the run and printed. With --against <run-dir>: replay under that run\'s recorded settings and\n' +
        'compare with what it really did (same load). No process is forked, no port opened.',
    );
  addSettingOptions(cmd, POLICY_FLAGS, false, 'recorded')
    .option('--compare <flags>', "another policy, on top of the recorded one, e.g. --compare '--policy target --metric rps --target 20' (repeatable)", collect)
    .option('--boot <s>', 'time from fork to ready, seconds (default: the median measured in the run)')
    .option('--price-per-hour <price>', 'price of one instance-hour, for the cost column')
    .option('--slo-p95 <ms>', 'count the seconds whose p95 exceeds this (default 200)')
    .option('-o, --out <file.ndjson>', 'write the replayed timelines (one line per second and per tick) to this file')
    .option('--html', "add the replayed instance timelines (every policy) to the run's report.html, and say where it is")
    .option('--against <run-dir>', "replay this run under the settings recorded in another run with the same load, and print the answer side by side with that run's real figures")
    .option('--model <name>', 'replay model: residual (the recorded observations, changed only where the instance count differs) or calibrated (regenerated from a model calibrated on the run); default: residual, or calibrated for a run recorded without observations')
    .option('--json', 'print run, model, fidelity and rows as one JSON object')
    .action(async (dir: string | undefined, opts: Record<string, unknown>, command: Command) => {
      const { flags } = typedSettings(opts, command, POLICY_FLAGS);
      const { runReplay, runAgainst } = await import('./run.js');
      io.stdout.write(opts.against === undefined ? runReplay(dir, flags as RawSettings, opts) : runAgainst(dir, flags as RawSettings, opts));
      setExitCode(0);
    });
}
