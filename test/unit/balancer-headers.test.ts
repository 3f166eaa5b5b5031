import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardRequestHeaders, forwardResponseHeaders } from '../../src/balancer/headers.js';

/** Flat [k, v, …] -> list of "k: v" lines, for readable comparisons. */
function lines(flat: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push(`${flat[i]}: ${flat[i + 1]}`);
  return out;
}

test('request headers: hop-by-hop and Connection-named headers dropped, X-Forwarded-* set', () => {
  const raw = [
    'Host', 'lab.local:8000',
    'Connection', 'keep-alive, X-Private',
    'Keep-Alive', 'timeout=5',
    'Proxy-Connection', 'keep-alive',
    'TE', 'trailers',
    'Trailer', 'X-Sum',
    'Upgrade', 'h2c',
    'Proxy-Authorization', 'Basic abc',
    'X-Private', 'secret',
    'Accept', 'application/json',
    'X-Forwarded-Proto', 'https',
    'X-Forwarded-Host', 'spoofed',
    'Expect', '100-continue',
  ];
  const { headers, hasBody } = forwardRequestHeaders(raw, '127.0.0.1');
  assert.deepEqual(lines(headers), [
    'Host: lab.local:8000',
    'Accept: application/json',
    'x-forwarded-for: 127.0.0.1',
    'x-forwarded-proto: http',
    'x-forwarded-host: lab.local:8000',
  ]);
  assert.equal(hasBody, false);
});

test('request headers: X-Forwarded-For is appended to (all incoming values, in order)', () => {
  const raw = ['X-Forwarded-For', '10.0.0.1', 'host', 'h', 'x-forwarded-for', '10.0.0.2, 10.0.0.3'];
  const { headers } = forwardRequestHeaders(raw, '127.0.0.1');
  assert.ok(lines(headers).includes('x-forwarded-for: 10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.1'));
  assert.equal(headers.filter((h) => h.toLowerCase() === 'x-forwarded-for').length, 1);
});

test('request headers: body detection', () => {
  const cases: Array<{ raw: string[]; hasBody: boolean; keeps: string[] }> = [
    { raw: [], hasBody: false, keeps: [] },
    { raw: ['Content-Length', '0'], hasBody: false, keeps: ['Content-Length: 0'] },
    { raw: ['Content-Length', '12'], hasBody: true, keeps: ['Content-Length: 12'] },
    // chunked: a body, but the framing header itself is hop-by-hop
    { raw: ['Transfer-Encoding', 'chunked'], hasBody: true, keeps: [] },
  ];
  for (const c of cases) {
    const got = forwardRequestHeaders(c.raw, undefined);
    assert.equal(got.hasBody, c.hasBody, JSON.stringify(c.raw));
    assert.deepEqual(lines(got.headers).filter((l) => !l.startsWith('x-forwarded')), c.keeps, JSON.stringify(c.raw));
    assert.ok(!got.headers.includes('x-forwarded-for'), 'no client address, no X-Forwarded-For invented');
  }
});

test('response headers: hop-by-hop and Connection-named dropped, repeated headers kept, X-Served-By added', () => {
  const raw = [
    'Content-Type', 'text/plain',
    'content-length', '2',
    'Connection', 'keep-alive, X-Secret',
    'Keep-Alive', 'timeout=5',
    'Transfer-Encoding', 'chunked',
    'proxy-authenticate', 'Basic',
    'Trailer', 'x-sum',
    'upgrade', 'websocket',
    'x-secret', 'no',
    'X-Served-By', 'forged',
    'set-cookie', 'a=1',
    'Set-Cookie', 'b=2',
    'X-Latin1', 'caf\u00e9',
  ].map((x) => Buffer.from(x, 'latin1'));
  const out = forwardResponseHeaders(raw, 'worker-3@5002');
  assert.deepEqual(lines(out), [
    'Content-Type: text/plain',
    'content-length: 2',
    'set-cookie: a=1',
    'Set-Cookie: b=2',
    'X-Latin1: caf\u00e9',
    'x-served-by: worker-3@5002',
  ]);
});

test('a Connection token never strips the framing headers or Host (request and response)', () => {
  const raw = ['Host', 'h', 'Connection', 'content-length, Transfer-Encoding, host, X-Gone', 'Content-Length', '5', 'X-Gone', '1'];
  const got = forwardRequestHeaders(raw, undefined);
  assert.equal(got.hasBody, true, 'the body is still seen');
  assert.deepEqual(lines(got.headers).filter((l) => !l.startsWith('x-forwarded')), ['Host: h', 'Content-Length: 5']);
  const te = forwardRequestHeaders(['Connection', 'transfer-encoding', 'Transfer-Encoding', 'chunked'], undefined);
  assert.equal(te.hasBody, true);
  const out = forwardResponseHeaders(['connection', 'content-length, x-gone', 'content-length', '2', 'x-gone', '1'], 'worker-1@5000');
  assert.deepEqual(lines(out), ['content-length: 2', 'x-served-by: worker-1@5000']);
});
