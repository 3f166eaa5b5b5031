/**
 * The experiment file's schema, table-driven: every built-in validates (in
 * full and --quick, within the time budgets); each bad file fails with one
 * line naming the key path; the CLI turns that into exit 2 without a stack.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { BUILT_INS, builtInText } from '../../src/experiment/catalogue.js';
import { parseExperiment, startFlags } from '../../src/experiment/schema.js';
import { QUICK_ARM_OVERHEAD_S, QUICK_BUDGET_S } from '../../src/experiment/quick.js';
import { ExperimentFileError } from '../../src/errors.js';
import { main } from '../../src/cli.js';

const MINIMAL = `title: t
teaches: Something worth knowing.
arms:
  - name: a
load:
  - duration: 10
`;

test('every built-in validates, runs at most 5 minutes, and at most 90 s with --quick', () => {
  assert.equal(BUILT_INS.length, 8);
  for (const name of BUILT_INS) {
    const full = parseExperiment(builtInText(name), name);
    assert.ok(full.arms.length >= 1 && full.arms.length <= 4, name);
    assert.ok(full.questions.length >= 2, `${name} has questions`);
    assert.ok(full.expect.length >= 1, `${name} makes claims`);
    assert.ok(full.arms.length * (full.loadSec + 15) <= 300, `${name}: ${full.arms.length} × ${full.loadSec} s fits 5 minutes`);
    const quick = parseExperiment(builtInText(name), name, { quick: true });
    assert.ok(quick.arms.length * (quick.loadSec + QUICK_ARM_OVERHEAD_S) <= QUICK_BUDGET_S + 0.5, `${name} --quick: ${quick.arms.length} × ${quick.loadSec} s`);
    assert.equal(quick.events.length, full.events.length);
    quick.events.forEach((e, i) => assert.ok(Math.abs(e.at - full.events[i].at * quick.timeFactor) <= 0.1, `${name} event ${i} scaled`));
    quick.expect.forEach((c, i) => {
      const scaled = ['reaction', 'workerSeconds', 'secondsOverSlo'].includes(c.name);
      assert.ok(Math.abs(c.value - (scaled ? full.expect[i].value * quick.timeFactor : full.expect[i].value)) <= 0.1, `${name} claim ${c.name}`);
    });
  }
});

test('a minimal file gets the defaults; arm settings become start flags', () => {
  const e = parseExperiment(MINIMAL, 'f.yaml');
  assert.equal(e.slo.p95Ms, 200);
  assert.deepEqual(e.events, []);
  assert.equal(e.loadSec, 10);
  assert.deepEqual(e.load[0].flags, ['--threads', '10', '--duration', '10']);
  const two = parseExperiment(MINIMAL.replace('  - name: a\n', '  - name: a\n    scale-up: 50\n    boot-delay: 20\n    policy: target\n'), 'f.yaml');
  assert.deepEqual(startFlags(two.arms[0].settings), ['--scale-up', '50', '--boot-delay', '20', '--policy', 'target']);
});

const BAD: Array<[string, string, RegExp]> = [
  ['a wrong type, with the value', MINIMAL.replace('  - name: a\n', '  - name: a\n  - name: b\n    cooldown: abc\n'), /^arms\[1\]\.cooldown: expected seconds >= 0, got "abc"$/],
  ['a negative number', MINIMAL.replace('  - name: a\n', '  - name: a\n    cooldown: -1\n'), /^arms\[0\]\.cooldown: expected seconds >= 0, got -1$/],
  ['an unknown key in an arm', MINIMAL.replace('  - name: a\n', '  - name: a\n    colldown: 5\n'), /^arms\[0\]\.colldown: unknown key$/],
  ['an unknown top-level key', `${MINIMAL}extra: 1\n`, /^extra: unknown key$/],
  ['ports belong to the command line', MINIMAL.replace('  - name: a\n', '  - name: a\n    port: 9000\n'), /^arms\[0\]\.port: unknown key \(ports and --host come from the command line/],
  ['a missing title', MINIMAL.replace('title: t\n', ''), /^title: expected text \(1–120 characters\), got nothing$/],
  ['no arms', MINIMAL.replace('  - name: a\n', '').replace('arms:\n', 'arms: []\n'), /^arms: expected 1 to 4 arms$/],
  ['five arms', MINIMAL.replace('  - name: a\n', ['a', 'b', 'c', 'd', 'e'].map((n) => `  - name: ${n}\n`).join('')), /^arms: expected 1 to 4 arms$/],
  ['arms not a list', MINIMAL.replace('arms:\n  - name: a\n', 'arms: lots\n'), /^arms: expected a list, got "lots"$/],
  ['two arms with one name', MINIMAL.replace('  - name: a\n', '  - name: a\n  - name: a\n'), /^arms\[1\]\.name: the name "a" is used twice$/],
  ['an arm the lab refuses', MINIMAL.replace('  - name: a\n', '  - name: a\n    min: 4\n    max: 2\n'), /^arms\[0\]: --min \(4\) must be <= --max \(2\)$/],
  ['a bad enum', MINIMAL.replace('  - name: a\n', '  - name: a\n    policy: magic\n'), /^arms\[0\]\.policy: expected one of threshold, target, predictive, step, got "magic"$/],
  ['a load phase the generator refuses', MINIMAL.replace('  - duration: 10\n', '  - duration: 10\n    spike-at: 3\n'), /^load\[0\]: --spike-at only applies to --profile spike/],
  ['a zero duration', MINIMAL.replace('  - duration: 10\n', '  - duration: 0\n'), /^load\[0\]\.duration: expected seconds > 0, got 0$/],
  ['an event after the load', `${MINIMAL}events:\n  - at: 12\n    action: pause\n`, /^events\[0\]\.at: expected seconds < the load's length \(10\), got 12$/],
  ['an unknown action', `${MINIMAL}events:\n  - at: 1\n    action: explode\n`, /^events\[0\]\.action: expected one of sigkill, sigstop/],
  ['a kill without a worker', `${MINIMAL}events:\n  - at: 1\n    action: sigkill\n`, /^events\[0\]\.worker: missing \(sigkill needs a worker/],
  ['a bad selector', `${MINIMAL}events:\n  - at: 1\n    action: sigkill\n    worker: youngest\n`, /^events\[0\]\.worker: expected newest, oldest or "worker N", got "youngest"$/],
  ['a fault without a duration', `${MINIMAL}events:\n  - at: 1\n    action: fail-500\n    worker: newest\n`, /^events\[0\]\.for: missing/],
  ['an unbounded neighbour', `${MINIMAL}events:\n  - at: 1\n    action: noisy-neighbour\n    for: 100000\n`, /^events\[0\]\.for: expected seconds <= 600, got 100000$/],
  ['a claim on an unknown arm', `${MINIMAL}expect:\n  - arm: b\n    errors: 0\n`, /^expect\[0\]\.arm: no arm is named "b" \(arms: a\)$/],
  ['an unknown claim', `${MINIMAL}expect:\n  - happiness: 10\n`, /^expect\[0\]\.happiness: unknown key$/],
  ['a claim that is no comparison', `${MINIMAL}expect:\n  - peak: "about 3"\n`, /^expect\[0\]\.peak: expected a number or a comparison such as "<= 3"/],
  ['a claim in the wrong unit', `${MINIMAL}expect:\n  - reaction: "<= 10ms"\n`, /^expect\[0\]\.reaction: reaction is measured in s, got "<= 10ms"$/],
  ['not YAML', 'title: [unclosed\n', /^f\.yaml:\d+:\d+: not valid YAML/],
  ['not a mapping', '- a\n- b\n', /^f\.yaml: expected a YAML mapping/],
];

for (const [what, text, message] of BAD) {
  test(`a bad file fails in one line naming the key: ${what}`, () => {
    assert.throws(
      () => parseExperiment(text, 'f.yaml'),
      (err: unknown) => {
        assert.ok(err instanceof ExperimentFileError, String(err));
        assert.equal(err.code, 'AS_ERR_EXPERIMENT_FILE');
        assert.equal(err.exitCode, 2);
        assert.ok(!err.message.includes('\n'), 'one line');
        assert.match(err.message, message);
        return true;
      },
    );
  });
}

function capture() {
  let text = '';
  const stream = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) });
  return { stream, text: () => text };
}

test('the CLI: --list, show, and a bad file is one line with exit 2', async () => {
  const out = capture();
  const err = capture();
  const io = { stdout: out.stream, stderr: err.stream, env: { ...process.env, XDG_STATE_HOME: '/nonexistent-state' } };
  assert.equal(await main(['experiment', '--list'], io), 0);
  for (const name of BUILT_INS) assert.match(out.text(), new RegExp(`^${name} `, 'm'));
  const shown = capture();
  assert.equal(await main(['experiment', 'show', 'flapping'], { ...io, stdout: shown.stream }), 0);
  assert.equal(shown.text(), builtInText('flapping'));
  assert.equal(await main(['experiment', 'no-such-lesson'], io), 2);
  assert.match(err.text(), /^error: no built-in experiment is named "no-such-lesson" \(built-ins: threshold-vs-target, /);
  const bad = capture();
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-exp-schema-'));
  try {
    const file = join(dir, 'lesson.yaml');
    writeFileSync(file, MINIMAL.replace('  - name: a\n', '  - name: a\n  - name: b\n    cooldown: abc\n'));
    assert.equal(await main(['experiment', file], { ...io, stderr: bad.stream }), 2);
    assert.equal(bad.text(), 'error: arms[1].cooldown: expected seconds >= 0, got "abc"\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
