/**
 * `autoscale report` and `autoscale runs` as commander commands: flags and help only. What they run
 * (reading runs, aggregating, rendering) is loaded when the command runs, so `autoscale --help` or
 * `autoscale status` do not pay for it.
 */
import type { Command } from 'commander';
import type { CliIO, SetExitCode } from '../cli-io.js';
import { DEFAULT_PRICE } from './price.js';

export function registerReportCommands(program: Command, io: CliIO, setExitCode: SetExitCode): void {
  program
    .command('report')
    .description('Write report.html (offline charts) and report.md for a recorded run (default: the latest) into its run directory.')
    .argument('[run-dir]', 'a run directory (default: the newest under $XDG_STATE_HOME/autoscale/runs/)')
    .option('--open', 'open report.html in the default browser')
    .option('--price-per-hour <amount>', `price of one worker-hour for the cost estimate (default ${DEFAULT_PRICE.currency} ${DEFAULT_PRICE.perHour}: one AWS t3.micro on demand in us-east-1)`)
    .option('--currency <code>', 'currency of --price-per-hour (default USD)')
    .action(async (arg: string | undefined, opts: { open?: boolean; pricePerHour?: string; currency?: string }) => {
      const { runReport } = await import('./command.js');
      setExitCode(await runReport(arg, opts, io));
    });

  program
    .command('runs')
    .description('List the recorded runs, newest first: start time, duration, policy, peak instances, requests, report present.')
    .option('--json', 'one JSON array instead of the table')
    .action(async (opts: { json?: boolean }) => {
      const { runRuns } = await import('./command.js');
      setExitCode(runRuns(opts, io));
    });
}
