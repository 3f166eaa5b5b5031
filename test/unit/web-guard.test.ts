/**
 * The live page's guard, table-driven: the token (URL, then cookie; POSTs
 * also in a header), the Host (DNS rebinding) and the Origin. Pure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRequest, cookieValue, type GuardRequest } from '../../src/web/guard.js';
import { allowedHosts } from '../../src/web/server.js';

const TOKEN = 'k3y-0123456789abcdefghijklmnopqrstu';
const cfg = { token: TOKEN, hosts: allowedHosts('127.0.0.1', 9465), cookieName: 'autoscale-9465' };
const base: GuardRequest = { method: 'GET', url: '/', host: '127.0.0.1:9465', origin: undefined, fetchSite: undefined, cookie: undefined, tokenHeader: undefined };
const cookie = `other=1; autoscale-9465=${TOKEN}`;

const cases: { name: string; req: Partial<GuardRequest>; want: number | 'ok' | 'ok+cookie' }[] = [
  { name: 'no token at all', req: {}, want: 401 },
  { name: 'the token in the URL: ok, and the cookie is set', req: { url: `/?token=${TOKEN}&projector=1` }, want: 'ok+cookie' },
  { name: 'a wrong token in the URL', req: { url: '/?token=nope' }, want: 401 },
  { name: 'a token one character short', req: { url: `/?token=${TOKEN.slice(0, -1)}` }, want: 401 },
  { name: 'the cookie', req: { cookie }, want: 'ok' },
  { name: 'the cookie of another port (another lab on this machine)', req: { cookie: `autoscale-9466=${TOKEN}` }, want: 401 },
  { name: 'localhost names this server too', req: { cookie, host: 'localhost:9465' }, want: 'ok' },
  { name: 'a foreign Host (DNS rebinding), even with the cookie', req: { cookie, host: 'evil.example:9465' }, want: 403 },
  { name: 'the right name on another port', req: { cookie, host: '127.0.0.1:80' }, want: 403 },
  { name: 'no Host header', req: { cookie, host: undefined }, want: 403 },
  { name: 'a GET from a page elsewhere (Origin set)', req: { cookie, origin: 'http://evil.example' }, want: 403 },
  { name: 'opening the URL from a link on another site (navigation, no Origin)', req: { url: `/?token=${TOKEN}`, fetchSite: 'cross-site' }, want: 'ok+cookie' },
  { name: 'POST with cookie and header, same origin', req: { method: 'POST', cookie, tokenHeader: TOKEN, origin: 'http://127.0.0.1:9465', fetchSite: 'same-origin' }, want: 'ok' },
  { name: 'POST with the cookie only (a form cannot set the header)', req: { method: 'POST', cookie, origin: 'http://127.0.0.1:9465' }, want: 401 },
  { name: 'POST with the header only', req: { method: 'POST', tokenHeader: TOKEN }, want: 401 },
  { name: 'POST with the token in the URL is not enough', req: { method: 'POST', url: `/api/command?token=${TOKEN}`, tokenHeader: TOKEN }, want: 401 },
  { name: 'cross-origin POST', req: { method: 'POST', cookie, tokenHeader: TOKEN, origin: 'http://evil.example' }, want: 403 },
  { name: 'cross-site POST (Sec-Fetch-Site)', req: { method: 'POST', cookie, tokenHeader: TOKEN, fetchSite: 'cross-site' }, want: 403 },
  { name: 'same-site but other origin POST', req: { method: 'POST', cookie, tokenHeader: TOKEN, fetchSite: 'same-site' }, want: 403 },
  { name: 'PUT', req: { method: 'PUT', cookie }, want: 405 },
  { name: 'HEAD (no stream opened for it)', req: { method: 'HEAD', cookie }, want: 405 },
];

for (const c of cases) {
  test(`guard: ${c.name}`, () => {
    const v = checkRequest({ ...base, ...c.req }, cfg);
    if (c.want === 'ok' || c.want === 'ok+cookie') {
      assert.equal(v.ok, true, JSON.stringify(v));
      assert.equal(v.ok && v.fromQuery, c.want === 'ok+cookie');
    } else {
      assert.equal(v.ok, false);
      assert.equal(!v.ok && v.status, c.want, JSON.stringify(v));
    }
  });
}

test('allowed hosts: loopback names, IPv6 in brackets, every interface for a wildcard bind', () => {
  assert.deepEqual([...allowedHosts('127.0.0.1', 8080)].sort(), ['127.0.0.1:8080', 'localhost:8080']);
  assert.deepEqual([...allowedHosts('::1', 8080)].sort(), ['[::1]:8080', 'localhost:8080']);
  const any = allowedHosts('0.0.0.0', 8080);
  assert.ok(any.has('127.0.0.1:8080') && any.has('localhost:8080') && any.has('0.0.0.0:8080'));
  assert.ok(!any.has('evil.example:8080'));
});

test('cookieValue reads one cookie out of many', () => {
  assert.equal(cookieValue('a=1; autoscale-1=x; b=2', 'autoscale-1'), 'x');
  assert.equal(cookieValue('autoscale-10=x', 'autoscale-1'), undefined);
  assert.equal(cookieValue(undefined, 'a'), undefined);
});
