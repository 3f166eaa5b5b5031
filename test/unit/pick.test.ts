import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pick } from '../../src/balancer/pick.js';

test('pick: table', () => {
  const cases: Array<{ workers: string[]; cursor: number; want: { worker: string; cursor: number } | null }> = [
    { workers: [], cursor: 0, want: null },
    { workers: [], cursor: 5, want: null },
    { workers: ['a'], cursor: 0, want: { worker: 'a', cursor: 0 } },
    { workers: ['a', 'b', 'c'], cursor: 0, want: { worker: 'a', cursor: 1 } },
    { workers: ['a', 'b', 'c'], cursor: 1, want: { worker: 'b', cursor: 2 } },
    { workers: ['a', 'b', 'c'], cursor: 2, want: { worker: 'c', cursor: 0 } },
    // the list shrank under the cursor: wrap, never index past the end
    { workers: ['a', 'b'], cursor: 2, want: { worker: 'a', cursor: 1 } },
    { workers: ['a', 'b'], cursor: 7, want: { worker: 'b', cursor: 0 } },
    // nonsense cursors start over
    { workers: ['a', 'b'], cursor: -1, want: { worker: 'a', cursor: 1 } },
    { workers: ['a', 'b'], cursor: 1.5, want: { worker: 'a', cursor: 1 } },
    { workers: ['a', 'b'], cursor: Number.NaN, want: { worker: 'a', cursor: 1 } },
  ];
  for (const c of cases) {
    assert.deepEqual(pick(c.workers, c.cursor), c.want, `pick(${JSON.stringify(c.workers)}, ${c.cursor})`);
  }
});

test('pick: feeding the cursor back visits every worker in order, evenly', () => {
  const workers = [1, 2, 3];
  let cursor = 0;
  const seen: number[] = [];
  for (let i = 0; i < 9; i++) {
    const r = pick(workers, cursor);
    assert.ok(r);
    seen.push(r.worker);
    cursor = r.cursor;
  }
  assert.deepEqual(seen, [1, 2, 3, 1, 2, 3, 1, 2, 3]);
});

test('pick: a list that shrinks under the cursor wraps instead of indexing past the end', () => {
  let workers = ['a', 'b', 'c'];
  let cursor = 0;
  const seen: string[] = [];
  const step = (): void => {
    const r = pick(workers, cursor);
    assert.ok(r);
    seen.push(r.worker);
    cursor = r.cursor;
  };
  step(); // a
  step(); // b
  workers = ['a', 'c']; // b drained; cursor 2 wraps to 0
  step();
  step();
  step();
  assert.deepEqual(seen, ['a', 'b', 'a', 'c', 'a']);
});
