/**
 * Balancer benchmark: throughput and latency through our balancer versus one
 * worker hit directly and versus nginx round-robin (upstream keepalive) over
 * the same 2 workers, with the same load tool and settings, in the same run.
 * Two references bound what any Node front end can do here: a bare node:http
 * server answering a constant body (the ceiling for a JS front end: parsing a
 * request and writing a response, nothing forwarded) and one worker reached
 * directly. Another variant runs the balancer with a synchronous 8 ms block every 3 s
 * on its event loop (what systeminformation.currentLoad() costs on Linux), to
 * show whether the CPU sampler may share the proxy's loop.
 * With --profile the balancer runs under --cpu-prof and the run ends with
 * where its samples went (undici, node:http, streams, timers, GC, ours).
 *
 *   node --import tsx bench/balancer.ts [--duration 10] [--connections 50] [--threads 1] [--rounds 2] [--warmup 2] [--settle 10] [--profile] [--only lean,undici]
 *
 * --settle: seconds of load each target gets once before the first round. A Node front end needs
 * tens of seconds of traffic before its CPU per request settles (V8 tiers the hot paths up, the
 * young generation grows to its working size): without it, round 1 measured the warm-up (up to
 * 1.5x the later rounds' CPU per request), not the front end a lab runs for minutes.
 *
 * --only keeps some targets (constant, bare-proxy, bare-socket-proxy, bare-llhttp-proxy, lean (the balancer), undici, node-client, l4, block; nginx and direct,
 * the references of every ratio, always run): a quicker loop while working on one path.
 *
 * Needs wrk and nginx on PATH (Debian: apt-get install -y wrk nginx) and the
 * compiled worker dist/app/main.js (npm run build); without the latter it
 * falls back to two tiny node:http servers and says so.
 * Every child (workers, balancers, nginx) and the temp dir are cleaned up on
 * every exit path, Ctrl+C included.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool, type Dispatcher } from 'undici';
import { Balancer, type ClientSideKind } from '../src/balancer/balancer.js';
import type { UpstreamKind } from '../src/balancer/upstream.js';
import { L4Balancer } from '../src/balancer/l4.js';
import type { FromWorker } from '../src/app/protocol.js';
import type { TrafficStats } from '../src/events.js';
import { LatencyWindow } from '../src/lab/observe.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), '..');
const WORKER_ENTRY = join(ROOT, 'dist/app/main.js');
/** The compiled balancer, what `autoscale start` runs (npm run bench builds it first); the TypeScript source through tsx otherwise. */
const BALANCER_DIST = join(ROOT, 'dist/balancer/balancer.js');
const HOST = '127.0.0.1';

// ---------------------------------------------------------------- child roles

/** Child role: the L4 balancer with two workers of its own (it hands connections to them over their IPC channels). */
async function serveL4(): Promise<void> {
  const balancer = new L4Balancer({ host: HOST, port: 0 });
  await balancer.listen();
  const pids: number[] = [];
  const workers: ChildProcess[] = [];
  for (let id = 1; id <= 2; id++) {
    const w = fork(WORKER_ENTRY, ['--id', String(id), '--port', '0', '--host', HOST, '--work', '0'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [] });
    workers.push(w);
    const m = await nextMessage<{ type: string; port: number }>(w, `L4 worker ${id}`);
    balancer.addWorker({ id, host: HOST, port: m.port, channel: w });
    w.on('message', (r: FromWorker) => {
      if (r.type === 'stats') balancer.report(id, r);
    });
    pids.push(w.pid as number);
  }
  process.once('disconnect', () => {
    void balancer.close();
    for (const w of workers) w.kill('SIGTERM');
  });
  process.send?.({ port: balancer.port, workerPids: pids });
}

