/**
 * The live page's event streams over real sockets: correct SSE framing, at
 * most `max` streams at once (the next gets 503 from the server), and a
 * client that stops reading is dropped once its stream holds more than its
 * bound, instead of the server buffering without limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, get, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { EventStreams, frame } from '../../src/web/sse.js';

test('frame: one data line per line of the text, a blank line after', () => {
  assert.equal(frame('frame', '{"a":1}').toString(), 'event: frame\ndata: {"a":1}\n\n');
  assert.equal(frame('log', 'one\ntwo\r\nthree').toString(), 'event: log\ndata: one\ndata: two\ndata: three\n\n');
  assert.throws(() => frame('a\nb', 'x'));
});

async function serve(streams: EventStreams) {
  const server = createServer((req, res) => {
    if (!streams.open(res, [frame('hello', '{}')])) {
      res.writeHead(503);
      res.end('too many\n');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

test('at most max streams; the next one is refused, and a closed one frees its place', async (t) => {
  const streams = new EventStreams({ max: 3 });
  const { server, port } = await serve(streams);
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const open = (): Promise<IncomingMessage> => new Promise((resolve) => get({ host: '127.0.0.1', port, path: '/' }, resolve));
  const a = await Promise.all([open(), open(), open()]);
  assert.deepEqual(a.map((r) => r.statusCode), [200, 200, 200]);
  assert.equal(a[0].headers['content-type'], 'text/event-stream; charset=utf-8');
  const fourth = await open();
  assert.equal(fourth.statusCode, 503);
  fourth.resume();
  a[0].destroy();
  await until(() => streams.size === 2);
  const again = await open();
  assert.equal(again.statusCode, 200);
  for (const r of [...a, again]) r.destroy();
});

test('a client that stops reading is dropped at its bound; one that reads keeps its stream', async (t) => {
  const bound = 256 * 1024;
  const streams = new EventStreams({ max: 4, maxBufferedBytes: bound });
  const { server, port } = await serve(streams);
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  // A raw socket that sends its request and then never reads a byte.
  const stalled = connect(port, '127.0.0.1');
  stalled.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  stalled.pause();
  let closed = false;
  stalled.on('close', () => (closed = true));
  stalled.on('error', () => {});
  // A browser-like client that reads everything.
  let received = 0;
  const reader = await new Promise<IncomingMessage>((resolve) => get({ host: '127.0.0.1', port, path: '/' }, resolve));
  reader.on('data', (d: Buffer) => (received += d.length));
  await until(() => streams.size === 2);
  const message = frame('frame', 'x'.repeat(16 * 1024));
  let sent = 0;
  // Kernel socket buffers take the first megabytes; past them the stalled stream's own buffer grows to the bound.
  while (streams.dropped === 0 && sent < 256 * 1024 * 1024) {
    streams.broadcast(message);
    sent += message.length;
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(streams.dropped, 1, `dropped after ${sent} bytes`);
  assert.equal(streams.size, 1, 'the reading client still has its stream');
  // The server ended it: once the client reads again it finds the stream cut short.
  stalled.resume();
  await until(() => closed);
  streams.broadcast(frame('frame', 'after'));
  await until(() => received >= sent, 30_000);
  reader.destroy();
  stalled.destroy();
});

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
