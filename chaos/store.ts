/**
 * The shared SQLite file under attack while the lab serves load mixed with
 * writes (`autoscale load --mix visits=20`), issue 19 items 5 and 6:
 * another process holds its lock for longer than the liveness window, and
 * `visits.db` is deleted. The lab as a black box, like faults.ts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Daemon, runLoad } from '../harness/daemon.js';
import { freePort, sleep, waitFor } from '../harness/process.js';
import type { LoadSummary } from '../src/loadgen/summary.js';
import type { ChaosContext } from './faults.js';
import { Recorder, seconds, type ScenarioResult } from './report.js';

const HOLDER = fileURLToPath(new URL('../test/fixtures/sqlite-lock-holder.js', import.meta.url));

const mixOf = (s: LoadSummary) => s.mix?.mixed ?? { sent: 0, ok: 0, failed: 0 };
const onlyStatuses = (s: LoadSummary, allowed: number[]) => Object.keys(s.errors.http.byStatus).every((k) => allowed.includes(Number(k)));
const describe = (s: LoadSummary) => `sent ${s.requests.sent}, ok ${s.requests.ok}, http ${JSON.stringify(s.errors.http.byStatus)}, transport ${JSON.stringify(s.errors.byCode)}`;

function storedVisits(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) FROM visits').pluck().get() as number;
  } finally {
    db.close();
  }
}

/** Workers the lab took out and replaced as hung or broken (not crashes, not scale-in). */
function replacedAsUnhealthy(d: Daemon): string[] {
  return d.of('worker').filter((e) => /unhealthy/.test(String(e.detail))).map((e) => `worker ${e.id}: ${e.detail}`);
}

// 8 ─────────────────────────────────────────────────────────────────────────

export async function lockedDatabase(ctx: ChaosContext): Promise<ScenarioResult> {
  const r = new Recorder('8 another process holds the SQLite lock');
  const lockSec = ctx.short ? 18 : 25;
  const d = new Daemon({ port: await freePort(), basePort: await freePort(), args: ['--min', '2', '--max', '2', '--interval', '1', '--work', '2'] });
  let holder: ReturnType<typeof spawn> | null = null;
  try {
    await d.waitReady(2);
    const file = join(d.runDir, 'visits.db');
    const load = runLoad(d.url, ['--mix', 'visits=20', '--threads', '4', '--duration', String(lockSec + 14), '--timeout', '15000']);
    await sleep(3000);
    holder = spawn(process.execPath, [HOLDER, file], { stdio: ['pipe', 'pipe', 'inherit'] });
    await once(holder.stdout!, 'data');
    const lockedAt = Date.now();
    const out = await waitFor('both out of rotation', () => d.of('health').filter((e) => e.healthy === false && d.wallTime(e) >= lockedAt).length >= 2, 15_000).catch(() => NaN);
    await sleep(Math.max(0, lockedAt + lockSec * 1000 - Date.now()));
    const exited = once(holder, 'exit');
    holder.stdin!.end('release\n');
    await exited;
    const releasedAt = Date.now();
    const back = await waitFor('both back in rotation', () => d.of('health').filter((e) => e.healthy === true && d.wallTime(e) >= releasedAt).length >= 2, 20_000).catch(() => NaN);
    const { summary } = await load.done;
    const mixed = mixOf(summary);
    r.requests = summary.requests.sent;
    r.failed = summary.requests.failed;
    r.expected = '503 while locked';
    r.recover = `out ${seconds(out)}, back ${seconds(back)} after release`;
    r.check('no worker replaced for the lock', replacedAsUnhealthy(d).length === 0, replacedAsUnhealthy(d).join('; '));
    const said = d.of('health').filter((e) => e.healthy === false && d.wallTime(e) >= lockedAt).map((e) => String(e.detail));
    r.check('the lab says "database locked: out of rotation, not replaced"', said.length >= 2 && said.every((s) => /database locked: out of rotation, not replaced/.test(s)), said.join(' | '));
    r.check('both back in rotation after the release', Number.isFinite(back), `${back} ms`);
    r.check('failures are 503 only (the balancer or "database locked")', onlyStatuses(summary, [503]) && summary.errors.timeout + summary.errors.refused + summary.errors.reset + summary.errors.other === 0, describe(summary));
    const stored = storedVisits(file);
    r.check('acknowledged visits = stored visits', mixed.ok === stored, `load acknowledged ${mixed.ok}, visits.db holds ${stored}`);
    r.check('visits went through after the release', summary.requests.ok > 0 && mixed.ok > 0, `${mixed.ok} of ${mixed.sent} visits acknowledged`);
    r.note(`lock held ${lockSec} s; visits ${mixed.ok} acknowledged, ${mixed.failed} refused`);
    r.check('the lab stops cleanly', (await d.stop()).code === 0, d.stderr.slice(-300));
    return r.done();
  } catch (err) {
    return r.crashed(err);
  } finally {
    if (holder !== null && holder.exitCode === null) holder.kill('SIGKILL');
    await d.cleanup();
  }
}

