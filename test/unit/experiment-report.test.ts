/**
 * The comparison page and Markdown, pure: every value from the file is
 * escaped, the CSP allows exactly the inlined scripts by hash, claims are
 * checked on finished arms only, and the counterfactual section appears only
 * with pairs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseExperiment } from '../../src/experiment/schema.js';
import { buildComparison } from '../../src/experiment/compare.js';
import { renderExperimentHtml, counterfactualSection } from '../../src/experiment/render-html.js';
import { renderExperimentMarkdown } from '../../src/experiment/render-md.js';
import { checkClaims, holds } from '../../src/experiment/claims.js';
import type { ArmFigures } from '../../src/experiment/figures.js';
import type { ExperimentRecord } from '../../src/runs/experiment-record.js';

const EVIL = '<script>alert(1)</script>';
const FILE = `title: "Evil ${EVIL}"
teaches: "Teaches ${EVIL} & more"
questions:
  - q: "Why ${EVIL}?"
    answer: "Because ${EVIL}"
arms:
  - name: a
    description: "${EVIL}"
  - name: b
load:
  - duration: 10
events:
  - at: 2
    action: pause
expect:
  - errors: 0
`;

function record(exp: ReturnType<typeof parseExperiment>): ExperimentRecord {
  return {
    kind: 'autoscale-experiment', schema: 1, name: 'evil', title: exp.title, source: `x${EVIL}.yaml`, fileSha256: 'f'.repeat(64), quick: false, timeFactor: 1,
    tool: { name: 'autoscale', version: '0.1.0', node: '20' }, host: { cores: 2, memoryBytes: 2 ** 33, platform: 'linux x64' }, ports: { port: 1, basePort: 2, metricsPort: 3 },
    startedAt: '2026-12-06T00:00:00Z', endedAt: null, status: 'interrupted',
    arms: exp.arms.map((a, i) => ({ name: a.name, description: a.description, runDir: `arm-${i + 1}-${a.name}`, status: i === 0 ? 'interrupted' : 'not run', startArgs: [], loadAverageBefore: [1, 2, 3], hostCpuBefore: null, pause: null, offsetSec: null, fired: [{ at: 2, labAt: 5, what: EVIL, outcome: EVIL }], error: null })),
    notes: [],
  };
}

test('experiment.html escapes every value and runs only its own two scripts, by hash', () => {
  const exp = parseExperiment(FILE, 'evil.yaml');
  const c = buildComparison(exp, record(exp), record(exp).arms.map((r) => ({ record: r, model: null, load: null })));
  const html = renderExperimentHtml(c, { uplotJs: 'var uPlot = 1;', uplotCss: '', pageJs: 'void 0;' }, 'autoscale test');
  assert.doesNotMatch(html, /<script>alert/, 'no value reaches the page unescaped');
  assert.match(html, /Evil &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  const sha = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
  assert.match(html, new RegExp(`script-src ${sha('var uPlot = 1;').replace(/[+/]/g, '\\$&')} ${sha('void 0;').replace(/[+/]/g, '\\$&')};`));
  assert.doesNotMatch(html, /script-src[^;]*unsafe-inline/);
  assert.match(html, /<details><summary>Answer<\/summary>/);
  assert.match(html, /This experiment was interrupted: 0 of 2 arms finished/);
  // The embedded data cannot close its script tag.
  const data = /<script type="application\/json" id="experiment-data">([^<]*)<\/script>/.exec(html);
  assert.ok(data, 'the data block is intact');
  assert.equal(JSON.parse(data[1]).marks[0].label, 'pause automatic scaling');
  assert.equal(c.claims.length, 0, 'no claim is checked on an arm that did not finish');
  const md = renderExperimentMarkdown(c);
  // Outside code blocks (which Markdown never renders as HTML) no tag survives.
  assert.doesNotMatch(md.replace(/```[\s\S]*?```/g, ''), /<script>/);
  assert.match(md, /^# Evil &lt;script>alert\(1\)&lt;\/script>$/m, 'Markdown keeps the title as inert text in a heading');
});

test('claims: each comparison, and failures shown with the measured value', () => {
  assert.ok(holds('<=', 3, 3) && !holds('<', 3, 3) && holds('>=', 4, 3) && holds('>', 4, 3) && holds('==', 0, 0) && !holds('==', 1, 0));
  const exp = parseExperiment(`${FILE.replace(/expect:[\s\S]*$/, '')}expect:\n  - peak: "<= 2"\n  - arm: b\n    reaction: "<= 10s"\n`, 'f.yaml');
  const figures = (over: Partial<ArmFigures>): ArmFigures => ({ peak: 1, scaleOuts: 0, scaleIns: 0, scaleActions: 0, reaction: null, workerSeconds: 0, cost: 0, currency: 'USD', errors: 0, clientErrors: 0, requests: 0, secondsOverSlo: 0, clientP99: null, ...over });
  const results = checkClaims(exp.expect, new Map([['a', figures({ peak: 3 })], ['b', figures({ peak: 2 })]]));
  assert.deepEqual(results.map((r) => [r.arm, r.claim.name, r.measured, r.met]), [['a', 'peak', 3, false], ['b', 'peak', 2, true], ['b', 'reaction', null, false]]);
  assert.match(results[2].note!, /no reaction measured/);
});

test('the counterfactual section: nothing without pairs, a table per pair with its error', () => {
  assert.equal(counterfactualSection([]), '');
  const html = counterfactualSection([{ recording: 'a', settingsOf: 'b', rows: [{ figure: 'peak', replayed: '3', real: '4', error: '−1' }] }]);
  assert.match(html, /a(?:'|&#39;)s load replayed under b(?:'|&#39;)s settings, against b for real/);
  assert.match(html, /<td>peak<\/td><td>3<\/td><td>4<\/td><td>−1<\/td>/);
});
