/**
 * `npm run experiments`: every built-in experiment through the real CLI, one
 * after the other, then one table (experiment, arms, claims met, minutes,
 * status). `-- --quick` runs the rehearsals; `-- --only flapping,slow-boot`
 * some; `-- --port N --base-port N --metrics-port N --web-port N` is passed to each.
 * The counterfactual column: for each pair of arms that differ only in policy,
 * replay of one arm under the other's settings against the real other arm —
 * the error in peak instances and in worker-seconds.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BUILT_INS } from '../src/experiment/catalogue.js';

const BIN = fileURLToPath(new URL('../bin/autoscale.js', import.meta.url));
const { values } = parseArgs({
  options: { quick: { type: 'boolean' }, only: { type: 'string' }, port: { type: 'string' }, 'base-port': { type: 'string' }, 'metrics-port': { type: 'string' }, 'web-port': { type: 'string' } },
  allowPositionals: false,
});
const pass: string[] = [];
for (const k of ['port', 'base-port', 'metrics-port', 'web-port'] as const) if (values[k] !== undefined) pass.push(`--${k}`, values[k]!);
const names = values.only === undefined ? [...BUILT_INS] : values.only.split(',').map((s) => s.trim());

interface Row { name: string; arms: string; claims: string; counterfactual: string; minutes: string; status: string; load: string }
const rows: Row[] = [];
for (const name of names) {
  const started = Date.now();
  const la = loadavg()[0].toFixed(1);
  process.stderr.write(`${name}${values.quick ? ' --quick' : ''} (load average ${la})…\n`);
  const child = spawn(process.execPath, [BIN, 'experiment', name, '--json', ...(values.quick ? ['--quick'] : []), ...pass], { stdio: ['ignore', 'pipe', 'inherit'] });
  type Pair = { recording: string; settingsOf: string; rows: Array<{ figure: string; error: string }>; note?: string };
  type Done = { status: string; claimsMet: number; claims: number; dir: string; counterfactual?: Pair[] };
  let done: Done | null = null;
  let arms = 0;
  let finished = 0;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const e = JSON.parse(line) as { type: string; arms?: number; status?: string; claimsMet?: number; claims?: number; dir?: string };
    if (e.type === 'experiment') arms = e.arms ?? 0;
    if (e.type === 'arm-end' && e.status === 'finished') finished++;
    if (e.type === 'done') done = e as typeof done;
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const d = done as Done | null;
  const errorOf = (p: Pair, figure: string) => p.rows.find((r) => r.figure === figure)?.error ?? '?';
  const pairs = (d?.counterfactual ?? []).map((p) => (p.rows.length === 0 ? `${p.recording}→${p.settingsOf}: none` : `${p.recording}→${p.settingsOf}: peak ${errorOf(p, 'peak instances')}, worker-s ${errorOf(p, 'worker-seconds')}`));
  rows.push({
    name,
    arms: `${finished}/${arms}`,
    claims: d === null ? '–' : `${d.claimsMet}/${d.claims}`,
    counterfactual: pairs.length === 0 ? '–' : pairs.join('; '),
    minutes: ((Date.now() - started) / 60_000).toFixed(1),
    status: d === null ? `exit ${code}` : d.status,
    load: la,
  });
  if (d !== null) process.stderr.write(`  ${d.dir}/experiment.html\n`);
}
const header: Row = { name: 'experiment', arms: 'arms', claims: 'claims met', counterfactual: 'counterfactual error', minutes: 'minutes', status: 'status', load: 'load avg before' };
const keys = Object.keys(header) as (keyof Row)[];
const widths = keys.map((k) => Math.max(header[k].length, ...rows.map((r) => r[k].length)));
for (const r of [header, ...rows]) process.stdout.write(`${keys.map((k, i) => r[k].padEnd(widths[i])).join('  ').trimEnd()}\n`);
if (rows.some((r) => r.status !== 'finished')) process.exitCode = 1;
