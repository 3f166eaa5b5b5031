/**
 * The commander program, built by a factory so tests can drive it with an
 * argv array. Only bin/autoscale.js turns the returned code into an exit.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import type { CliIO, SetExitCode } from './cli-io.js';
import { AutoscaleError, UsageError } from './errors.js';
import { parseInteger } from './parse-int.js';
import { ALARM_KEYS, DATABASE_URL_KEY, DEFAULTS, resolveConfig, type LabConfig } from './settings/config.js';
import { parseNotifyOptions } from './settings/alarms.js';
import { DEFAULT_WEB_HOST, DEFAULT_WEB_PORT, webPortConflict } from './web/options.js';
import type { WebPageOptions } from './commands/start.js';
import { addSettingOptions, typedSettings } from './settings/flags.js';
import { registerWhatIfCommands } from './commands/whatif.js';
import { chooseDatabaseUrl, StoreLocationError, type StoreLocation } from './store/location.js';
// load command registered here
import { registerLoadCommand } from './loadgen/command.js';
import { registerReportCommands } from './report/register.js';
import { registerExperimentCommand } from './commands/experiment.js';
import type { ControlRequest } from './control/protocol.js';
import { LAB_HELP } from './runs/choose-lab.js';
import { SCALE_RANGE, type ControlTarget } from './cli-fast.js';

/** status, scale, pause, resume, refresh, stop: talk to a running lab over its control socket. */
export function registerControlCommands(program: Command, send: (request: ControlRequest, target: ControlTarget) => Promise<void>): void {
  type Target = ControlTarget;
  // Every control command takes the same two ways of naming its lab.
  const target = (cmd: Command) =>
    cmd
      .option('--lab <port|run>', LAB_HELP)
      .option('--run-dir <dir>', 'the lab whose run directory this is');
  target(program.command('status').description('Show the running lab: policy and settings, paused or not, every worker, desired vs running, the last decision.').option('--json', 'one JSON object instead of text')).action(
    (opts: Target) => send({ cmd: 'status' }, opts),
  );
  target(program.command('scale').description('Set the worker count now (within --min/--max) and pause automatic scaling until `autoscale resume`.').argument('<n>', 'number of workers')).action(
    (n: string, opts: Target) => send({ cmd: 'scale', n: parseIntFlag('<n>', n, SCALE_RANGE.min, SCALE_RANGE.max) }, opts),
  );
  target(program.command('pause').description('Pause automatic scaling (manual scale still works).')).action((opts: Target) => send({ cmd: 'pause' }, opts));
  target(program.command('resume').description('Resume automatic scaling.')).action((opts: Target) => send({ cmd: 'resume' }, opts));
  target(
    program
      .command('refresh')
      .description('Replace every worker, one batch at a time: new ones ready and healthy first, then the old ones drain and stop.')
      .option('--min-healthy <percent>', 'replace at most (100 - this) % of the workers at a time, at least one (default 90, like AWS)', '90'),
  ).action((opts: Target & { minHealthy: string }) => send({ cmd: 'refresh', minHealthy: parseIntFlag('--min-healthy', opts.minHealthy, 0, 100) }, opts));
  target(program.command('stop').description('Stop the running lab cleanly (drain and stop every worker), like q on its dashboard.')).action((opts: Target) => send({ cmd: 'stop' }, opts));
}

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** --database-url / the --config file's "database-url" / DATABASE_URL, checked here; null means the default SQLite file. */
function databaseFlag(flag: unknown, io: CliIO, config?: { url: string; file: string }): StoreLocation | null {
  try {
    return chooseDatabaseUrl(typeof flag === 'string' ? flag : undefined, io.env ?? process.env, process.cwd(), config);
  } catch (err) {
    if (err instanceof StoreLocationError) throw new UsageError(err.message);
    throw err;
  }
}

function parseIntFlag(name: string, raw: string, min: number, max: number): number {
  const r = parseInteger(raw, min, max);
  if (!r.ok) throw new UsageError(`${name} must be a whole number from ${min} to ${max} (received ${JSON.stringify(raw)})`);
  return r.value;
}

/**
 * --web-port / --web-host / --open. A port the user chose that clashes with
 * the lab's own is a usage error; the default clashing (e.g. --base-port 9460)
 * only turns the page off, with a warning.
 */
function webFlags(opts: Record<string, unknown>, config: LabConfig, io: CliIO): WebPageOptions | null {
  const chosen = opts.webPort !== undefined;
  const port = chosen ? parseIntFlag('--web-port', String(opts.webPort), 0, 65_535) : DEFAULT_WEB_PORT;
  const host = opts.webHost === undefined ? DEFAULT_WEB_HOST : String(opts.webHost).trim();
  if (host === '') throw new UsageError('--web-host needs an address (received "")');
  if (port === 0) {
    if (opts.open === true) throw new UsageError('--open opens the live page, which --web-port 0 turns off');
    return null;
  }
  const conflict = webPortConflict(port, config);
  if (conflict !== null) {
    if (chosen) throw new UsageError(conflict);
    io.stderr.write(`warning: the live page's default port ${port} clashes with the lab's ports, so the page is off (${conflict.replace('--web-port', 'its port')}; choose one with --web-port)\n`);
    return null;
  }
  return { host, port, chosen, open: opts.open === true };
}

