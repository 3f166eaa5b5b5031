/**
 * The CLI's quick paths: `autoscale` / `--help` and the control commands
 * `status`, `scale <n>`, `pause`, `resume`, `stop` in their plain forms,
 * answered without loading commander or any other command's modules (a
 * second terminal's `autoscale status` should start about as fast as `node`).
 * Anything else — another command, an unknown or repeated option, a value
 * that needs an error message — is left to the full program in cli.ts
 * (`route` returns null), so every usage error still comes from one place.
 */
import { readFileSync } from 'node:fs';
import type { CliIO } from './cli-io.js';
import { parseInteger } from './parse-int.js';
import type { ControlRequest } from './control/protocol.js';

/** The top-level help, written at build time from the full program (src/write-help.ts), so it cannot drift. */
export const HELP_FILE = new URL('./help.txt', import.meta.url);

export interface ControlTarget {
  lab?: string;
  runDir?: string;
  json?: boolean;
}

export type QuickRoute =
  | { kind: 'help'; toStderr: boolean }
  | { kind: 'control'; request: ControlRequest; target: ControlTarget };

/** The control commands handled here and whether they take `--json` / one `<n>`. */
const CONTROL: Record<string, { json: boolean; n: boolean }> = {
  status: { json: true, n: false },
  scale: { json: false, n: true },
  pause: { json: false, n: false },
  resume: { json: false, n: false },
  stop: { json: false, n: false },
};

/** Where the full program would take the scale count from (cli.ts `scale <n>`: 0 to 64). */
export const SCALE_RANGE = { min: 0, max: 64 } as const;

/** What a plain argv asks for, or null: the full program parses it. Pure. */
export function route(argv: readonly string[]): QuickRoute | null {
  if (argv.length === 0) return { kind: 'help', toStderr: true };
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) return { kind: 'help', toStderr: false };
  const [cmd, ...rest] = argv;
  const spec = Object.hasOwn(CONTROL, cmd) ? CONTROL[cmd] : undefined;
  if (spec === undefined) return null;
  const target: ControlTarget = {};
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (spec.json && arg === '--json' && target.json === undefined) {
      target.json = true;
      continue;
    }
    const m = /^--(lab|run-dir)(?:=(.*))?$/.exec(arg);
    if (m !== null) {
      const key = m[1] === 'lab' ? 'lab' : 'runDir';
      const value = m[2] ?? rest[++i];
      // Repeated, missing or dash-led values: the full program says what it makes of them.
      if (target[key] !== undefined || value === undefined || value === '' || value.startsWith('-')) return null;
      target[key] = value;
      continue;
    }
    if (arg.startsWith('-')) return null;
    positional.push(arg);
  }
  if (!spec.n) return positional.length === 0 ? { kind: 'control', request: { cmd } as ControlRequest, target } : null;
  if (positional.length !== 1) return null;
  const n = parseInteger(positional[0], SCALE_RANGE.min, SCALE_RANGE.max);
  return n.ok ? { kind: 'control', request: { cmd: 'scale', n: n.value }, target } : null;
}

/** Run a quick path; resolves with the exit code, or null when argv is not one (or the help file is not built). */
export async function runQuick(argv: readonly string[], io: CliIO): Promise<number | null> {
  const r = route(argv);
  if (r === null) return null;
  if (r.kind === 'help') {
    let text: string;
    try {
      text = readFileSync(HELP_FILE, 'utf8');
    } catch {
      return null;
    }
    (r.toStderr ? io.stderr : io.stdout).write(text);
    return r.toStderr ? 2 : 0;
  }
  const [{ runControl }, { liveLabs }] = await Promise.all([import('./commands/control.js'), import('./runs/paths.js')]);
  return runControl(r.request, r.target, io, (env) => liveLabs(env));
}