/** Child role: a bare node:http server answering a constant JSON body of a worker's size (the JS ceiling). */
async function serveConstant(): Promise<void> {
  const body = Buffer.from(JSON.stringify({ id: 1, port: 40000, pid: process.pid, requests: 123456, work: 0 }));
  const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };
  const server = createServer((_req, res) => {
    res.writeHead(200, headers);
    res.end(body);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  process.once('disconnect', () => {
    server.closeAllConnections();
    server.close();
  });
  process.send?.({ port: (server.address() as AddressInfo).port });
}

/**
 * Child role: the least a node:http + undici proxy can do — round robin over the same workers
 * through the same undici Pools, the same raw-header dispatch handler shape, and nothing else
 * (no header rules, deadlines, retries, statistics or health checks). Not a usable balancer:
 * the floor any JS balancer built on these two libraries sits on.
 */
async function serveBareProxy(config: { ports: number[] }): Promise<void> {
  const pools = config.ports.map((port) => new Pool(`http://${HOST}:${port}`, { connections: 64 }));
  let next = 0;
  const server = createServer((req, res) => {
    const pool = pools[next];
    next = (next + 1) % pools.length;
    const handler = {
      onConnect() {},
      onHeaders(status: number, raw: Buffer[]) {
        const headers: string[] = [];
        for (let i = 0; i < raw.length; i += 2) {
          const name = raw[i].toString('latin1');
          if (name.length !== 10 || name.toLowerCase() !== 'connection') headers.push(name, raw[i + 1].toString('latin1'));
        }
        res.writeHead(status, headers);
        return true;
      },
      onData(chunk: Buffer) {
        return res.write(chunk);
      },
      onComplete() {
        res.end();
      },
      onError() {
        res.destroy();
      },
    };
    pool.dispatch({ path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers: req.rawHeaders, body: null }, handler as unknown as Dispatcher.DispatchHandler);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  process.once('disconnect', () => {
    server.closeAllConnections();
    server.close();
    for (const p of pools) void p.destroy();
  });
  process.send?.({ port: (server.address() as AddressInfo).port });
}

/** A worker's answer as the floor rows see it: the status line, the headers but Connection and Keep-Alive, the body's bytes. */
interface FloorAnswer {
  statusLine: string;
  /** `name: value\r\n` lines, as the worker wrote them. */
  headerLines: string;
  /** Flat `[name, value, …]`, the same headers. */
  headers: string[];
  buf: Buffer;
  bodyStart: number;
  bodyEnd: number;
}

/**
 * The upstream half of both floor rows: round robin over up to 64 pooled keep-alive sockets per
 * worker (FIFO beyond), a request head written as one string, the answer's head found with indexOf
 * and its Content-Length body taken from the same read. Nothing else: no hop-by-hop rules,
 * statistics, deadlines, retries or strictness, and only the worker's small one-read answers of
 * this bench (the balancer's lean path does all of it properly). Returns `forward(head, owner)`;
 * `answer(owner, a)` gets each answer (its buffer is reused after the call).
 */
function floorUpstream<T>(ports: number[], answer: (owner: T, a: FloorAnswer) => void, failed: (owner: T) => void): { forward(head: string, owner: T): void; close(): void } {
  interface Conn {
    socket: Socket;
    owner: T | null;
    pool: { port: number; idle: Conn[]; queue: Array<{ head: string; owner: T }>; open: number };
  }
  const readBuffer = Buffer.allocUnsafe(64 * 1024);
  const pools = ports.map((port) => ({ port, idle: [] as Conn[], queue: [] as Array<{ head: string; owner: T }>, open: 0 }));
  const send = (c: Conn, head: string, owner: T): void => {
    c.owner = owner;
    c.socket.write(head, 'latin1');
  };
  const onRead = (c: Conn, buf: Buffer, n: number): void => {
    const end = buf.indexOf('\r\n\r\n');
    if (end === -1 || end > n) throw new Error('bench floor proxy: a response head split across reads (not handled by this floor)');
    const head = buf.toString('latin1', 0, end);
    const statusEnd = head.indexOf('\r\n');
    const headers: string[] = [];
    let headerLines = '';
    let length = 0;
    for (let pos = statusEnd + 2; pos < head.length; ) {
      let eol = head.indexOf('\r\n', pos);
      if (eol === -1) eol = head.length;
      const colon = head.indexOf(':', pos);
      const name = head.slice(pos, colon);
      const value = head.slice(colon + 1, eol).trim();
      const line = head.slice(pos, eol + 2);
      pos = eol + 2;
      if (name.length === 14 && name.toLowerCase() === 'content-length') length = Number(value);
      if (name.length === 10 && /^(connection|keep-alive)$/i.test(name)) continue;
      headers.push(name, value);
      headerLines += line.endsWith('\r\n') ? line : `${line}\r\n`;
    }
    const owner = c.owner as T;
    c.owner = null;
    answer(owner, { statusLine: head.slice(0, statusEnd), headerLines, headers, buf, bodyStart: end + 4, bodyEnd: end + 4 + length });
    const queued = c.pool.queue.shift();
    if (queued !== undefined) send(c, queued.head, queued.owner);
    else c.pool.idle.push(c);
  };
  let next = 0;
  return {
    forward(head, owner) {
      const pool = pools[next];
      next = (next + 1) % pools.length;
      let c = pool.idle.pop();
      if (c === undefined && pool.open < 64) {
        pool.open++;
        const conn: Conn = { socket: null as unknown as Socket, owner: null, pool };
        conn.socket = connect({ host: HOST, port: pool.port, noDelay: true, onread: { buffer: readBuffer, callback: (n: number, buf: Uint8Array) => (onRead(conn, buf as Buffer, n), true) } });
        conn.socket.on('error', () => conn.owner !== null && failed(conn.owner));
        c = conn;
      }
      if (c === undefined) pool.queue.push({ head, owner });
      else send(c, head, owner);
    },
    close() {
      for (const p of pools) for (const c of p.idle) c.socket.destroy();
    },
  };
}

/**
 * Child role: the least a node:http front end that forwards over pooled keep-alive sockets does
 * (floorUpstream behind node:http's server). What it costs is the floor for any proxy built on
 * node:http, ours included.
 */
async function serveBareSocketProxy(config: { ports: number[] }): Promise<void> {
  const upstream = floorUpstream<ServerResponse>(
    config.ports,
    (res, a) => {
      res.writeHead(Number(a.statusLine.slice(9, 12)), a.headers);
      res.end(Buffer.from(a.buf.subarray(a.bodyStart, a.bodyEnd)));
    },
    (res) => res.destroy(),
  );
  const server = createServer((req: IncomingMessage, res) => {
    let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    upstream.forward(`${head}x-forwarded-for: ${HOST}\r\n\r\n`, res);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  process.once('disconnect', () => {
    server.closeAllConnections();
    server.close();
    upstream.close();
  });
  process.send?.({ port: (server.address() as AddressInfo).port });
}

/**
 * Child role: the same floorUpstream with no node:http on the client side either: each client
 * connection's bytes go through llhttp (the parser node:http uses, here undici's WebAssembly
 * build, strict by default: no lenient flag set) and each answer is written to the client socket
 * as one string. No IncomingMessage, ServerResponse or stream per request. A measurement of what
 * issue 24's goal would take, not a server: GET without a body only, no pipelining order, no
 * timeouts, no error answers. It reads undici's internal wasm file.
 */
async function serveBareLlhttpProxy(config: { ports: number[] }): Promise<void> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const llhttpConstants = require('undici/lib/llhttp/constants.js') as { METHODS: Record<string, number>; TYPE: { REQUEST: number } };
  const methodNames: string[] = [];
  for (const [name, code] of Object.entries(llhttpConstants.METHODS)) methodNames[code] = name;
  interface ClientState {
    socket: Socket;
    ptr: number;
    url: string;
    headers: string[];
  }
  const upstream = floorUpstream<Socket>(
    config.ports,
    (client, a) => client.write(`${a.statusLine}\r\n${a.headerLines}Connection: keep-alive\r\n\r\n${a.buf.toString('latin1', a.bodyStart, a.bodyEnd)}`, 'latin1'),
    (client) => client.destroy(),
  );
  let current: ClientState | null = null;
  const text = (at: number, len: number): string => Buffer.from(memory.buffer, at, len).toString('latin1');
  const addPart = (at: number, len: number, name: boolean): number => {
    const c = current as ClientState;
    const s = text(at, len);
    // A name or value may arrive in pieces: a new entry starts when the other kind was last.
    if ((c.headers.length % 2 === 0) === name) c.headers.push(s);
    else c.headers[c.headers.length - 1] += s;
    return 0;
  };
  const instance = new WebAssembly.Instance(new WebAssembly.Module(require('undici/lib/llhttp/llhttp-wasm.js') as Uint8Array<ArrayBuffer>), {
    env: {
      wasm_on_url: (_p: number, at: number, len: number) => ((current as ClientState).url += text(at, len), 0),
      wasm_on_status: () => 0,
      wasm_on_message_begin: () => {
        const c = current as ClientState;
        c.url = '';
        c.headers = [];
        return 0;
      },
      wasm_on_header_field: (_p: number, at: number, len: number) => addPart(at, len, true),
      wasm_on_header_value: (_p: number, at: number, len: number) => addPart(at, len, false),
      wasm_on_headers_complete: (p: number) => {
        const c = current as ClientState;
        let head = `${methodNames[ll.llhttp_get_method(p)]} ${c.url} HTTP/1.1\r\n`;
        for (let i = 0; i < c.headers.length; i += 2) head += `${c.headers[i]}: ${c.headers[i + 1]}\r\n`;
        upstream.forward(`${head}x-forwarded-for: ${HOST}\r\n\r\n`, c.socket);
        return 0;
      },
      wasm_on_body: () => 0,
      wasm_on_message_complete: () => 0,
    },
  });
  const ll = instance.exports as unknown as {
    memory: WebAssembly.Memory;
    malloc(n: number): number;
    llhttp_alloc(type: number): number;
    llhttp_free(ptr: number): void;
    llhttp_execute(ptr: number, data: number, len: number): number;
    llhttp_get_method(ptr: number): number;
  };
  const memory = ll.memory;
  const input = ll.malloc(64 * 1024);
  const server = createNetServer({ noDelay: true }, (socket) => {
    const state: ClientState = { socket, ptr: ll.llhttp_alloc(llhttpConstants.TYPE.REQUEST), url: '', headers: [] };
    socket.on('data', (d: Buffer) => {
      new Uint8Array(memory.buffer, input, d.length).set(d);
      current = state;
      const ret = ll.llhttp_execute(state.ptr, input, d.length);
      current = null;
      if (ret !== 0) socket.destroy();
    });
    socket.on('error', () => {});
    socket.once('close', () => ll.llhttp_free(state.ptr));
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  process.once('disconnect', () => {
    server.close();
    upstream.close();
    process.exit(0);
  });
  process.send?.({ port: (server.address() as AddressInfo).port });
}

/** Child role: one balancer on an ephemeral port over the given workers; reports its port over IPC; exits when the parent goes. */
async function serveBalancer(config: { ports: number[]; block: boolean; upstream: UpstreamKind; clientSide: ClientSideKind }): Promise<void> {
  // Compiled JS, as the lab runs it: tsx's output differs (a __name() call for every closure made, for one).
  const { Balancer: Compiled } = existsSync(BALANCER_DIST) ? ((await import(pathToFileURL(BALANCER_DIST).href)) as { Balancer: typeof Balancer }) : { Balancer };
  const balancer = new Compiled({ host: HOST, port: 0, upstream: config.upstream, clientSide: config.clientSide });
  await balancer.listen();
  config.ports.forEach((port, i) => balancer.addWorker({ id: i + 1, host: HOST, port }));
  let blocker: NodeJS.Timeout | null = null;
  if (config.block) {
    blocker = setInterval(() => {
      const end = Date.now() + 8;
      while (Date.now() < end);
    }, 3000);
  }
  process.once('disconnect', () => {
    if (blocker !== null) clearInterval(blocker);
    void balancer.close();
  });
  // The parent asks for the balancer's own view (latency arrival -> finish, inside the process) around each run.
  const latency = new LatencyWindow(() => balancer.latency);
  process.on('message', (m: { type?: string }) => {
    if (m.type === 'snapshot') {
      const { workers: _w, ...counts } = balancer.traffic();
      process.send?.({ type: 'snapshot', stats: { ...counts, ...latency.take() } });
    }
  });
  process.send?.({ port: balancer.port });
}

/** Fallback child role: a tiny node:http worker answering a small JSON (only when dist/app/main.js is missing). */
async function serveTiny(id: number): Promise<void> {
  let n = 0;
  const server = createServer((_req, res) => {
    const body = JSON.stringify({ id, port: (server.address() as AddressInfo).port, pid: process.pid, requests: ++n });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  process.once('disconnect', () => {
    server.closeAllConnections();
    server.close();
  });
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port, pid: process.pid });
}

// ---------------------------------------------------------------- helpers

interface Children {
  procs: ChildProcess[];
  tempDir: string | null;
}

const children: Children = { procs: [], tempDir: null };

function cleanup(): void {
  for (const p of children.procs) {
    if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) {
      if (p.connected) p.disconnect();
      p.kill('SIGTERM');
    }
  }
  if (children.tempDir !== null) rmSync(children.tempDir, { recursive: true, force: true });
  children.tempDir = null;
}

async function waitExit(p: ChildProcess, ms: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const timer = setTimeout(() => p.kill('SIGKILL'), ms);
  await once(p, 'exit');
  clearTimeout(timer);
}

function forkRole(args: string[], execArgv: string[] = []): ChildProcess {
  const p = fork(SELF, args, { execArgv: ['--import', 'tsx', ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.procs.push(p);
  return p;
}

function nextMessage<T>(p: ChildProcess, what: string, ms = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      p.off('message', onMessage);
      p.off('exit', onExit);
    };
    const onMessage = (m: unknown): void => {
      done();
      resolve(m as T);
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`${what} exited early (code ${code})`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: no message within ${ms} ms`));
    }, ms);
    p.on('message', onMessage);
    p.on('exit', onExit);
  });
}

async function startWorkers(count: number): Promise<{ ports: number[]; pids: number[]; real: boolean }> {
  const real = existsSync(WORKER_ENTRY);
  const ports: number[] = [];
  const pids: number[] = [];
  for (let id = 1; id <= count; id++) {
    const p = real
      ? fork(WORKER_ENTRY, ['--id', String(id), '--port', '0', '--host', HOST, '--work', '0'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
      : forkRole(['--serve-tiny', String(id)]);
    if (real) children.procs.push(p);
    const m = await nextMessage<{ type: string; port: number }>(p, `worker ${id}`);
    if (m.type !== 'ready') throw new Error(`worker ${id}: expected a ready message, received ${JSON.stringify(m)}`);
    ports.push(m.port);
    pids.push(p.pid as number);
  }
  return { ports, pids, real };
}

async function freePort(): Promise<number> {
  const s = createServer();
  s.listen(0, HOST);
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitListening(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, HOST);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${HOST}:${port} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startNginx(dir: string, workerPorts: number[]): Promise<{ port: number; pid: number }> {
  const port = await freePort();
  const conf = `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream workers {
${workerPorts.map((p) => `    server ${HOST}:${p};`).join('\n')}
    keepalive 64;
  }
  server {
    listen ${HOST}:${port};
    location / {
      proxy_pass http://workers;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const p = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.procs.push(p);
  p.once('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`nginx exited with code ${code}\n`);
  });
  await waitListening(port, 5000);
  return { port, pid: p.pid as number };
}

// ---------------------------------------------------------------- CPU accounting (Linux /proc)

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

/** User+system CPU seconds a process has used so far (0 once it is gone); `sysOnly` for system time alone. */
function cpuSeconds(pid: number, sysOnly = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    return ((sysOnly ? 0 : Number(f[11])) + Number(f[12])) / CLK_TCK; // fields 14 utime, 15 stime
  } catch {
    return 0;
  }
}

/** `pid` and its direct children (nginx: master + worker). */
function withChildren(pid: number): number[] {
  const pids = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

const cpuOf = (pids: readonly number[], sysOnly = false): number => pids.reduce((sum, pid) => sum + cpuSeconds(pid, sysOnly), 0);

function get(url: string): Promise<{ status: number; servedBy: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, servedBy: res.headers['x-served-by'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

const WRK_SCRIPT = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"p50":%d,"p99":%d,"p999":%d,"max":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
`;

interface WrkResult {
  /** CPU µs per request spent by the proxy process(es) (NaN for direct) and by the two workers together. */
  proxyUs: number;
  proxySysUs: number;
  workersUs: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  errors: number;
}

async function wrk(url: string, s: Settings, seconds: number, script: string): Promise<WrkResult> {
  const p = spawn('wrk', [`-t${s.threads}`, `-c${s.connections}`, `-d${seconds}s`, '-s', script, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.procs.push(p);
  let out = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const [code] = (await once(p, 'exit')) as [number | null];
  const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (code !== 0 || line === undefined) throw new Error(`wrk failed (exit ${code}):\n${out}`);
  const r = JSON.parse(line.slice(8)) as Record<string, number>;
  return {
    proxyUs: Number.NaN,
    proxySysUs: Number.NaN,
    workersUs: Number.NaN,
    requests: r.requests,
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50 / 1000,
    p99: r.p99 / 1000,
    p999: r.p999 / 1000,
    max: r.max / 1000,
    errors: r.connect + r.read + r.write + r.status + r.timeout,
  };
}

interface Settings {
  duration: number;
  connections: number;
  threads: number;
  rounds: number;
  warmup: number;
  settle: number;
  profile: boolean;
  /** Target keys to run (nginx and direct always run); null: all. */
  only: ReadonlySet<string> | null;
}

/** Keys for --only, by target name. */
const TARGET_KEYS: Readonly<Record<string, string>> = {
  'bare node:http (constant)': 'constant',
  'direct (1 worker)': 'direct',
  'bare node:http+undici proxy': 'bare-proxy',
  'bare node:http+socket proxy': 'bare-socket-proxy',
  'bare llhttp+socket proxy': 'bare-llhttp-proxy',
  balancer: 'lean',
  'balancer (undici upstream)': 'undici',
  'balancer (node:http client side)': 'node-client',
  'nginx round-robin': 'nginx',
  'balancer L4': 'l4',
  'balancer + 8ms block/3s': 'block',
};
const ALWAYS = new Set(['nginx', 'direct']);
type BalancerKind = 'plain' | 'block' | 'undici' | 'node';

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
      threads: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '2' },
      warmup: { type: 'string', default: '2' },
      settle: { type: 'string', default: '10' },
      profile: { type: 'boolean', default: false },
      only: { type: 'string' },
    },
  });
  let only: Set<string> | null = null;
  if (values.only !== undefined) {
    const known = new Set(Object.values(TARGET_KEYS));
    only = new Set(values.only.split(',').map((k) => k.trim()));
    for (const k of only) if (!known.has(k)) throw new Error(`--only: expected some of ${[...known].join(', ')}, received ${JSON.stringify(k)}`);
    for (const k of ALWAYS) only.add(k);
  }
  const int = (name: keyof typeof values, min: number): number => {
    const raw = values[name] as string;
    if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`--${name}: expected an integer >= ${min}, received ${JSON.stringify(raw)}`);
    return Number(raw);
  };
  return {
    duration: int('duration', 1),
    connections: int('connections', 1),
    threads: int('threads', 1),
    rounds: int('rounds', 1),
    warmup: int('warmup', 0),
    settle: int('settle', 0),
    profile: values.profile === true,
    only,
  };
}

const fmt = (n: number, d = 2): string => n.toFixed(d);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ')).join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const s = parseSettings(process.argv.slice(2));
  for (const tool of ['wrk', 'nginx']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} not found on PATH (Debian: apt-get install -y wrk nginx)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'autoscale-bench-'));
  children.tempDir = dir;
  const script = join(dir, 'report.lua');
  writeFileSync(script, WRK_SCRIPT);

  const { ports, pids: workerPids, real } = await startWorkers(2);
  // plain: the balancer as `autoscale start` runs it (lean client side, lean upstream); node: its client side on node:http's
  // server (as before issue 24's second step); undici: lean client side, undici's Pool upstream. Both for comparison.
  const balancers: Record<BalancerKind, number> = { plain: 0, block: 0, undici: 0, node: 0 };
  const balancerProcs: Partial<Record<BalancerKind, ChildProcess>> = {};
  const profDir = (kind: string): string => join(dir, `profile-${kind}`);
  for (const kind of ['plain', 'block', 'undici', 'node'] as const) {
    const prof = s.profile && kind !== 'block' ? ['--cpu-prof', `--cpu-prof-dir=${profDir(kind)}`] : [];
    const config = { ports, block: kind === 'block', upstream: kind === 'undici' ? 'undici' : 'lean', clientSide: kind === 'node' ? 'node' : 'lean' };
    const p = forkRole(['--serve-balancer', JSON.stringify(config)], prof);
    balancerProcs[kind] = p;
    balancers[kind] = (await nextMessage<{ port: number }>(p, `balancer (${kind})`)).port;
  }
  const ownView = async (p: ChildProcess | undefined): Promise<TrafficStats | null> => {
    if (p === undefined) return null;
    const reply = nextMessage<{ stats: TrafficStats }>(p, 'balancer snapshot');
    p.send({ type: 'snapshot' });
    return (await reply).stats;
  };
  const nginx = await startNginx(dir, ports);
  const nginxPort = nginx.port;
  const nginxPids = withChildren(nginx.pid);

  const l4 = real ? forkRole(['--serve-l4']) : null;
  const l4Info = l4 === null ? null : await nextMessage<{ port: number; workerPids: number[] }>(l4, 'L4 balancer');
  const bareProxy = forkRole(['--serve-bare-proxy', JSON.stringify({ ports })]);
  const bareProxyPort = (await nextMessage<{ port: number }>(bareProxy, 'bare undici proxy')).port;
  const bareSocketProxy = forkRole(['--serve-bare-socket-proxy', JSON.stringify({ ports })]);
  const bareSocketProxyPort = (await nextMessage<{ port: number }>(bareSocketProxy, 'bare socket proxy')).port;
  const bareLlhttpProxy = forkRole(['--serve-bare-llhttp-proxy', JSON.stringify({ ports })]);
  const bareLlhttpProxyPort = (await nextMessage<{ port: number }>(bareLlhttpProxy, 'bare llhttp proxy')).port;
  const constant = forkRole(['--serve-constant']);
  const constantPort = (await nextMessage<{ port: number }>(constant, 'constant server')).port;

  const allTargets = [
    { name: 'bare node:http (constant)', url: `http://${HOST}:${constantPort}/`, proc: undefined, proxyPids: [constant.pid as number] },
    { name: 'direct (1 worker)', url: `http://${HOST}:${ports[0]}/`, proc: undefined, proxyPids: [] as number[] },
    { name: 'bare node:http+undici proxy', url: `http://${HOST}:${bareProxyPort}/`, proc: undefined, proxyPids: [bareProxy.pid as number] },
    { name: 'bare node:http+socket proxy', url: `http://${HOST}:${bareSocketProxyPort}/`, proc: undefined, proxyPids: [bareSocketProxy.pid as number] },
    { name: 'bare llhttp+socket proxy', url: `http://${HOST}:${bareLlhttpProxyPort}/`, proc: undefined, proxyPids: [bareLlhttpProxy.pid as number] },
    { name: 'balancer', url: `http://${HOST}:${balancers.plain}/`, proc: balancerProcs.plain, proxyPids: [balancerProcs.plain?.pid as number] },
    { name: 'balancer (undici upstream)', url: `http://${HOST}:${balancers.undici}/`, proc: balancerProcs.undici, proxyPids: [balancerProcs.undici?.pid as number] },
    { name: 'balancer (node:http client side)', url: `http://${HOST}:${balancers.node}/`, proc: balancerProcs.node, proxyPids: [balancerProcs.node?.pid as number] },
    { name: 'nginx round-robin', url: `http://${HOST}:${nginxPort}/`, proc: undefined, proxyPids: nginxPids },
    ...(l4 === null || l4Info === null
      ? []
      : [{ name: 'balancer L4', url: `http://${HOST}:${l4Info.port}/`, proc: undefined, proxyPids: [l4.pid as number], workerPids: l4Info.workerPids }]),
    { name: 'balancer + 8ms block/3s', url: `http://${HOST}:${balancers.block}/`, proc: balancerProcs.block, proxyPids: [balancerProcs.block?.pid as number] },
  ];
  const targets = s.only === null ? allTargets : allTargets.filter((t) => s.only?.has(TARGET_KEYS[t.name]));
  /** Targets that answered nothing in some round, and which rounds. */
  const failed = new Map<string, number[]>();
  const has = (name: string): boolean => targets.some((t) => t.name === name) && !failed.has(name);

  // Pre-flight: every target answers 200, and the balancer really alternates.
  for (const t of targets) {
    const r = await get(t.url);
    if (r.status !== 200) throw new Error(`${t.name} answered ${r.status} to a pre-flight GET`);
  }
  const served: string[] = [];
  const balancerTarget = allTargets.find((t) => t.name === 'balancer') as (typeof targets)[number];
  for (let i = 0; i < 4; i++) served.push(String((await get(balancerTarget.url)).servedBy));

  const cpuModel = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`autoscale balancer benchmark — ${new Date().toISOString()}`);
  console.log(`host: ${cpus().length} cores (${cpuModel}), node ${process.version}, ${spawnSync('nginx', ['-v']).stderr.toString().trim()}`);
  console.log(
    `workers: 2 × ${real ? 'dist/app/main.js (Express) --work 0' : 'tiny node:http JSON servers (dist/app/main.js missing: run npm run build)'} on ports ${ports.join(', ')}`,
  );
  console.log(
    `balancer: own child process (${existsSync(BALANCER_DIST) ? 'compiled dist/, as autoscale start runs it' : 'src/ through tsx: dist/ is not built'}), defaults (lean client side: node's llhttp parser on each connection, no node:http objects; lean upstream: pooled net.Sockets and a strict HTTP/1.1 parser, 64 connections/worker; both in src/balancer/lean/; health checks every 2 s); X-Served-By over 4 requests: ${served.join(', ')}`,
  );
  console.log(`balancer (undici upstream): the same with AUTOSCALE_UPSTREAM=undici (undici Pool, 64 connections/worker), for comparison`);
  console.log(`balancer (node:http client side): the same with AUTOSCALE_CLIENT_SIDE=node (node:http's server in front, as before), for comparison`);
  console.log(`bare node:http+socket proxy: node:http plus pooled sockets and nothing else (no header rules, statistics, deadlines, retries or strictness): the floor of a node:http proxy`);
  console.log(`bare llhttp+socket proxy: the same with no node:http at all: llhttp (undici's wasm build) parses each client connection, the answer is written to its socket (no per-request objects or streams)`);
  console.log(`nginx: worker_processes 1, upstream keepalive 64, proxy_http_version 1.1, Connection ""`);
  console.log(`load: wrk -t${s.threads} -c${s.connections} -d${s.duration}s GET /, ${s.settle}s of load per target before round 1, ${s.warmup}s warm-up per target per round, ${s.rounds} round(s), targets interleaved`);
  console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')} (anything else running on this host skews every row)`);
  console.log(`note: on ${cpus().length} cores the load tool, the proxy and the workers share the CPU; ratios compare setups under the same contention, not absolute capacity.\n`);

  const results = new Map<string, WrkResult[]>(targets.map((t) => [t.name, []]));
  if (s.settle > 0) for (const t of targets) await wrk(t.url, s, s.settle, script);
  for (let round = 1; round <= s.rounds; round++) {
    for (const t of targets) {
      if (s.warmup > 0) await wrk(t.url, s, s.warmup, script);
      const before = await ownView(t.proc);
      const wPids = 'workerPids' in t ? (t.workerPids as number[]) : workerPids;
      const cpu0 = { proxy: cpuOf(t.proxyPids), proxySys: cpuOf(t.proxyPids, true), workers: cpuOf(wPids) };
      const r = await wrk(t.url, s, s.duration, script);
      r.proxyUs = t.proxyPids.length === 0 ? Number.NaN : ((cpuOf(t.proxyPids) - cpu0.proxy) * 1e6) / r.requests;
      r.proxySysUs = t.proxyPids.length === 0 ? Number.NaN : ((cpuOf(t.proxyPids, true) - cpu0.proxySys) * 1e6) / r.requests;
      r.workersUs = ((cpuOf(wPids) - cpu0.workers) * 1e6) / r.requests;
      const after = await ownView(t.proc);
      if (r.requests === 0) {
        // A target that answered nothing (it crashed or stalled; its stderr is above) has no CPU per request or ratio to give.
        failed.set(t.name, [...(failed.get(t.name) ?? []), round]);
        console.log(`round ${round}  ${t.name}: no request answered in ${s.duration} s; left out of the summary`);
      }
      results.get(t.name)?.push(r);
      const own =
        before !== null && after !== null
          ? `  | balancer's own count ${after.total - before.total} (wrk ${r.requests}), own p50 ${fmt(after.p50 ?? Number.NaN)} p99 ${fmt(after.p99 ?? Number.NaN)} ms, 5xx ${after.errors - before.errors}`
          : '';
      console.log(
        `round ${round}  ${t.name.padEnd(24)} ${fmt(r.rps, 0).padStart(7)} req/s  p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms  p99.9 ${fmt(r.p999)} ms  max ${fmt(r.max)} ms  errors ${r.errors}  cpu µs/req proxy ${fmt(r.proxyUs, 0)} (sys ${fmt(r.proxySysUs, 0)}) workers ${fmt(r.workersUs, 0)}${own}`,
      );
    }
  }

  const summary = (name: string): WrkResult => {
    const rs = results.get(name) as WrkResult[];
    return {
      proxyUs: median(rs.map((r) => r.proxyUs)),
      proxySysUs: median(rs.map((r) => r.proxySysUs)),
      workersUs: median(rs.map((r) => r.workersUs)),
      requests: rs.reduce((a, r) => a + r.requests, 0),
      rps: mean(rs.map((r) => r.rps)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      p999: median(rs.map((r) => r.p999)),
      max: Math.max(...rs.map((r) => r.max)),
      errors: rs.reduce((a, r) => a + r.errors, 0),
    };
  };
  const direct = summary('direct (1 worker)');
  const nginxRow = summary('nginx round-robin');
  // Each round's ratio compares two runs minutes apart at most: steadier than a ratio of means on a busy host.
  const roundRatio = (name: string, ref: string): number => {
    const a = results.get(name) as WrkResult[];
    const b = results.get(ref) as WrkResult[];
    return median(a.map((r, i) => r.rps / b[i].rps));
  };
  const rows = [['target', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'errors', 'front-end cpu µs/req', '× nginx', '× direct']];
  for (const t of targets) {
    const lost = failed.get(t.name);
    if (lost !== undefined) {
      rows.push([t.name, `answered nothing in round ${lost.join(', ')}`, '-', '-', '-', '-', '-', '-', '-', '-']);
      continue;
    }
    const r = summary(t.name);
    rows.push([
      t.name,
      fmt(r.rps, 0),
      fmt(r.p50),
      fmt(r.p99),
      fmt(r.p999),
      fmt(r.max),
      String(r.errors),
      Number.isNaN(r.proxyUs) ? '-' : fmt(r.proxyUs, 0),
      fmt(roundRatio(t.name, 'nginx round-robin')),
      fmt(roundRatio(t.name, 'direct (1 worker)')),
    ]);
  }
  console.log(`\nload average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`summary (req/s: mean of ${s.rounds} round(s); ratios: median of per-round ratios; latencies and CPU per request: median of rounds; max: worst):`);
  console.log(table(rows));
  const bal = has('balancer') ? summary('balancer') : null;
  const bare = has('bare node:http (constant)') ? summary('bare node:http (constant)') : null;
  if (bal !== null && bare !== null) {
    console.log(
      `\nfront-end CPU per request (user+sys from /proc, median of rounds): balancer ${fmt(bal.proxyUs, 0)} µs, nginx ${fmt(nginxRow.proxyUs, 0)} µs (balancer ${fmt(bal.proxyUs / nginxRow.proxyUs, 1)}× nginx); ` +
        `a bare node:http server answering a constant body ${fmt(bare.proxyUs, 0)} µs — what node:http alone costs per request, before any forwarding.`,
    );
  }
  if (bal !== null && has('bare node:http+undici proxy')) {
    const floor = summary('bare node:http+undici proxy');
    console.log(`the least a node:http + undici proxy does (round robin, raw headers, nothing else): ${fmt(floor.proxyUs, 0)} µs/request, ${fmt(roundRatio('bare node:http+undici proxy', 'nginx round-robin'))}× nginx.`);
  }
  if (bal !== null && has('bare node:http+socket proxy')) {
    const floor = summary('bare node:http+socket proxy');
    console.log(
      `the least a node:http + pooled-socket proxy does: ${fmt(floor.proxyUs, 0)} µs/request (${fmt(floor.proxyUs / nginxRow.proxyUs, 2)}× nginx's CPU), ${fmt(roundRatio('bare node:http+socket proxy', 'nginx round-robin'))}× nginx's throughput; ` +
        `the balancer's own work on top of it: ${fmt(bal.proxyUs - floor.proxyUs, 0)} µs/request (${fmt((100 * (bal.proxyUs - floor.proxyUs)) / bal.proxyUs, 0)} % of its CPU).`,
    );
  }
  if (bal !== null && has('bare llhttp+socket proxy')) {
    const floor = summary('bare llhttp+socket proxy');
    console.log(
      `without node:http's per-request objects (llhttp straight on the client's bytes): ${fmt(floor.proxyUs, 0)} µs/request (${fmt(floor.proxyUs / nginxRow.proxyUs, 2)}× nginx's CPU), ${fmt(roundRatio('bare llhttp+socket proxy', 'nginx round-robin'))}× nginx's throughput.`,
    );
  }
  if (bal !== null) {
    const undici = has('balancer (undici upstream)') ? summary('balancer (undici upstream)') : null;
    console.log(
      `balancer: ${fmt(roundRatio('balancer', 'nginx round-robin'))}× nginx's throughput (issue 24's goal ≥ 0.9), CPU ${fmt(bal.proxyUs, 0)} µs/request = ${fmt(bal.proxyUs / nginxRow.proxyUs, 2)}× nginx's ${fmt(nginxRow.proxyUs, 0)} µs (goal ≤ 1.5)` +
        (undici === null ? '' : `; ${fmt(roundRatio('balancer', 'balancer (undici upstream)'))}× the undici upstream's throughput, which costs ${fmt(undici.proxyUs, 0)} µs/request`) +
        (bare === null ? '' : `; ${fmt(roundRatio('balancer', 'bare node:http (constant)'))}× the bare node:http ceiling`) +
        `; direct ${fmt(direct.rps, 0)} req/s.`,
    );
  }
  if (results.has('balancer L4')) {
    console.log(
      `L4 (connections handed to the workers, no byte through the daemon): ${fmt(roundRatio('balancer L4', 'nginx round-robin'))}× nginx, ${fmt(roundRatio('balancer L4', 'balancer'))}× the L7 balancer; ` +
        `its daemon's CPU ${fmt(summary('balancer L4').proxyUs, 1)} µs/request (it only sees the ${s.connections} connections).`,
    );
  }

  if (s.profile) {
    const rowOf = { plain: 'balancer', undici: 'balancer (undici upstream)', node: 'balancer (node:http client side)' } as const;
    const title = { plain: 'the default (lean client side, lean upstream): ', undici: 'undici upstream: ', node: 'node:http client side: ' } as const;
    for (const kind of ['plain', 'undici', 'node'] as const) {
      if (!has(rowOf[kind])) continue;
      const p = balancerProcs[kind] as ChildProcess;
      p.disconnect();
      await waitExit(p, 5000);
      const file = existsSync(profDir(kind)) ? readdirSync(profDir(kind)).find((f) => f.endsWith('.cpuprofile')) : undefined;
      if (file === undefined) console.log(`profile (${kind}): no .cpuprofile was written`);
      else console.log(`\n${title[kind]}${profileBreakdown(JSON.parse(readFileSync(join(profDir(kind), file), 'utf8')) as CpuProfile)}`);
    }
  }
}

// ---------------------------------------------------------------- profile breakdown

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Where the balancer's profile samples went, by the leaf frame's owner, leaving out idle time
 * and module loading. On a contended host the sampler also lands on syscalls while the process
 * waits for the CPU (a loopback write wakes the receiver, which may preempt us): those rows are
 * listed apart and overstate the CPU they cost.
 */
function profileBreakdown(prof: CpuProfile): string {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const loading = (id: number): boolean => {
    for (let p: number | undefined = id; p !== undefined; p = parent.get(p)) if (/internal\/modules\//.test(byId.get(p)?.callFrame.url ?? '')) return true;
    return false;
  };
  const owner = (url: string, fn: string): string => {
    if (url.includes('node_modules/undici')) return 'undici (pool, request, llhttp wasm parser)';
    if (url.includes('hdr-histogram')) return 'hdr-histogram (latency)';
    if (url.includes('/balancer/lean/client-side')) return 'lean client side (parser glue, requests, responses)';
    if (url.includes('/balancer/lean/')) return 'lean upstream (src/balancer/lean)';
    if (url.includes('/src/balancer/') || url.includes('/dist/balancer/')) return 'autoscale balancer (src/balancer)';
    if (/node:_http_|node:http/.test(url)) return 'node:http (server, parser glue, ServerResponse)';
    if (/node:net|stream_base_commons|internal\/streams/.test(url)) return 'node:net + streams';
    if (/timers|task_queues|async_hooks|node:events/.test(url)) return 'node ticks, timers, events';
    if (fn === '(garbage collector)') return 'garbage collector';
    if (/^(writev|writeLatin1String|writeUtf8String|writeBuffer|read|close)$/.test(fn)) return `syscalls (${fn} …, inflated by preemption)`;
    if (url === '') return `native: ${fn}`;
    return 'other JS';
  };
  const totals = new Map<string, number>();
  const selfTimes = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const node = byId.get(prof.samples[i]);
    if (node === undefined) continue;
    const fn = node.callFrame.functionName;
    if (fn === '(idle)' || fn === '(program)' || fn === '(root)' || loading(node.id)) continue;
    const us = prof.timeDeltas[i] ?? 0;
    busy += us;
    const key = /^syscalls/.test(owner(node.callFrame.url, fn)) ? 'syscalls (writev, writeLatin1String, …; inflated by preemption)' : owner(node.callFrame.url, fn);
    totals.set(key, (totals.get(key) ?? 0) + us);
    const where = node.callFrame.url === '' ? '' : ` ${node.callFrame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${node.callFrame.lineNumber + 1}`;
    const frame = `${fn || '(anonymous)'}${where}`;
    selfTimes.set(frame, (selfTimes.get(frame) ?? 0) + us);
  }
  const rows = [...totals].sort((a, b) => b[1] - a[1]).filter(([, us]) => us / busy >= 0.005);
  const frames = [...selfTimes].sort((a, b) => b[1] - a[1]).slice(0, 15);
  return [`balancer CPU profile (${fmt(busy / 1e6, 1)} s of busy samples, idle and module loading left out), by owner of the running frame:`]
    .concat(rows.map(([k, us]) => `  ${fmt((100 * us) / busy, 1).padStart(5)} %  ${k}`))
    .concat(['top frames by self time:'], frames.map(([k, us]) => `  ${fmt((100 * us) / busy, 1).padStart(5)} %  ${k}`))
    .join('\n');
}

async function run(): Promise<void> {
  const role = process.argv[2];
  if (role === '--serve-balancer') return serveBalancer(JSON.parse(process.argv[3]) as { ports: number[]; block: boolean; upstream: UpstreamKind; clientSide: ClientSideKind });
  if (role === '--serve-tiny') return serveTiny(Number(process.argv[3]));
  if (role === '--serve-constant') return serveConstant();
  if (role === '--serve-bare-proxy') return serveBareProxy(JSON.parse(process.argv[3]) as { ports: number[] });
  if (role === '--serve-bare-llhttp-proxy') return serveBareLlhttpProxy(JSON.parse(process.argv[3]) as { ports: number[] });
  if (role === '--serve-bare-socket-proxy') return serveBareSocketProxy(JSON.parse(process.argv[3]) as { ports: number[] });
  if (role === '--serve-l4') return serveL4();

  const onSignal = (sig: NodeJS.Signals): void => {
    cleanup();
    process.kill(process.pid, sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await main();
  } catch (err) {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanup();
    await Promise.all(children.procs.map((p) => waitExit(p, 3000)));
  }
}

await run();
