/**
 * `npm run chaos`: every fault and abuse scenario of issue 14 (and the operating
 * ones of issue 19: two labs, a control-socket flood; and its abuse rows A5–A7:
 * pipelining in L7 and L4, a hostile recording through report) against a real
 * lab on loopback, then one table (scenario, requests, failed, expected, time
 * to recover, verdict). `-- --only 1,3` runs some; `-- --short` uses the
 * test durations; `-- --soak 600` runs the leak soak instead. Exit 1 if any
 * scenario failed.
 */
import { parseArgs } from 'node:util';
import { ABUSE } from './abuse.js';
import { FAULTS, type ChaosContext } from './faults.js';
import { OPERATING } from './operating.js';
import { formatTable, type ScenarioResult } from './report.js';
import { soak } from './soak.js';

const { values } = parseArgs({
  options: { only: { type: 'string' }, short: { type: 'boolean' }, soak: { type: 'string' } },
  allowPositionals: false,
});

const ctx: ChaosContext = { short: values.short === true, log: (line) => process.stderr.write(`${line}\n`) };
const results: ScenarioResult[] = [];
if (values.soak !== undefined) {
  const secondsArg = Number(values.soak);
  if (!Number.isFinite(secondsArg) || secondsArg < 30) {
    process.stderr.write(`error: --soak needs a duration of at least 30 seconds (received ${JSON.stringify(values.soak)})\n`);
    process.exit(2);
  }
  results.push(await soak(ctx, secondsArg));
} else {
  // Keys: faults 1…, abuse A1…, operating O1… (`--only 3,A2,O1`).
  const all = [...FAULTS.map((s, i) => [String(i + 1), s] as const), ...ABUSE.map((s, i) => [`A${i + 1}`, s] as const), ...OPERATING.map((s, i) => [`O${i + 1}`, s] as const)];
  const only = values.only === undefined ? null : new Set(values.only.split(',').map((s) => s.trim()));
  for (const [key, scenario] of all) {
    if (only !== null && !only.has(key)) continue;
    const t0 = Date.now();
    ctx.log(`running ${key} ${scenario.name}…`);
    const result = await scenario(ctx);
    ctx.log(`  ${result.verdict} in ${((Date.now() - t0) / 1000).toFixed(0)} s${result.notes.length > 0 ? `: ${result.notes.join('; ')}` : ''}`);
    results.push(result);
  }
}
process.stdout.write(formatTable(results));
process.exit(results.some((r) => r.verdict === 'FAIL') ? 1 : 0);
