/** The control socket itself: garbage in, permissions, a stale socket left by a killed process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControl } from '../../src/control/attach.js';
import { sendRequest } from '../../src/control/client.js';
import { CONTROL_LIMITS, ControlServer, probeSocket } from '../../src/control/server.js';
import { sleep, startLab, until } from '../helpers.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-sock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Write raw bytes to the socket, collect reply lines until `n` arrived. */
async function raw(path: string, data: string, n: number): Promise<Array<Record<string, unknown>>> {
  const s = connect(path);
  s.setEncoding('utf8');
  let buf = '';
  s.on('data', (d: string) => (buf += d));
  s.write(data);
  await until(`${n} replies`, () => buf.split('\n').filter(Boolean).length >= n || s.destroyed, 5000);
  s.destroy();
  return buf.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('garbage on the socket gets error replies and a logged event; the lab keeps answering', async (t) => {
  const cpu = { value: 20 };
  const { lab, events } = await startLab(t, {}, cpu);
  const control = await openControl(lab);
  t.after(() => control.close());
  const replies = await raw(control.path, 'hello\n[]\n{"cmd":"launch"}\n{"cmd":"scale","n":-1}\n{"cmd":"refresh","minHealthy":300}\n\n', 5);
  assert.deepEqual(
    replies.map((r) => [r.ok, r.code]),
    Array(5).fill([false, 'AS_ERR_CONTROL_PROTOCOL']),
  );
  assert.match(String(replies[2].message), /^unknown command "launch" \(expected one of: status, scale, pause, resume, refresh, stop, experiment\)$/);
  // A line longer than 64 KiB: an error, and the connection is closed.
  const huge = await raw(control.path, 'x'.repeat(70_000), 1);
  assert.match(String(huge[0].message), /longer than 65536 bytes/);
  // Logged: the first at once, the other five within the same second as one summary line (at most one event a second).
  const logged = () => events.filter((e) => e.type === 'command' && !e.ok) as Array<{ message: string }>;
  await until('the summary of the held bad messages', () => logged().length === 2, 5000);
  assert.match(logged()[0].message, /^malformed message: not JSON/);
  assert.match(logged()[1].message, /^5 more invalid requests in \d+\.\d s, not logged one by one \(the last: malformed message: a request line is longer than 65536 bytes\)$/);
  const status = await sendRequest(control.path, { cmd: 'status' });
  assert.equal(status.ok, true);
  assert.equal((status as { data: { settings: { max: number } } }).data.settings.max, 5);
});

test('the socket is mode 0600 and refuses another user', async (t) => {
  const dir = tempDir(t);
  chmodSync(dir, 0o755); // only the socket's own mode stands between another user and the lab
  const server = await ControlServer.listen(dir, {
    handle: async () => ({ type: 'result', ok: true, message: 'hi' }),
    onBadMessage: () => {},
  });
  t.after(() => server.close());
  assert.equal(statSync(server.path).mode & 0o777, 0o600);
  assert.ok(statSync(server.path).isSocket());
  assert.equal((await sendRequest(server.path, { cmd: 'status' })).message, 'hi');
  if (process.getuid?.() !== 0) {
    t.diagnostic('not root: cannot become another user to try the socket; mode checked only');
    return;
  }
  // As root (CI), a child that switched to `nobody` tries to connect: the kernel refuses it (EACCES).
  const probe = `require('net').connect(${JSON.stringify(server.path)}).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',(e)=>{console.log(e.code);process.exit(0)})`;
  const r = spawnSync(process.execPath, ['-e', probe], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.stdout.trim(), 'EACCES', r.stderr);
});

test('a stale socket left by a SIGKILLed process is removed at listen; a live one is never replaced', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'control.sock');
  const holder = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => void (holder.exitCode === null && holder.kill('SIGKILL')));
  await once(holder.stdout, 'data');
  const handler = { handle: async () => ({ type: 'result' as const, ok: true as const, message: 'new lab' }), onBadMessage: () => {} };
  await assert.rejects(ControlServer.listen(dir, handler), { code: 'AS_ERR_LAB_RUNNING' });
  holder.kill('SIGKILL');
  await once(holder, 'exit');
  assert.ok(existsSync(path), 'SIGKILL leaves the socket file');
  const server = await ControlServer.listen(dir, handler);
  t.after(() => server.close());
  assert.equal((await sendRequest(path, { cmd: 'status' })).message, 'new lab');
});

