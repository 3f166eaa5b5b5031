/**
 * `autoscale experiment`: --list the catalogue, `show <name>` one built-in's
 * YAML, or run a built-in / a .yaml file (commands/experiment-run.ts, loaded
 * on demand).
 */
import type { Command } from 'commander';
import type { CliIO, SetExitCode } from '../cli-io.js';
import { UsageError } from '../errors.js';
import { DEFAULTS } from '../settings/config.js';
import { parseInteger } from '../parse-int.js';
import { BUILT_INS, builtInText } from '../experiment/catalogue.js';
import { DEFAULT_WEB_PORT } from '../web/options.js';

interface Opts {
  list?: boolean;
  quick?: boolean;
  json?: boolean;
  port?: string;
  basePort?: string;
  metricsPort?: string;
  webPort?: string;
}

function port(flag: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const r = parseInteger(raw, min, 65_535);
  if (!r.ok) throw new UsageError(`${flag} must be a whole number from ${min} to 65535 (received ${JSON.stringify(raw)})`);
  return r.value;
}

export function registerExperimentCommand(program: Command, io: CliIO, setExitCode: SetExitCode): void {
  program
    .command('experiment')
    .description('Run a lesson: every arm (a lab configuration) live under the same load and timed events, claims checked, one comparison report (experiment.html).')
    .argument('[name-or-file]', `a built-in (${BUILT_INS.join(', ')}) or your .yaml file; "show <name>" prints a built-in's YAML`)
    .argument('[name]', 'with show: the built-in to print')
    .option('--list', 'list the built-in experiments')
    .option('--quick', 'a rehearsal of at most 90 s: every time in the file (load, events, interval, cooldown, windows, boot delay) scaled down by one factor')
    .option('--json', 'NDJSON progress on stdout instead of the display')
    .option('--port <port>', `balancer port of every arm (default ${DEFAULTS.port})`)
    .option('--base-port <port>', `first worker port of every arm (default ${DEFAULTS.basePort})`)
    .option('--metrics-port <port>', `metrics port of every arm, 0 disables (default ${DEFAULTS.metricsPort})`)
    .option('--web-port <port>', `live page port of every arm, 0 turns the page off (default ${DEFAULT_WEB_PORT}; if that one is taken the arms run without the page); the page shows the experiment's arm, phase and next event`)
    .action(async (target: string | undefined, name: string | undefined, opts: Opts) => {
      const run = await import('./experiment-run.js');
      if (opts.list) {
        io.stdout.write(run.formatCatalogue());
        return setExitCode(0);
      }
      if (target === 'show') {
        if (name === undefined) throw new UsageError(`experiment show needs a built-in's name (${BUILT_INS.join(', ')})`);
        io.stdout.write(builtInText(name));
        return setExitCode(0);
      }
      if (target === undefined) throw new UsageError('experiment needs a built-in name or a .yaml file (see autoscale experiment --list)');
      if (name !== undefined) throw new UsageError(`experiment takes one name or file (received also ${JSON.stringify(name)})`);
      const ports = {
        port: port('--port', opts.port, DEFAULTS.port, 0),
        basePort: port('--base-port', opts.basePort, DEFAULTS.basePort, 1024),
        metricsPort: port('--metrics-port', opts.metricsPort, DEFAULTS.metricsPort, 0),
        // Not given: not passed on, so each arm's lab uses its default (a taken default port costs only the page).
        webPort: opts.webPort === undefined ? null : port('--web-port', opts.webPort, DEFAULT_WEB_PORT, 0),
      };
      const loaded = run.loadExperiment(target, opts.quick === true);
      // A --web-port clashing with an arm's ports would fail every arm: one line before anything starts.
      run.checkWebPort(loaded.exp, ports);
      setExitCode(await run.runLive(loaded, ports, opts, io));
    });
}

