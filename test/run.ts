/**
 * `npm test`'s runner: node's own test runner, in two phases, so the suite
 * fits its budget on a 2-core machine without two CPU-heavy files fighting.
 *
 * 1. Every file not named in SERIAL, two at a time: pure tests and labs that
 *    mostly wait for their ticks.
 * 2. The files in SERIAL, one at a time: they burn CPU on purpose (floods,
 *    soak, experiments with a CPU hog, Chromium) or run for a minute or more,
 *    and a neighbour would change what they measure.
 *
 * Files come from the shell's glob (node 20 does not expand quoted globs).
 * TAP goes to stdout as with `node --test`; the last lines are one summary
 * of both phases, and the exit code is 1 when anything failed or no test ran.
 */
import { run } from 'node:test';
import { tap } from 'node:test/reporters';
import { basename, dirname, join } from 'node:path';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SERIAL = new Set([
  'experiment-e2e.test.ts',
  'web-experiment.test.ts',
  'chaos-soak.test.ts',
  'chaos-abuse.test.ts',
  'chaos-faults.test.ts',
  'visits-lab-outage.test.ts',
  'web-browser.test.ts',
  'report-browser.test.ts',
  'report-hostile.test.ts',
  'dashboard-e2e.test.ts',
]);

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node --import tsx test/run.ts <test files…>\n');
  process.exit(2);
}
const missing = files.filter((f) => !existsSync(f));
const here = dirname(fileURLToPath(import.meta.url));
const known = new Set(['unit', 'e2e'].flatMap((d) => readdirSync(join(here, d))));
const stale = [...SERIAL].filter((f) => !known.has(f));
if (missing.length > 0 || stale.length > 0) {
  process.stderr.write(`test/run.ts: ${missing.length > 0 ? `no such file: ${missing.join(', ')}` : `SERIAL names files that do not exist: ${stale.join(', ')}`}\n`);
  process.exit(2);
}

interface Counts {
  tests: number;
  pass: number;
  fail: number;
  cancelled: number;
  skipped: number;
  todo: number;
}
const total: Counts = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };

async function phase(name: string, list: string[], concurrency: number): Promise<{ seconds: number; counts: Counts }> {
  const counts: Counts = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
  const started = performance.now();
  if (list.length === 0) return { seconds: 0, counts };
  process.stdout.write(`# phase ${name}: ${list.length} files, ${concurrency} at a time\n`);
  const stream = run({ files: list, concurrency });
  // The runner's own closing diagnostics ("tests 12", "pass 12", …) are the counts of this phase.
  stream.on('test:diagnostic', (d: { nesting: number; message: string }) => {
    const m = /^(tests|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(d.message);
    if (d.nesting === 0 && m) counts[m[1] as keyof Counts] = Number(m[2]);
  });
  await new Promise<void>((resolve, reject) => {
    const out = stream.compose(tap);
    out.on('data', (chunk: string | Buffer) => process.stdout.write(chunk));
    out.once('end', resolve);
    out.once('error', reject);
  });
  for (const k of Object.keys(total) as Array<keyof Counts>) total[k] += counts[k];
  return { seconds: (performance.now() - started) / 1000, counts };
}

const serial = files.filter((f) => SERIAL.has(basename(f)));
const parallel = files.filter((f) => !SERIAL.has(basename(f)));
const p1 = await phase('1 (two at a time)', parallel, 2);
const p2 = await phase('2 (one at a time)', serial, 1);

const line = (c: Counts) => `${c.tests} tests, ${c.pass} pass, ${c.fail} fail, ${c.cancelled} cancelled, ${c.skipped} skipped, ${c.todo} todo`;
process.stdout.write(
  [
    '# ── whole suite ──',
    `# phase 1: ${parallel.length} files, ${line(p1.counts)}, ${p1.seconds.toFixed(0)} s`,
    `# phase 2: ${serial.length} files, ${line(p2.counts)}, ${p2.seconds.toFixed(0)} s`,
    `# all: ${files.length} files, ${line(total)}, ${(p1.seconds + p2.seconds).toFixed(0)} s`,
    '',
  ].join('\n'),
);
process.exitCode = total.fail > 0 || total.cancelled > 0 || total.tests === 0 ? 1 : 0;
