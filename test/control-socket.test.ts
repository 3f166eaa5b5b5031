/** The control socket itself: garbage in, permissions, a stale socket left by a killed process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openControl } from '../src/control/attach.js';
import { sendRequest } from '../src/control/client.js';
import { ControlServer } from '../src/control/server.js';
import { startLab, until } from './helpers.js';

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
  assert.match(String(replies[2].message), /^unknown command "launch" \(expected one of: status, scale, pause, resume, refresh, stop\)$/);
  // A line longer than 64 KiB: an error, and the connection is closed.
  const huge = await raw(control.path, 'x'.repeat(70_000), 1);
  assert.match(String(huge[0].message), /longer than 65536 bytes/);
  const logged = events.filter((e) => e.type === 'command' && !e.ok);
  assert.equal(logged.length, 6);
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