/** A server with a trivial handler, counting bad-message reports. */
async function plainServer(t: { after: (fn: () => unknown) => void }, limits: Partial<typeof CONTROL_LIMITS> = {}) {
  const dir = tempDir(t);
  const bad: string[] = [];
  const server = await ControlServer.listen(
    dir,
    { handle: async (r) => ({ type: 'result', ok: true, message: `did ${r.cmd}` }), onBadMessage: (m) => bad.push(m) },
    { ...CONTROL_LIMITS, ...limits },
  );
  t.after(() => server.close());
  return { server, bad };
}

function idleClient(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    s.on('error', () => {});
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

test('80 idle connections do not lock the operator out: status still answers (the longest-idle one makes room)', async (t) => {
  const { server } = await plainServer(t);
  const idle: Socket[] = [];
  t.after(() => idle.forEach((s) => s.destroy()));
  for (let i = 0; i < 80; i++) idle.push(await idleClient(server.path));
  const reply = await sendRequest(server.path, { cmd: 'status' });
  assert.equal(reply.message, 'did status');
  assert.ok(server.connections <= CONTROL_LIMITS.maxConnections, `${server.connections} open`);
});

test('an idle connection is closed after the idle limit, and dribbling bytes without a newline does not extend it', async (t) => {
  const { server } = await plainServer(t, { idleMs: 300 });
  const quiet = await idleClient(server.path);
  const dribbler = await idleClient(server.path);
  t.after(() => [quiet, dribbler].forEach((s) => s.destroy()));
  let said = '';
  quiet.setEncoding('utf8').on('data', (d: string) => (said += d));
  const drip = setInterval(() => dribbler.writable && dribbler.write('x'), 50);
  t.after(() => clearInterval(drip));
  const t0 = Date.now();
  await until('both closed', () => quiet.destroyed || quiet.readableEnded, 3000);
  await until('the dribbler closed too', () => dribbler.destroyed || dribbler.readableEnded, 3000);
  assert.ok(Date.now() - t0 < 2000);
  assert.match(said, /closed: no request within 0 s|closed: no request within/);
  // A request in progress is never timed out: a handler slower than the idle limit still answers.
  const dir = tempDir(t);
  const slow = await ControlServer.listen(dir, { handle: async () => { await sleep(600); return { type: 'result', ok: true, message: 'slow done' }; }, onBadMessage: () => {} }, { ...CONTROL_LIMITS, idleMs: 200 });
  t.after(() => slow.close());
  assert.equal((await sendRequest(slow.path, { cmd: 'refresh', minHealthy: 90 })).message, 'slow done');
});

test('a flood of bad lines: at most one invalid-request report a second (the rest summarised with a count), bounded memory, status answers at once', async (t) => {
  const { server, bad } = await plainServer(t);
  const line = 'not json\n';
  const flood: Socket[] = [];
  t.after(() => flood.forEach((s) => s.destroy()));
  const t0 = Date.now();
  // 200 connections × 500 bad lines each, never reading a reply.
  for (let i = 0; i < 200; i++) {
    const s = await idleClient(server.path);
    s.write(line.repeat(500));
    flood.push(s);
  }
  const s0 = Date.now();
  const reply = await sendRequest(server.path, { cmd: 'status' });
  assert.equal(reply.message, 'did status');
  assert.ok(Date.now() - s0 < 2000, `status took ${Date.now() - s0} ms`);
  await until('every flooding connection closed by the lab', () => server.connections === 0, 5000);
  await sleep(1200);
  const seconds = (Date.now() - t0) / 1000;
  assert.ok(bad.length <= Math.ceil(seconds) + 1, `${bad.length} reports in ${seconds.toFixed(1)} s`);
  const counted = bad.slice(1).reduce((n, m) => n + Number(/^(\d+) more invalid requests?/.exec(m)?.[1] ?? 0), 1);
  // Each connection queued more than 32 lines at once: refused and closed, and counted once.
  assert.ok(counted >= 200, `${counted} refusals counted`);
  assert.match(bad.at(-1)!, /the last: too many requests queued on one connection/);
});

test('a control.sock that is a regular file or a dangling symlink: one clear error, the file is left alone', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'control.sock');
  writeFileSync(path, 'my notes');
  const handler = { handle: async () => ({ type: 'result' as const, ok: true as const, message: 'x' }), onBadMessage: () => {} };
  await assert.rejects(ControlServer.listen(dir, handler), (err: Error & { code?: string }) => err.code === 'AS_ERR_RUN_DIR' && /is a regular file, not a control socket; it was left alone/.test(err.message));
  assert.equal(readFileSync(path, 'utf8'), 'my notes');
  rmSync(path);
  symlinkSync(join(dir, 'nowhere'), path);
  await assert.rejects(ControlServer.listen(dir, handler), /is a symlink, not a control socket/);
  assert.ok(lstatSync(path).isSymbolicLink());
});

