/**
 * The code map holds: no import cycle between files, and no folder imports
 * one above it. Layers, bottom first (README "Code map"):
 *   errors/format/parse-int/cli-io/metrics < alarms < policy < events < runs, store, settings < app, loadgen, balancer, report
 *   < supervisor, control, simulate, export < replay < lab < dashboard, admin, summary < web < experiment < commands < cli
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importGraph, unit } from '../import-graph.js';

const RANK: Record<string, number> = {
  'errors.ts': 0, 'format.ts': 0, 'cli-io.ts': 0, 'parse-int.ts': 0, 'url-host.ts': 0, 'http-limits.ts': 0, 'worker-stats.ts': 0,
  // The metric table: policies scale on these, alarms watch them.
  'metrics.ts': 0,
  // Alarm rules and their pure evaluator (CloudWatch's semantics): below the policy, whose step scaling is driven by alarms.
  alarms: 0.5,
  policy: 1,
  'events.ts': 2,
  // Where runs live and the recorder: below the load generator (load --record finds the running lab through it).
  runs: 2.5,
  // The visits store: the worker app uses it; it knows only event types.
  store: 2.5,
  // The lab's settings: config file, flags and the policy flags of the what-if commands, below everything that runs them.
  settings: 2.5,
  app: 3, loadgen: 3, balancer: 3, report: 3,
  supervisor: 4, control: 4,
  lab: 5,
  dashboard: 6, admin: 6, summary: 6,
  // The what-if commands read settings and recordings, never the running lab.
  simulate: 4, export: 4,
  replay: 4.5,
  // The live page: the dashboard's words for events, the report's model and components, the load generator, the operator.
  web: 6.5,
  // Lessons: run arms (through child processes), compare them with the report's figures and replay's counterfactual check.
  experiment: 8.5,
  commands: 9,
  // The quick paths (--help, status, scale…) that bin/ tries before loading the full program.
  'cli-fast.ts': 9.5,
  'cli.ts': 10,
  // Run by the build: stores cli.ts's top-level help for cli-fast.ts.
  'write-help.ts': 11,
};

test('no import cycle between files, and no folder imports one above it', () => {
  const graph = importGraph();
  const upward: string[] = [];
  const folders = new Map<string, Set<string>>();
  for (const [from, tos] of graph) {
    for (const to of tos) {
      assert.ok(graph.has(to), `${from} imports ${to}, which does not exist`);
      const [a, b] = [unit(from), unit(to)];
      assert.ok(a in RANK && b in RANK, `${a} or ${b} has no layer: add it to RANK and to the README's code map`);
      if (a !== b) {
        if (RANK[b] > RANK[a] || (RANK[b] === RANK[a])) upward.push(`${from} -> ${to}`);
        if (!folders.has(a)) folders.set(a, new Set());
        folders.get(a)!.add(b);
      }
    }
  }
  assert.deepEqual(upward, [], 'imports that go up (or sideways) a layer');
  // Depth-first search for a cycle among files.
  const state = new Map<string, 'open' | 'done'>();
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === 'done') return;
    assert.notEqual(state.get(f), 'open', `import cycle: ${[...path, f].join(' -> ')}`);
    state.set(f, 'open');
    for (const to of graph.get(f) ?? []) visit(to, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of graph.keys()) visit(f, []);
  if (process.env.AS_PRINT_LAYERS) {
    for (const [a, bs] of [...folders].sort((x, y) => RANK[y[0]] - RANK[x[0]])) console.log(`${a} -> ${[...bs].sort((x, y) => RANK[y] - RANK[x]).join(', ')}`);
  }
});
