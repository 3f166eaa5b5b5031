/**
 * The live page's HTTP server (node:http; no framework: six routes, and the
 * guard must see every request before anything else does). Serves the page
 * and its files, one SSE stream per browser (src/web/sse.ts), the run's
 * history and report, and the controls, which go through the lab's one
 * operator path with source "web". See docs/web.md.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { basename } from 'node:path';
import type { AddressInfo } from 'node:net';
import { AutoscaleError, listenError, UsageError } from '../errors.js';
import { isLoopback } from '../url-host.js';
import type { CommandResult, LabCommand } from '../control/operator.js';
import { WORKER_SIGNALS, type WorkerSignal } from '../control/operator.js';
import { parseRequest } from '../control/protocol.js';
import type { CommandSource, LabEvents } from '../events.js';
import { metricLabel, readReportScript, readUplot, reportHtml } from '../report/command.js';
import { checkRequest, TOKEN_HEADER } from './guard.js';
import { LiveFeed, type ExperimentStatus, type ReportView } from './live.js';
import { LOAD_LIMITS, PageLoad, parseLoadRequest } from './load.js';
import { PROFILE_NAMES } from '../loadgen/profile.js';
import { ASSET_PATHS, CSP, livePage } from './page.js';
import { EventStreams, frame, MAX_BUFFERED_BYTES, MAX_STREAMS } from './sse.js';

/** Longest request body accepted (a command or a load form is a few dozen bytes). */
const MAX_BODY_BYTES = 16 * 1024;
/** The history is aggregated at most this often, however many browsers ask. */
const HISTORY_CACHE_MS = 2000;

/** What the web server needs from the lab. */
export interface WebLab {
  readonly events: LabEvents;
  command(cmd: LabCommand, source: CommandSource): Promise<CommandResult>;
  /** The balancer's port (the page's load goes to 127.0.0.1 on it). */
  balancerPort(): number;
}

export interface WebOptions {
  host: string;
  port: number;
  /** Random by default; tests may fix it. */
  token?: string;
  maxStreams?: number;
  maxBufferedBytes?: number;
}

export { isLoopback };

/** The one-line warning for --web-host beyond this machine (as --host has for the balancer), else null. */
export function webExposureWarning(host: string): string | null {
  if (isLoopback(host)) return null;
  return `warning: --web-host ${host} makes the live page (and its controls) reachable from other machines; anyone with its URL and token can scale, kill workers and send load`;
}