// 9 ─────────────────────────────────────────────────────────────────────────

export async function deletedDatabase(ctx: ChaosContext): Promise<ScenarioResult> {
  const r = new Recorder('9 visits.db deleted under load');
  const d = new Daemon({ port: await freePort(), basePort: await freePort(), args: ['--min', '2', '--max', '2', '--interval', '1', '--work', '2'] });
  try {
    await d.waitReady(2);
    const file = join(d.runDir, 'visits.db');
    // Our own writer, so that every 201 is timed against the deletion.
    const acks: Array<{ sentAt: number; status: number }> = [];
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const sentAt = Date.now();
        try {
          const res = await fetch(`${d.url}/visits`, { method: 'POST', body: '{"page":"chaos"}', signal: AbortSignal.timeout(15_000) });
          await res.arrayBuffer();
          acks.push({ sentAt, status: res.status });
        } catch {
          acks.push({ sentAt, status: 0 });
        }
        await sleep(20);
      }
    })();
    const load = runLoad(d.url, ['--mix', 'visits=20', '--threads', '4', '--duration', ctx.short ? '16' : '25', '--timeout', '15000']);
    // Until the load's own visits are going through too (its process takes a moment to start).
    const storeVisits = () => Number((d.of('tick').at(-1)?.store as { visits?: unknown } | undefined)?.visits ?? 0);
    await waitFor("the load's visits", () => storeVisits() >= acks.filter((a) => a.status === 201).length + 5, 20_000).catch(() => {});
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    const deletedAt = Date.now();
    const down = await waitFor('store down', () => d.of('tick').some((e) => d.wallTime(e) >= deletedAt && (e.store as { up?: unknown } | undefined)?.up === false), 10_000).catch(() => NaN);
    // A crash now: its replacement must not create a new empty visits.db.
    const victim = d.ready()[0];
    if (victim?.pid !== undefined) process.kill(victim.pid, 'SIGKILL');
    await waitFor('a replacement started', () => d.of('worker').some((e) => e.state === 'ready' && d.wallTime(e) > deletedAt), 30_000).catch(() => {});
    await sleep(3000);
    const { summary } = await load.done;
    writing = false;
    await writer;
    const mixed = mixOf(summary);
    r.requests = summary.requests.sent + acks.length;
    r.failed = summary.requests.failed + acks.filter((a) => a.status !== 201).length;
    r.expected = '503 for visits after the deletion';
    r.recover = `down ${seconds(down)} after rm`;
    const lateAcks = acks.filter((a) => a.sentAt > deletedAt && a.status === 201).length;
    r.check('no visit acknowledged (201) after the deletion', lateAcks === 0, `${lateAcks} × 201 for visits sent after the rm`);
    r.check('the store is reported down with the reason', Number.isFinite(down) && d.of('tick').some((e) => /visits\.db was deleted or replaced/.test(String((e.store as { detail?: unknown } | undefined)?.detail))), `${down} ms`);
    r.check('no new empty visits.db created (the replacement worker included)', !existsSync(file));
    const replaced = replacedAsUnhealthy(d);
    r.check('no worker replaced for the deletion (only the SIGKILLed one)', replaced.length === 0, replaced.join('; '));
    // Health-check verdicts only (a SIGKILLed worker's passive ejection is news of its own).
    const said = d.of('health').filter((e) => e.healthy === false && d.wallTime(e) >= deletedAt && String(e.detail).startsWith('GET /health')).map((e) => String(e.detail));
    r.check('health lines say "database down: out of rotation, not replaced"', said.length > 0 && said.every((s) => /database down: out of rotation, not replaced/.test(s)), said.join(' | '));
    r.note(`writer: ${acks.filter((a) => a.sentAt <= deletedAt && a.status === 201).length} acknowledged before the rm, ${acks.filter((a) => a.sentAt > deletedAt).length} sent after (all refused); load visits ${mixed.ok} ok / ${mixed.failed} failed`);
    r.check('the lab stops cleanly', (await d.stop()).code === 0, d.stderr.slice(-300));
    return r.done();
  } catch (err) {
    return r.crashed(err);
  } finally {
    await d.cleanup();
  }
}

export const STORE_FAULTS = [lockedDatabase, deletedDatabase];
