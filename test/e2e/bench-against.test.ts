/**
 * bench/against.ts over recorded pairs (the evidence of issue 21): it finds
 * the pairs under the directories given — every ordered pair of finished
 * arms of an experiment that differ only in policy settings, and pair
 * directories (a/, b/) — compares each with both replay models, skips a pair
 * replay cannot answer with the reason, and ends with the summary lines.
 * Runs on the checked-in A/B fixture; no lab is started.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIX = join(ROOT, 'test/fixtures/against-rps');
const bench = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/against.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });

function experiment(dir: string, builtIn: string, arms: Array<{ name: string; runDir: string; status: string; from?: string }>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'experiment.yaml'), readFileSync(join(ROOT, `src/experiment/catalogue/${builtIn}.yaml`)));
  for (const a of arms) if (a.from !== undefined) cpSync(a.from, join(dir, a.runDir), { recursive: true });
  const record = { kind: 'autoscale-experiment', schema: 1, name: builtIn, quick: false, arms: arms.map((a) => ({ name: a.name, runDir: a.runDir, status: a.status, loadAverageBefore: [1.5, 1.25, 1] })) };
  writeFileSync(join(dir, 'experiment.json'), JSON.stringify(record));
}

test('bench/against.ts: every pair it finds, both models, skipped pairs with the reason, the summary lines', (t) => {
  const state = mkdtempSync(join(tmpdir(), 'bench-against-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  const runs = join(state, 'autoscale', 'runs');
  // An experiment whose two arms differ only in policy (the fixture's two runs as its arms).
  experiment(join(runs, '2026-01-01T00-00-00'), 'threshold-vs-target', [
    { name: 'threshold', runDir: 'arm-1-threshold', status: 'finished', from: join(FIX, 'a') },
    { name: 'target', runDir: 'arm-2-target', status: 'finished', from: join(FIX, 'b') },
  ]);
  // One whose arms differ in boot delay (not a pair), and whose arms did not all run.
  experiment(join(runs, '2026-01-01T01-00-00'), 'slow-boot', [
    { name: 'boot-0s', runDir: 'arm-1-boot-0s', status: 'finished', from: join(FIX, 'a') },
    { name: 'boot-20s', runDir: 'arm-2-boot-20s', status: 'finished', from: join(FIX, 'b') },
    { name: 'boot-20s-min-3', runDir: 'arm-3-boot-20s-min-3', status: 'not run' },
  ]);
  // A pair directory whose B saw another load: skipped, with replay's reason.
  const other = join(state, 'pair-other');
  cpSync(join(FIX, 'a'), join(other, 'a'), { recursive: true });
  cpSync(join(FIX, 'b'), join(other, 'b'), { recursive: true });
  const lines = readFileSync(join(FIX, 'b/load.ndjson'), 'utf8').trim().split('\n');
  writeFileSync(join(other, 'b/load.ndjson'), lines.map((l) => JSON.stringify({ ...JSON.parse(l), threads: 2 * JSON.parse(l).threads })).join('\n') + '\n');

  const r = bench([state, other]);
  assert.equal(r.status, 0, r.stderr);
  const rows = r.stdout.split('\n').filter((l) => /^\| \d+ \|/.test(l));
  // threshold → target and target → threshold, each with both models.
  assert.equal(rows.length, 4, r.stdout);
  assert.deepEqual(rows.map((l) => l.split('|')[5].trim()), ['residual', 'calibrated', 'residual', 'calibrated']);
  assert.match(rows[0], /\| threshold → target \| 1\.5\/1\.3\/1\.0, 1\.5\/1\.3\/1\.0 \| residual \| \d+ \/ 5 \([+-]?\d+\) \| \d+\/\d+ \/ 4\/3 \([+-]?\d+\) \| \d+ \/ 312 \([+-]?\d+\.\d %\) \| \d+ % of 40 \| \d+ of \d+ actions, \d+ of \d+ holds \| \d+ %, \d+ % \|$/);
  assert.match(r.stdout, /^skipped: .*slow-boot\): boot-0s \/ boot-20s: the arms differ in bootDelay, not only in policy settings$/m);
  assert.match(r.stdout, /^skipped: .*slow-boot\): boot-20s → boot-20s-min-3: not both finished \(finished, not run\)$/m);
  assert.match(r.stdout, /^skipped: .*pair-other: a → b: --against needs two runs with the same load: A had 12 users peak/m);
  for (const model of ['residual', 'calibrated']) {
    assert.match(r.stdout, new RegExp(`^${model}: peak within ±1 on \\d of 2 pairs; worker-seconds within ±15 % on \\d of 2; own-policy same-count ≥ 90 % on \\d of 2 runs; knife edges: \\d+ of \\d+ replayed actions, \\d+ of \\d+ holds$`, 'm'));
  }
  // --json: the same pairs as data.
  const j = bench([state, other, '--json']);
  assert.equal(j.status, 0, j.stderr);
  const data = JSON.parse(j.stdout) as { pairs: Array<{ models: Record<string, { knifeEdges: unknown }> }>; skipped: unknown[]; summary: string[] };
  assert.equal(data.pairs.length, 2);
  assert.ok(data.pairs.every((p) => p.models.residual.knifeEdges !== undefined && p.models.calibrated !== undefined));
  assert.equal(data.skipped.length, 5, JSON.stringify(data.skipped));
  assert.equal(data.summary.length, 2);
});

test('bench/against.ts: nothing to compare is one line (exit 1), a missing directory one line (exit 2)', (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'bench-against-empty-'));
  t.after(() => rmSync(empty, { recursive: true, force: true }));
  const none = bench([empty]);
  assert.equal(none.status, 1);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /^bench\/against\.ts: no A\/B pairs under .*\n$/);
  const missing = bench([join(empty, 'nope')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^bench\/against\.ts: not a directory: .*nope\n$/);
});