/** Host header values that name this server: its address, localhost for loopback, every interface for a wildcard bind. */
export function allowedHosts(host: string, port: number): Set<string> {
  const name = (h: string) => (h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`).toLowerCase();
  const hosts = new Set([name(host)]);
  if (isLoopback(host)) hosts.add(name('localhost'));
  if (host === '0.0.0.0' || host === '::') {
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) hosts.add(name(a.address));
    hosts.add(name(hostname()));
    hosts.add(name('localhost'));
  }
  return hosts;
}

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const uplot = readUplot();
  const js = 'text/javascript; charset=utf-8';
  const own = (name: string) => readFileSync(new URL(`../../src/web/assets/${name}`, import.meta.url));
  return new Map<string, Asset>([
    [ASSET_PATHS.uplotJs, { type: js, body: Buffer.from(uplot.js) }],
    [ASSET_PATHS.uplotCss, { type: 'text/css; charset=utf-8', body: Buffer.from(uplot.css) }],
    [ASSET_PATHS.chartsJs, { type: js, body: Buffer.from(readReportScript('report-charts.js')) }],
    [ASSET_PATHS.liveJs, { type: js, body: own('live-page.js') }],
    [ASSET_PATHS.liveCss, { type: 'text/css; charset=utf-8', body: own('live.css') }],
  ]);
}

/** Headers on every answer: no CORS, no framing, no sniffing, no referrer (the URL has the token), no caching. */
const BASE_HEADERS = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
};

export class WebServer {
  readonly token: string;
  readonly feed: LiveFeed;
  readonly #lab: WebLab;
  readonly #opts: WebOptions;
  readonly #server: Server;
  readonly #streams: EventStreams;
  readonly #assets: Map<string, Asset>;
  readonly #load: PageLoad;
  #hosts = new Set<string>();
  #port = 0;
  #experiment: ExperimentStatus | null = null;
  #history: { at: number; body: Buffer } | null = null;
  #final: Buffer | null = null;
  #closing: Promise<void> | null = null;

  constructor(lab: WebLab, opts: WebOptions) {
    this.#lab = lab;
    this.#opts = opts;
    this.token = opts.token ?? randomBytes(24).toString('base64url');
    this.#assets = loadAssets();
    this.feed = new LiveFeed(lab.events, metricLabel);
    this.#streams = new EventStreams({ max: opts.maxStreams ?? MAX_STREAMS, maxBufferedBytes: opts.maxBufferedBytes ?? MAX_BUFFERED_BYTES });
    this.#load = new PageLoad({
      onChange: (s) => this.#broadcast('load', s),
      onSecond: (line) => this.feed.addLoadLine(line),
    });
    this.feed.offered = () => this.#load.offered();
    this.feed.subscribe((kind, f) => {
      if (kind === 'started') return this.#broadcast('hello', this.#hello());
      if (kind === 'frame') {
        if (this.#streams.size > 0) this.#streams.broadcast(frame('frame', JSON.stringify(f)));
        return;
      }
      void this.#load.stop();
      this.#final = this.#finalMessage();
    });
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.headersTimeout = 10_000;
    this.#server.requestTimeout = 15_000;
    // Streams, plus a few requests of each page at once: more is not a browser.
    this.#server.maxConnections = (opts.maxStreams ?? MAX_STREAMS) * 4;
  }

  listen(): Promise<void> {
    const { host, port } = this.#opts;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new AutoscaleError('AS_ERR_PORT_IN_USE', `web page port ${host}:${port} is already in use (pick another with --web-port, or 0 to start without the page)`)
            : listenError(err, host, port, 'web page', '--web-port'),
        );
      this.#server.once('error', onError);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', onError);
        this.#port = (this.#server.address() as AddressInfo).port;
        this.#hosts = allowedHosts(host, this.#port);
        resolve();
      });
    });
  }

  get port(): number {
    return this.#port;
  }

  /** The URL to open: it carries the token (like Jupyter's). */
  get url(): string {
    const h = this.#opts.host.includes(':') ? `[${this.#opts.host}]` : this.#opts.host === '0.0.0.0' || this.#opts.host === '::' ? '127.0.0.1' : this.#opts.host;
    return `http://${h}:${this.#port}/?token=${this.token}`;
  }

  /**
   * The experiment runner's hook: what the page shows about the running
   * experiment (arm, phase, next event), or null once it is over. Sent to
   * every browser at once and to each one that connects later.
   */
  setExperiment(status: ExperimentStatus | null): void {
    this.#experiment = status;
    this.#broadcast('experiment', status);
  }

  /** The feed's hello plus what the load form offers. */
  #hello() {
    const hello = this.feed.hello(this.#load.status, this.#experiment);
    return hello === null ? null : { ...hello, loadProfiles: PROFILE_NAMES, loadLimits: LOAD_LIMITS };
  }

  #broadcast(event: string, data: unknown): void {
    if (this.#streams.size > 0) this.#streams.broadcast(frame(event, JSON.stringify(data)));
  }

  /** The report (tables and the whole run's chart data) and report.html for download: what the page becomes. */
  #finalMessage(): Buffer | null {
    const view = this.feed.report();
    const model = this.feed.model();
    if (view === null || model === null) return null;
    const started = this.feed.started!;
    const html = reportHtml(model, basename(started.runDir));
    return Buffer.concat([frame('tail', JSON.stringify(this.feed.tail())), frame('report', JSON.stringify(view)), frame('report-html', JSON.stringify(html))]);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const verdict = checkRequest(
      {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        host: req.headers.host,
        origin: req.headers.origin,
        fetchSite: header(req, 'sec-fetch-site'),
        cookie: req.headers.cookie,
        tokenHeader: header(req, TOKEN_HEADER),
      },
      { token: this.token, hosts: this.#hosts, cookieName: this.#cookieName() },
    );
    if (!verdict.ok) return this.#send(res, verdict.status, 'text/plain; charset=utf-8', `${verdict.message}\n`);
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method === 'POST') return await this.#post(req, res, path);
      if (path === '/') {
        const extra: Record<string, string> = verdict.fromQuery ? { 'set-cookie': `${this.#cookieName()}=${this.token}; HttpOnly; SameSite=Strict; Path=/` } : {};
        return this.#send(res, 200, 'text/html; charset=utf-8', livePage({ token: this.token, tokenHeader: TOKEN_HEADER, title: 'autoscale: the lab, live' }), extra);
      }
      // Browsers ask for it by themselves; the page has none, and a 404 would be noise in the console.
      if (path === '/favicon.ico') return this.#send(res, 204, 'text/plain; charset=utf-8', '');
      const asset = this.#assets.get(path);
      if (asset) return this.#send(res, 200, asset.type, asset.body);
      if (path === '/events') return this.#events(res);
      if (path === '/api/history') return this.#send(res, 200, 'application/json', this.#historyBody());
      if (path === '/api/report.html') {
        const model = this.feed.model();
        if (model === null) return this.#send(res, 409, 'text/plain; charset=utf-8', 'the lab has not started yet\n');
        const name = basename(this.feed.started!.runDir);
        return this.#send(res, 200, 'text/html; charset=utf-8', reportHtml(model, name), { 'content-disposition': `attachment; filename="report-${name.replace(/[^\w.-]/g, '_')}.html"` });
      }
      return this.#send(res, 404, 'text/plain; charset=utf-8', `no ${path} here\n`);
    } catch (err) {
      const status = err instanceof UsageError ? 400 : 500;
      return this.#send(res, status, 'application/json', JSON.stringify({ ok: false, message: (err as Error).message }));
    }
  }

  #cookieName(): string {
    return `autoscale-${this.#port}`;
  }

  #events(res: ServerResponse): void {
    if (this.#closing !== null || this.#final !== null) {
      // The lab stopped: the report, then the end of the stream.
      res.writeHead(200, { ...BASE_HEADERS, 'content-type': 'text/event-stream; charset=utf-8' });
      res.end(this.#final ?? undefined);
      return;
    }
    const hello = this.#hello();
    res.setHeaders(new Map(Object.entries(BASE_HEADERS)));
    const first = hello === null ? [] : [frame('hello', JSON.stringify(hello))];
    if (!this.#streams.open(res, first)) {
      this.#send(res, 503, 'text/plain; charset=utf-8', `too many live pages open (${this.#opts.maxStreams ?? MAX_STREAMS}); close one and reload\n`);
    }
  }

  #historyBody(): Buffer {
    const now = Date.now();
    if (this.#history === null || now - this.#history.at > HISTORY_CACHE_MS || this.#final !== null) {
      const view: ReportView | null = this.feed.report();
      this.#history = { at: now, body: Buffer.from(JSON.stringify(view)) };
    }
    return this.#history.body;
  }

  async #post(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const body = await readBody(req);
    let parsed: unknown;
    try {
      parsed = body === '' ? {} : JSON.parse(body);
    } catch {
      throw new UsageError('the request body must be JSON');
    }
    if (path === '/api/command') {
      const cmd = parseCommand(parsed);
      const r = await this.#lab.command(cmd, 'web');
      return this.#send(res, r.ok ? 200 : r.code === 'AS_ERR_USAGE' ? 400 : 409, 'application/json', JSON.stringify(r));
    }
    if (path === '/api/load') {
      if (this.feed.stopped !== null || this.#closing !== null) return this.#json(res, 409, { ok: false, message: 'the lab has stopped' });
      const config = parseLoadRequest(parsed, `http://127.0.0.1:${this.#lab.balancerPort()}/`);
      if (!this.#load.start(config)) return this.#json(res, 409, { ok: false, message: 'a load is running already: stop it first (one at a time)' });
      return this.#json(res, 200, { ok: true, message: `load started: ${this.#load.status!.description}` });
    }
    if (path === '/api/load/stop') {
      const stopped = await this.#load.stop();
      return this.#json(res, 200, { ok: true, message: stopped ? 'load stopped' : 'no load was running' });
    }
    return this.#send(res, 404, 'text/plain; charset=utf-8', `no ${path} here\n`);
  }

  #json(res: ServerResponse, status: number, data: unknown): void {
    this.#send(res, status, 'application/json', JSON.stringify(data));
  }

  #send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    res.writeHead(status, { ...BASE_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  }

  /** Stop the page's load, send every browser the report, end the streams, close. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#load.stop();
      await this.#streams.close(this.#final);
      await new Promise<void>((resolve) => {
        this.#server.close(() => resolve());
        this.#server.closeAllConnections();
      });
    })();
    return this.#closing;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The body as text, refused past MAX_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new UsageError(`request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * A command from the page: the control socket's requests (validated by its
 * own parser), and the dashboard's +/− and pause toggle, and a worker signal.
 */
export function parseCommand(body: unknown): LabCommand {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UsageError('a command must be a JSON object with "cmd"');
  const b = body as Record<string, unknown>;
  if (b.cmd === 'scale-by') {
    if (b.delta !== 1 && b.delta !== -1) throw new UsageError(`scale-by: "delta" must be 1 or -1 (received ${JSON.stringify(b.delta)})`);
    return { cmd: 'scale-by', delta: b.delta };
  }
  if (b.cmd === 'toggle-pause') return { cmd: 'toggle-pause' };
  if (b.cmd === 'signal') {
    if (typeof b.id !== 'number' || !Number.isInteger(b.id) || b.id < 0) throw new UsageError(`signal: "id" must be a worker id (received ${JSON.stringify(b.id)})`);
    if (!(WORKER_SIGNALS as readonly unknown[]).includes(b.signal)) throw new UsageError(`signal: "signal" must be one of ${WORKER_SIGNALS.join(', ')} (received ${JSON.stringify(b.signal)})`);
    return { cmd: 'signal', id: b.id, signal: b.signal as WorkerSignal };
  }
  const r = parseRequest(JSON.stringify(body));
  if (!r.ok) throw new UsageError(r.message);
  return r.request;
}