export function createProgram(io: CliIO, setExitCode: SetExitCode): Command {
  const program = new Command('autoscale');
  program
    .description('A local autoscaling lab: a supervisor, real worker processes, a round-robin balancer and CPU-threshold scaling.')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride()
    // The top-level help has one width, whatever the terminal: cli-fast.ts prints the copy src/write-help.ts makes of it.
    .configureHelp({ helpWidth: 80 });

  const d = DEFAULTS;
  const start = program
    .command('start')
    .description('Start the lab: balancer, workers and the scaler (dashboard on a terminal, plain lines otherwise).');
  addSettingOptions(start)
    .option('--run-dir <dir>', 'record this run (events.ndjson, worker logs, the SQLite visits file) in this directory (default: a new one under $XDG_STATE_HOME/autoscale/runs/)')
    .option('--no-record', 'do not record the run; worker logs go to a temp dir (or --run-dir)')
    .option('--keep-runs <n>', 'recorded runs kept under the state dir, this one included; older ones are deleted (default 20)')
    .option('--database-url <url>', 'where the workers keep visits: postgres://user:password@host:5432/db or sqlite:<file> (default: $DATABASE_URL, else visits.db in the run dir)')
    .option('--json', 'print one JSON object per line (NDJSON) instead of the dashboard')
    .option('--no-dashboard', 'print plain log lines even on a terminal')
    .option('--web-port <port>', `port of the live page on --web-host, 0 turns it off (default ${DEFAULT_WEB_PORT}; if that one is taken the lab starts without the page)`)
    .option('--web-host <address>', `address the live page binds (default ${DEFAULT_WEB_HOST}; anything else makes it reachable from other machines)`)
    .option('--open', 'open the live page in the default browser')
    .option('--allow-stress', 'let POST /stress through even when --host is not loopback (refused with 403 then by default)')
    .option('--alarms <set>', 'default: add the five default alarms (5xx, error rate, p95, unhealthy workers, at max; docs/alarms.md); none: no alarm, not even the config file\'s')
    .option('--alarm <rule>', "an alarm, CloudWatch style: 'metric>threshold[,period=60][,n=3][,m=2][,missing=notBreaching][,statistic=sum][,name=x]' (repeatable)", (v: string, prev: string[] = []) => [...prev, v])
    .option('--on-alarm <command>', 'run this shell command on every alarm state change: AUTOSCALE_ALARM_* in its environment, CloudWatch-style JSON on stdin; killed after 10 s')
    .option('--alarm-webhook <url>', 'POST every alarm state change as JSON to this URL (loopback hosts only, unless --allow-remote-webhook)')
    .option('--allow-remote-webhook', 'let --alarm-webhook name a host that is not loopback')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const { flags, file } = typedSettings(opts, cmd);
      if (opts.alarms !== undefined) flags[ALARM_KEYS.set] = opts.alarms;
      if (opts.alarm !== undefined) flags[ALARM_KEYS.flag] = opts.alarm;
      const config = resolveConfig(flags, file);
      const notify = parseNotifyOptions(opts, config.alarms.length);
      const web = webFlags(opts, config, io);
      const fileUrl = file[DATABASE_URL_KEY];
      const database = databaseFlag(opts.databaseUrl, io, typeof fileUrl === 'string' ? { url: fileUrl, file: String(opts.config) } : undefined);
      // Loaded on demand: the balancer, the dashboard and express cost ~0.15 s of CPU that `load` should not pay.
      const keepRuns = opts.keepRuns === undefined ? 20 : parseIntFlag('--keep-runs', String(opts.keepRuns), 1, 100_000);
      const { runStart } = await import('./commands/start.js');
      setExitCode(
        await runStart(config, io, { dashboard: opts.dashboard !== false, json: opts.json === true, runDir: opts.runDir as string | undefined, record: opts.record !== false, keepRuns, database, web, allowStress: opts.allowStress === true, notify }),
      );
    });

  program
    .command('worker')
    .description('Run one worker app on its own (what the supervisor forks).')
    .requiredOption('--port <port>', 'port to listen on')
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .option('--work <ms>', 'busy-loop CPU ms per request, 0 for none', String(d.work))
    .addOption(new Option('--id <n>', 'worker id shown in responses').default('0'))
    .option('--database-url <url>', 'where visits go: postgres://user:password@host:5432/db or sqlite:<file> (default: $DATABASE_URL, else $XDG_STATE_HOME/autoscale/visits.db)')
    .action(async (opts: { port: string; host: string; work: string; id: string; databaseUrl?: string }) => {
      const port = parseIntFlag('--port', opts.port, 0, 65_535);
      const work = parseIntFlag('--work', opts.work, 0, 1000);
      const id = parseIntFlag('--id', opts.id, 0, 1_000_000);
      const database = databaseFlag(opts.databaseUrl, io);
      const { runWorker } = await import('./commands/worker.js');
      setExitCode(await runWorker({ port, host: opts.host, work, id, database }, io));
    });

  registerLoadCommand(program, io, setExitCode);
  registerWhatIfCommands(program, io, setExitCode);
  registerReportCommands(program, io, setExitCode);
  registerControlCommands(program, async (request, target) => {
    const [{ runControl }, { liveLabs }] = await Promise.all([import('./commands/control.js'), import('./runs/paths.js')]);
    setExitCode(await runControl(request, target, io, (env) => liveLabs(env)));
  });
  registerExperimentCommand(program, io, setExitCode);
  return program;
}

/** The top-level help exactly as `autoscale --help` prints it (src/write-help.ts stores it for cli-fast.ts). */
export function topLevelHelp(): string {
  const sink = { write: () => true } as unknown as CliIO['stdout'];
  return createProgram({ stdout: sink, stderr: sink }, () => {}).helpInformation();
}

/** Run the CLI; resolves with the exit code (0 ok, 1 runtime failure, 2 usage error). */
export async function main(argv: string[], io: CliIO): Promise<number> {
  let code = 0;
  const program = createProgram(io, (c) => {
    code = c;
  });
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof AutoscaleError) {
      io.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
  return code;
}

export { emergencyStop } from './commands/running.js';