test('every slot busy: a newcomer displaces a connection with queued or invalid requests, never one carrying out a single valid request', async (t) => {
  const dir = tempDir(t);
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  const server = await ControlServer.listen(
    dir,
    { handle: async (r) => (r.cmd === 'pause' ? (await held, { type: 'result', ok: true, message: 'paused' }) : { type: 'result', ok: true, message: `did ${r.cmd}` }), onBadMessage: () => {} },
    { ...CONTROL_LIMITS, maxConnections: 4 },
  );
  t.after(async () => {
    release();
    await server.close();
  });
  const conns: Socket[] = [];
  t.after(() => conns.forEach((s) => s.destroy()));
  // Four slots, each carrying out one valid (slow) request: a newcomer is told to come back.
  for (let i = 0; i < 4; i++) {
    const s = (await idleClient(server.path))!;
    s.write('{"cmd":"pause"}\n');
    conns.push(s);
  }
  await sleep(100);
  const refused = await sendRequest(server.path, { cmd: 'status' });
  assert.equal(refused.ok, false);
  assert.match(refused.message, /^all 4 control connections are busy; try again in a moment$/);
  // One of them queues a second request behind its first: it is the one displaced for the operator.
  conns[2].write('{"cmd":"pause"}\n');
  await sleep(100);
  const served = await sendRequest(server.path, { cmd: 'status' });
  assert.equal(served.message, 'did status');
  await until('the queueing connection was closed', () => conns[2].destroyed || conns[2].readableEnded || server.connections <= 4, 3000);
});

test('a lab too busy to accept (full accept queue, EAGAIN) is live, never taken for stale: its socket is not removed', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'control.sock');
  // A listener that never accepts: its event loop is stuck, so the kernel's queue fills up.
  const stuck = spawn(process.execPath, ['-e', `require('net').createServer().listen({ path: ${JSON.stringify(path)}, backlog: 1 }, () => { console.log('up'); for (;;) {} })`], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => void (stuck.exitCode === null && stuck.kill('SIGKILL')));
  await once(stuck.stdout, 'data');
  const fill: Socket[] = [];
  t.after(() => fill.forEach((s) => s.destroy()));
  let sawBusy = false;
  for (let i = 0; i < 50 && !sawBusy; i++) {
    const s = connect(path);
    fill.push(s);
    sawBusy = await new Promise<boolean>((r) => {
      s.once('connect', () => r(false));
      s.once('error', (e: NodeJS.ErrnoException) => r(e.code === 'EAGAIN'));
    });
  }
  if (!sawBusy) {
    t.skip('this kernel queues every connect (no EAGAIN)');
    return;
  }
  assert.equal(await probeSocket(path, 500), 'live');
  const handler = { handle: async () => ({ type: 'result' as const, ok: true as const, message: 'x' }), onBadMessage: () => {} };
  await assert.rejects(ControlServer.listen(dir, handler), { code: 'AS_ERR_LAB_RUNNING' });
  assert.ok(existsSync(path), 'the busy lab keeps its socket');
});
