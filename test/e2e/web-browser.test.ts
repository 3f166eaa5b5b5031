/**
 * End to end: a real lab (`autoscale start`) with its live page, opened in
 * headless Chromium (Debian's, driven by playwright-core). New points arrive
 * every second; a click on + adds a worker and the decision table and the
 * `command` event say "web"; SIGKILL from the page gets the worker replaced;
 * a load started from the page moves req/s; requests without the token get
 * 401, a cross-origin POST and a foreign Host get 403; when the lab stops the
 * page becomes the run's report. Screenshots (normal, projector, report) go
 * to $AUTOSCALE_SHOTS (default: the test's temp dir).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, isAlive, until } from '../helpers.js';
import { CHROMIUM, launchChromium } from '../../harness/chromium.js';

const BIN = fileURLToPath(new URL('../../bin/autoscale.js', import.meta.url));

/** One raw HTTP request (fetch would not let the test set Host). */
function http(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

test('the live page: points every second, controls through the operator as "web", load from the page, guarded, and the report at the end', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}`, timeout: 180_000 }, async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'autoscale-web-e2e-'));
  const shots = process.env.AUTOSCALE_SHOTS ?? state;
  mkdirSync(shots, { recursive: true });
  const env = { ...process.env, XDG_STATE_HOME: state, HOME: join(state, 'home') };
  const [port, basePort, webPort] = [await freePort(), await freePort(), await freePort()];
  // rps drives scaling, out above 100 req/s per worker and never in: a click on + is not undone by the policy.
  const lab = spawn(
    process.execPath,
    [BIN, 'start', '--json', '--port', String(port), '--base-port', String(basePort), '--metrics-port', '0', '--web-port', String(webPort), '--interval', '1', '--min', '1', '--max', '3', '--metric', 'rps', '--scale-up', '100', '--scale-down', '0', '--warmup', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  let out = '';
  let err = '';
  lab.stdout.on('data', (d) => (out += d));
  lab.stderr.on('data', (d) => (err += d));
  const lines = () => out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const exited = new Promise<number | null>((r) => lab.once('exit', (code) => r(code)));
  t.after(async () => {
    if (lab.exitCode === null && lab.signalCode === null) lab.kill('SIGKILL');
    for (const e of lines()) if (e.type === 'worker' && typeof e.pid === 'number' && isAlive(e.pid)) process.kill(e.pid, 'SIGKILL');
    rmSync(state, { recursive: true, force: true });
  });
  await until('the live page URL and a ready worker', () => /live page: http/.test(err) && lines().some((e) => e.type === 'worker' && e.state === 'ready'), 30_000);
  const url = /live page: (\S+)/.exec(err)![1];
  const token = new URL(url).searchParams.get('token')!;
  assert.equal(new URL(url).host, `127.0.0.1:${webPort}`, 'bound to loopback');
  assert.ok(token.length >= 32, 'a long random token');

  // The guard, over plain HTTP.
  const cookie = `autoscale-${webPort}=${token}`;
  assert.equal((await http(webPort, '/')).status, 401, 'no token: 401');
  assert.equal((await http(webPort, '/?token=wrong')).status, 401, 'wrong token: 401');
  assert.equal((await http(webPort, '/events')).status, 401, 'the stream needs the token too');
  assert.equal((await http(webPort, '/api/history')).status, 401);
  assert.equal((await http(webPort, `/?token=${token}`, { headers: { host: `evil.example:${webPort}` } })).status, 403, 'foreign Host (DNS rebinding): 403');
  const post = (headers: Record<string, string>) => http(webPort, '/api/command', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"cmd":"pause"}' });
  assert.equal((await post({ cookie, 'x-autoscale-token': token, origin: 'http://evil.example' })).status, 403, 'cross-origin POST: 403');
  assert.equal((await post({ cookie, 'x-autoscale-token': token, 'sec-fetch-site': 'cross-site' })).status, 403, 'cross-site POST: 403');
  assert.equal((await post({ cookie })).status, 401, 'a POST without the token header: 401');
  const home = await http(webPort, `/?token=${token}`);
  assert.equal(home.status, 200);
  assert.doesNotMatch(home.body, /<script>|<style>|\son\w+=/i, 'no inline script, style or handler');
  assert.equal(lines().filter((e) => e.type === 'command').length, 0, 'no refused request reached the operator');

  const { context: browser, cleanup } = await launchChromium({ width: 1400, height: 1000 });
  t.after(cleanup);
  const page = await browser.newPage();
  const foreign: string[] = [];
  const errors: string[] = [];
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(`http://127.0.0.1:${webPort}/`) || u.startsWith('blob:')) return route.continue();
    foreign.push(u);
    return route.abort();
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  await page.goto(url);
  assert.equal(new URL(page.url()).search, '', 'the token left the address bar once the cookie was set');

  // New points every second.
  await page.waitForFunction(() => Number(document.body.getAttribute('data-frames') ?? 0) >= 1, undefined, { timeout: 10_000 });
  type U = { data: (number | null)[][] };
  const lastX = () => page.evaluate(() => {
    const cs = (window as unknown as { __charts: U[] }).__charts;
    const xs = cs[2].data[0];
    return { frames: Number(document.body.getAttribute('data-frames')), x: xs[xs.length - 1] as number, points: xs.length };
  });
  const before = await lastX();
  await page.waitForTimeout(4000);
  const after = await lastX();
  t.diagnostic(`frames ${before.frames} → ${after.frames}, x ${before.x} → ${after.x}`);
  assert.ok(after.frames - before.frames >= 3, `at least 3 frames in 4 s (${after.frames - before.frames})`);
  assert.ok(after.x - before.x >= 2.5 && after.x - before.x <= 5.5, `the charts moved on by about 4 s (${after.x - before.x})`);
  assert.ok(after.points > before.points, 'new points on the chart');

  // + adds a worker: the operator's path, source "web".
  await page.click('#scale-up');
  await until('a command event from the web', () => lines().some((e) => e.type === 'command' && e.source === 'web'), 10_000);
  const cmd = lines().find((e) => e.type === 'command' && e.source === 'web')!;
  assert.equal(cmd.command, 'scale +1');
  assert.equal(cmd.ok, true);
  await page.waitForFunction(() => document.querySelectorAll('#workers-table tbody tr.state-ready').length >= 2, undefined, { timeout: 20_000 });
  const decision = await page.$$eval('#decision-table tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  t.diagnostic(JSON.stringify(decision));
  assert.ok(decision.some((r) => r[1] === '1 → 2' && r[2] === 'manual' && /via the web page/.test(r[3] ?? '')), 'the decision table says the web page scaled');
  assert.match(await page.textContent('#result') ?? '', /scaling 1 → 2/);
  assert.match(await page.textContent('#log') ?? '', /scale \+1 \(manual via web\)/);

  // A load from the page moves req/s.
  await page.selectOption('#load-mode', 'threads');
  await page.fill('#load-level', '2');
  await page.fill('#load-duration', '8');
  await page.click('#load-start');
  await page.waitForFunction(() => parseFloat(document.getElementById('rps')!.textContent ?? '0') > 0, undefined, { timeout: 15_000 });
  await page.waitForFunction(() => /running: 2 threads/.test(document.getElementById('load-status')!.textContent ?? ''), undefined, { timeout: 5000 });
  const rps = await page.evaluate(() => Math.max(...((window as unknown as { __charts: U[] }).__charts[2].data[1].filter((v) => v !== null) as number[])));
  assert.ok(rps > 0, `req/s on the chart (${rps})`);
  await page.screenshot({ path: join(shots, 'live-normal.png'), fullPage: true });
  await page.click('#projector-toggle');
  await page.waitForTimeout(1500);
  assert.match(page.url(), /projector=1/);
  await page.screenshot({ path: join(shots, 'live-projector.png') });
  await page.click('#projector-toggle');
  await page.waitForFunction(() => /finished: /.test(document.getElementById('load-status')!.textContent ?? ''), undefined, { timeout: 20_000 });
  assert.match(await page.textContent('#load-summary') ?? '', /GET http:\/\/127\.0\.0\.1:\d+\//);

  // SIGKILL a worker from the page: it is replaced.
  const victim = await page.$eval('#signal-worker', (s) => Number((s as HTMLSelectElement).value));
  await page.click('#sigkill');
  await until('the killed worker crashed', () => lines().some((e) => e.type === 'worker' && e.id === victim && e.state === 'crashed'), 15_000);
  assert.ok(lines().some((e) => e.type === 'command' && e.source === 'web' && e.command === `SIGKILL worker ${victim}` && e.ok === true));

  // The lab stops: the page becomes the report.
  lab.kill('SIGTERM');
  await page.waitForSelector('#report:not([hidden])', { timeout: 30_000 });
  await page.waitForFunction(() => (document.getElementById('download') as HTMLAnchorElement | null)?.href.startsWith('blob:') === true, undefined, { timeout: 10_000 });
  assert.match(await page.textContent('#banner') ?? '', /The lab stopped \(received SIGTERM\)\. This page is now the run’s report/);
  assert.match(await page.textContent('#lab-state') ?? '', /STOPPED/);
  const summary = await page.$$eval('#summary tr', (trs) => trs.map((tr) => tr.textContent ?? ''));
  assert.ok(summary.some((r) => /^Requests through the balancer/.test(r)), 'the report summary');
  const whole = await page.evaluate(() => (window as unknown as { __charts: { scales: { x: { min: number; max: number } } }[] }).__charts.map((u) => u.scales.x));
  assert.ok(whole.every((x) => x.min === 0 && x.max >= after.x), `every chart shows the whole run from its start (${JSON.stringify(whole)})`);
  await page.screenshot({ path: join(shots, 'live-report.png'), fullPage: true });
  assert.equal(await exited, 0);
  assert.deepEqual(foreign, [], 'nothing loaded from the network');
  assert.deepEqual(errors, []);
});
