/**
 * POST /stress burns a core per worker on request. Through the balancer it is
 * allowed only when the balancer is loopback (nobody else can reach it) or
 * with --allow-stress; otherwise every worker answers 403, which holds for L7
 * and for L4 (which cannot see paths) because the worker enforces it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { STRESS_OFF } from '../../src/app/app.js';
import type { LabEvent } from '../../src/events.js';
import { freePort, isAlive, startLab, until } from '../helpers.js';

const BIN = fileURLToPath(new URL('../../bin/autoscale.js', import.meta.url));

async function readyLab(t: Parameters<typeof startLab>[0], balancer: 'l7' | 'l4', stress: boolean) {
  const lab = await startLab(t, { min: '1', max: '1', balancer }, { value: 0 }, { stress });
  await until('a ready worker', () => lab.workers().some((e) => e.state === 'ready'), 20_000);
  const started = lab.events.find((e): e is Extract<LabEvent, { type: 'started' }> => e.type === 'started')!;
  return started.balancerUrl;
}

async function postStress(url: string): Promise<{ status: number; body: string }> {
  const res = await request(`${url}/stress?seconds=1`, { method: 'POST' });
  return { status: res.statusCode, body: await res.body.text() };
}

for (const balancer of ['l7', 'l4'] as const) {
  test(`${balancer}: workers told to refuse /stress answer 403 with the reason through the balancer; allowed ones 202`, async (t) => {
    const off = await postStress(await readyLab(t, balancer, false));
    assert.equal(off.status, 403, off.body);
    assert.deepEqual(JSON.parse(off.body), { error: STRESS_OFF });
    const on = await postStress(await readyLab(t, balancer, true));
    assert.equal(on.status, 202, on.body);
  });
}

test('start --host 0.0.0.0 refuses /stress and says so; --allow-stress lets it through', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-stress-'));
  t.after(() => rmSync(state, { recursive: true, force: true }));
  for (const extra of [[], ['--allow-stress']]) {
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'start', '--json', '--host', '0.0.0.0', '--port', String(port), '--base-port', String(await freePort()), '--metrics-port', '0', '--min', '1', '--max', '1', ...extra], {
      env: { ...process.env, XDG_STATE_HOME: state },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise((r) => child.once('exit', r));
    const pids = () => [...out.matchAll(/"type":"worker"[^\n]*"pid":(\d+)/g)].map((m) => Number(m[1]));
    t.after(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      for (const p of pids()) if (isAlive(p)) process.kill(p, 'SIGKILL');
    });
    await until('a ready worker', () => /"state":"ready"/.test(out), 20_000);
    const r = await postStress(`http://127.0.0.1:${port}`);
    if (extra.length === 0) {
      assert.equal(r.status, 403, r.body);
      assert.match(err, /^warning: --host 0\.0\.0\.0 makes the balancer reachable from other machines \(workers stay on 127\.0\.0\.1\); POST \/stress is refused \(403\) unless you start with --allow-stress$/m);
    } else {
      assert.equal(r.status, 202, r.body);
      assert.doesNotMatch(err, /POST \/stress is refused/);
    }
    child.kill('SIGTERM');
    await exited;
  }
});
