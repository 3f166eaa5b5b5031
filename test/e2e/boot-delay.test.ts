/**
 * --boot-delay: a forked worker listens, then holds its readiness for the delay
 * (out of rotation, shown as "booting (N s left)"), then joins; reaction times
 * (the one definition in policy/reaction.ts, through the report's events) include it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LabEvent, TickEvent } from '../../src/events.js';
import { Supervisor, workerRow, type Rotation } from '../../src/supervisor/supervisor.js';
import { displayState } from '../../src/dashboard/panels/table.js';
import { reactionTimes } from '../../src/report/aggregate.js';
import { DEFAULTS, resolveConfig, publicSettings } from '../../src/settings/config.js';
import { freePort, until } from '../helpers.js';

const BOOT_MS = 2000;

test('--boot-delay: the key is checked, defaults to 0 and is recorded in the started settings', () => {
  assert.equal(DEFAULTS.bootDelay, 0);
  assert.equal(resolveConfig({ bootDelay: '20' }).bootDelay, 20);
  assert.equal(resolveConfig({}, { bootDelay: 1.5 }).bootDelay, 1.5);
  assert.throws(() => resolveConfig({ bootDelay: '-1' }), /--boot-delay must be between 0 and 600/);
  assert.throws(() => resolveConfig({ bootDelay: 'abc' }), /--boot-delay must be a number/);
  assert.equal(publicSettings(resolveConfig({ bootDelay: '12' })).bootDelay, 12);
});

test('--boot-delay: a listening worker stays out of rotation until its delay is over, and reaction time includes it', async (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'autoscale-boot-'));
  const events: LabEvent[] = [];
  const added: Array<{ id: number; at: number }> = [];
  const t0 = Date.now();
  const clock = (): number => Date.now() - t0;
  const rotation: Rotation = {
    addWorker: (w) => void added.push({ id: w.id, at: clock() }),
    drainWorker: async () => ({ inFlightAtStart: 0, drained: true, ms: 1 }),
    removeWorker: async () => {},
  };
  const sup = new Supervisor({
    host: '127.0.0.1', basePort: await freePort(), work: 0, runDir, rotation,
    publish: (e) => void events.push(e), clock,
    drainTimeoutMs: 2000, killTimeoutMs: 1500, readyTimeoutMs: 5000, bootDelayMs: BOOT_MS,
  });
  t.after(async () => {
    sup.killAllSync();
    await sup.stopAll();
    rmSync(runDir, { recursive: true, force: true });
  });

  // The policy's tick crosses the threshold and scales out: the same events the lab publishes (the worker this
  // supervisor forks stands for the one added; a scale from 0 would be a cold start, src/policy/reaction.ts).
  const tick = (tt: number, value: number, desired: number) => ({ type: 'tick', t: tt, value, desired } as unknown as TickEvent);
  events.push(tick(clock(), 90, 1), { type: 'scale', t: clock(), direction: 'out', from: 1, to: 2, reason: 'cpu 90 > 35', manual: false });
  sup.setDesired(1);

  await until('the worker listens and boots', () => sup.records().some((w) => w.bootingUntil !== null), 10_000);
  const booting = sup.records()[0];
  assert.equal(booting.state, 'starting');
  assert.equal(booting.readyAt, null);
  assert.equal(added.length, 0, 'not in rotation while booting');
  assert.match(displayState(workerRow(booting, { rps: 0, inFlight: 0 }), clock()), /^booting \([12] s left\)$/);
  assert.match(readFileSync(join(runDir, 'worker-1.log'), 'utf8'), /listening/, 'it really listens while it boots');
  const listenedAt = booting.bootingUntil! - BOOT_MS;

  await until('the worker is ready', () => sup.counts().ready === 1, 10_000);
  assert.equal(added.length, 1, 'in rotation once the delay is over');
  assert.ok(added[0].at - listenedAt >= BOOT_MS - 5, `added ${added[0].at - listenedAt} ms after it listened`);
  const ready = sup.records()[0];
  assert.equal(ready.bootingUntil, null);
  assert.equal(displayState(workerRow(ready, { rps: 0, inFlight: 0 }), clock()), 'ready');
  const readyEvent = events.find((e) => e.type === 'worker' && e.state === 'ready');
  assert.match(String((readyEvent as { detail: string }).detail), /then a boot delay of 2 s/);

  const [reaction] = reactionTimes(events, { policy: 'threshold', scaleUp: 35, target: 50, tolerance: 0.1, max: 5 });
  assert.ok(reaction.seconds !== null && reaction.seconds >= BOOT_MS / 1000, `reaction ${reaction.seconds} s includes the ${BOOT_MS / 1000} s boot`);
});

test('--boot-delay: a worker stopped while it boots never joins the rotation', async (t) => {
  const runDir = mkdtempSync(join(tmpdir(), 'autoscale-boot-'));
  const added: number[] = [];
  const rotation: Rotation = {
    addWorker: (w) => void added.push(w.id),
    drainWorker: async () => ({ inFlightAtStart: 0, drained: true, ms: 1 }),
    removeWorker: async () => {},
  };
  const t0 = Date.now();
  const sup = new Supervisor({
    host: '127.0.0.1', basePort: await freePort(), work: 0, runDir, rotation, publish: () => {}, clock: () => Date.now() - t0,
    drainTimeoutMs: 2000, killTimeoutMs: 1500, readyTimeoutMs: 5000, bootDelayMs: 1500,
  });
  t.after(async () => {
    sup.killAllSync();
    await sup.stopAll();
    rmSync(runDir, { recursive: true, force: true });
  });
  sup.setDesired(1);
  await until('booting', () => sup.records().some((w) => w.bootingUntil !== null), 10_000);
  sup.setDesired(0);
  await until('gone', () => sup.records().length === 0, 10_000);
  await new Promise((r) => setTimeout(r, 1800));
  assert.deepEqual(added, []);
});

test('--boot-delay: the started line says it; without it nothing changes', async () => {
  const { describe } = await import('../../src/dashboard/describe.js');
  const started = (bootDelay?: number) =>
    ({ type: 'started', t: 0, startedAt: 0, pid: 1, balancerUrl: 'http://127.0.0.1:8000', runDir: '/tmp/r', config: { ...publicSettings(DEFAULTS), ...(bootDelay === undefined ? { bootDelay: undefined } : { bootDelay }) } }) as unknown as LabEvent;
  assert.match(describe(started(20))!.text, /cooldown 15 s, boot delay 20 s {2}/);
  assert.doesNotMatch(describe(started(0))!.text, /boot delay/);
  assert.doesNotMatch(describe(started())!.text, /boot delay/, 'a run recorded before --boot-delay existed');
});
