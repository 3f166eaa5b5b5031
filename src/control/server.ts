/**
 * The lab's control socket: a Unix domain socket `control.sock` in the run
 * directory, created with mode 0600 so only its owner may connect (the
 * kernel checks write permission on the socket file at connect(); no TCP
 * port is ever opened). Each connection sends request lines and gets
 * progress lines and one result line per request back. A malformed or
 * unknown message gets an error reply and is reported to `onBadMessage`
 * (at most one report per second, the rest summarised: bad-message-limit.ts);
 * nothing a client sends can throw out of here.
 *
 * Limits, so that the socket's own user cannot lock it up by accident or on
 * purpose, and a new operator always gets in:
 *   - a connection must send a whole request line within IDLE_MS of
 *     connecting or of its last answer (a request in progress, e.g. a long
 *     refresh, is never timed out); dribbling bytes does not extend it;
 *   - at most MAX_CONNECTIONS at once; a new one past that closes the
 *     connection that has been idle longest (none idle: it is told so);
 *   - per connection: at most MAX_QUEUED requests waiting, MAX_BAD_LINES
 *     invalid ones, and MAX_UNREAD_BYTES of replies the client does not read;
 *     past any of them the connection is closed.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { AutoscaleError } from '../errors.js';
import { BadMessageLimit } from './bad-message-limit.js';
import { encode, MAX_LINE_BYTES, parseRequest, SOCKET_NAME, type ControlReply, type ControlRequest } from './protocol.js';

export type ResultReply = Extract<ControlReply, { type: 'result' }>;

export interface ControlHandler {
  /** Carry out one request; `progress` sends a progress line to the asking client. */
  handle(request: ControlRequest, progress: (message: string) => void): Promise<ResultReply>;
  /** A message that is not a valid request arrived (it was answered with an error). */
  onBadMessage(message: string): void;
}

export interface ControlLimits {
  /** Time a connection may sit without a complete request (and with none in progress), ms. */
  idleMs: number;
  /** Connections at once; past it the longest-idle one is closed for the newcomer. */
  maxConnections: number;
  /** Requests queued behind the one in progress, per connection. */
  maxQueued: number;
  /** Invalid request lines one connection may send before it is closed. */
  maxBadLines: number;
  /** Reply bytes a client may leave unread before it is closed. */
  maxUnreadBytes: number;
}

export const CONTROL_LIMITS: ControlLimits = { idleMs: 10_000, maxConnections: 64, maxQueued: 32, maxBadLines: 8, maxUnreadBytes: 1024 * 1024 };

/** One client connection's state. */
interface Conn {
  socket: Socket;
  /** Requests received and not yet answered (the one in progress included). */
  open: number;
  bad: number;
  /** Date.now() of its connect or last answer: the longest-idle connection is the one evicted. */
  idleSince: number;
  idleTimer: NodeJS.Timeout | null;
  /** Hung up by the server: lines still queued are dropped unanswered. */
  closed: boolean;
}

export function socketPath(runDir: string): string {
  return join(runDir, SOCKET_NAME);
}

/** What is at a control socket path: a live lab, a stale socket (nobody listening), or nothing. */
export function probeSocket(path: string, timeoutMs = 2000): Promise<'live' | 'stale' | 'absent' | 'denied'> {
  return new Promise((resolve) => {
    const s = connect(path);
    const timer = setTimeout(() => {
      s.destroy();
      resolve('live');
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve('live');
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code === 'ENOENT' ? 'absent' : err.code === 'EACCES' || err.code === 'EPERM' ? 'denied' : 'stale');
    });
  });
}

/** Say goodbye (optionally with a last line) and close; a client that does not read or never closes its side is cut after a second. */
function hangUp(socket: Socket, last?: string): void {
  if (socket.destroyed) return;
  if (socket.writable) {
    if (last === undefined) socket.end();
    else socket.end(last);
  }
  const cut = setTimeout(() => socket.destroy(), 1000);
  cut.unref();
  socket.once('close', () => clearTimeout(cut));
}

/** What is at `path` when it is something other than a socket: "a regular file", "a symlink" …; null for a socket or nothing. */
function nonSocketKind(path: string): string | null {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return null;
  }
  if (st.isSocket()) return null;
  if (st.isSymbolicLink()) return 'a symlink';
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a regular file';
  return 'a special file';
}

/** Remove `path` only if it is a socket (never a file someone put there). */
export function removeStaleSocket(path: string): boolean {
  try {
    if (!lstatSync(path).isSocket()) return false;
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

export class ControlServer {
  readonly path: string;
  readonly #server: Server;
  readonly #handler: ControlHandler;
  readonly #limits: ControlLimits;
  readonly #conns = new Set<Conn>();
  /** Requests being carried out; close() lets them answer first (`autoscale stop` waits for its reply). */
  readonly #pending = new Set<Promise<void>>();
  readonly #badLimit = new BadMessageLimit();
  #badTimer: NodeJS.Timeout | null = null;

  private constructor(path: string, handler: ControlHandler, limits: ControlLimits) {
    this.path = path;
    this.#handler = handler;
    this.#limits = limits;
    this.#server = createServer((socket) => this.#serve(socket));
  }

  /**
   * Listen on `<runDir>/control.sock`. A socket left there by a killed lab
   * (nobody answers) is removed first; a live one means another lab uses this
   * run directory: AS_ERR_LAB_RUNNING.
   */
  static async listen(runDir: string, handler: ControlHandler, limits: ControlLimits = CONTROL_LIMITS): Promise<ControlServer> {
    const path = socketPath(runDir);
    if (Buffer.byteLength(path) > 107) {
      throw new AutoscaleError('AS_ERR_CONFIG', `control socket path ${path} is longer than the 107 bytes a Unix socket allows (use a shorter --run-dir)`);
    }
    // Something that is not a socket (a file the user made, a symlink, dangling or not) is never removed nor followed.
    const kind = nonSocketKind(path);
    if (kind !== null) {
      throw new AutoscaleError('AS_ERR_RUN_DIR', `${path} is ${kind}, not a control socket; it was left alone: move it away, or choose another --run-dir`);
    }
    const state = await probeSocket(path);
    if (state === 'live' || state === 'denied') {
      throw new AutoscaleError('AS_ERR_LAB_RUNNING', `another lab is already running in ${runDir} (its control socket answers); stop it with autoscale stop --run-dir ${runDir}`);
    }
    if (state === 'stale') removeStaleSocket(path);
    const s = new ControlServer(path, handler, limits);
    await new Promise<void>((resolve, reject) => {
      s.#server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new AutoscaleError('AS_ERR_LISTEN', `cannot open the control socket ${path}: ${err.code ?? err.message}`)),
      );
      // bind() happens inside listen(): with umask 0177 the socket is born 0600, never briefly wider.
      const old = process.umask(0o177);
      try {
        s.#server.listen(path, () => {
          s.#server.off('error', reject);
          resolve();
        });
      } finally {
        process.umask(old);
      }
    });
    chmodSync(path, 0o600);
    s.#server.on('error', () => {});
    return s;
  }

  /** Stop accepting, end open connections (after what was written to them), remove the socket file. */
  async close(): Promise<void> {
    let wait: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.#pending), new Promise((r) => (wait = setTimeout(r, 2000)))]);
    clearTimeout(wait);
    this.#flushBad(true);
    if (this.#badTimer !== null) clearTimeout(this.#badTimer);
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const c of this.#conns) {
      this.#stopIdle(c);
      c.socket.end();
    }
    const t = setTimeout(() => {
      for (const c of this.#conns) c.socket.destroy();
    }, 1000);
    await closed;
    clearTimeout(t);
    removeStaleSocket(this.path);
  }

  /** Connections open now (for tests and status). */
  get connections(): number {
    return this.#conns.size;
  }

  #serve(socket: Socket): void {
    const limits = this.#limits;
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    const conn: Conn = { socket, open: 0, bad: 0, idleSince: Date.now(), idleTimer: null, closed: false };
    if (this.#conns.size >= limits.maxConnections && !this.#evictIdlest()) {
      // Every slot is busy carrying out a request: say so rather than dropping the newcomer silently.
      hangUp(socket, encode({ type: 'result', ok: false, code: 'AS_ERR_CONTROL_REFUSED', message: `all ${limits.maxConnections} control connections are busy; try again in a moment` }));
      return;
    }
    this.#conns.add(conn);
    socket.on('close', () => {
      this.#stopIdle(conn);
      this.#conns.delete(conn);
    });
    this.#armIdle(conn);
    let buffered = '';
    let chain = Promise.resolve();
    const write = (reply: ControlReply) => {
      if (socket.destroyed || !socket.writable) return;
      socket.write(encode(reply));
      // A client that does not read its replies (a flood that never reads) must not grow the lab's memory.
      if (socket.writableLength > limits.maxUnreadBytes) socket.destroy();
    };
    const refuse = (message: string) => {
      if (conn.closed) return;
      write({ type: 'result', ok: false, code: 'AS_ERR_CONTROL_PROTOCOL', message });
      conn.closed = true;
      hangUp(socket);
      buffered = '';
    };
    socket.on('data', (chunk: string) => {
      if (conn.closed || socket.destroyed || !socket.writable) return;
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === '') continue;
        if (conn.open >= limits.maxQueued + 1) {
          const message = `too many requests queued on one connection (at most ${limits.maxQueued} behind the one in progress); the connection is closed`;
          this.#bad(message);
          return refuse(message);
        }
        conn.open++;
        this.#stopIdle(conn);
        chain = chain.then(() => {
          if (conn.closed) {
            conn.open--;
            return;
          }
          const p = this.#one(line, write, conn);
          this.#pending.add(p);
          return p.finally(() => {
            this.#pending.delete(p);
            conn.open--;
            conn.idleSince = Date.now();
            if (conn.bad >= limits.maxBadLines) refuse(`${conn.bad} invalid requests on one connection; the connection is closed`);
            else if (conn.open === 0) this.#armIdle(conn);
          });
        });
      }
      if (Buffer.byteLength(buffered) > MAX_LINE_BYTES) {
        const message = `malformed message: a request line is longer than ${MAX_LINE_BYTES} bytes`;
        this.#bad(message);
        refuse(message);
      }
    });
  }

  /** Close the connection idle longest (no request in progress) to make room; false when none is idle. */
  #evictIdlest(): boolean {
    let idlest: Conn | null = null;
    for (const c of this.#conns) if (c.open === 0 && (idlest === null || c.idleSince < idlest.idleSince)) idlest = c;
    if (idlest === null) return false;
    this.#stopIdle(idlest);
    this.#conns.delete(idlest);
    idlest.closed = true;
    hangUp(idlest.socket, encode({ type: 'result', ok: false, code: 'AS_ERR_CONTROL_PROTOCOL', message: 'closed: idle while another client needed the connection slot' }));
    return true;
  }

  #armIdle(conn: Conn): void {
    this.#stopIdle(conn);
    conn.idleTimer = setTimeout(() => {
      conn.idleTimer = null;
      if (conn.open > 0 || conn.socket.destroyed) return;
      const message = `closed: no request within ${Math.round(this.#limits.idleMs / 1000)} s`;
      conn.closed = true;
      hangUp(conn.socket, encode({ type: 'result', ok: false, code: 'AS_ERR_CONTROL_PROTOCOL', message }));
    }, this.#limits.idleMs);
    conn.idleTimer.unref();
  }

  #stopIdle(conn: Conn): void {
    if (conn.idleTimer !== null) clearTimeout(conn.idleTimer);
    conn.idleTimer = null;
  }

  async #one(line: string, write: (r: ControlReply) => void, conn: Conn): Promise<void> {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
      conn.bad++;
      this.#bad(parsed.message);
      write({ type: 'result', ok: false, code: 'AS_ERR_CONTROL_PROTOCOL', message: parsed.message });
      return;
    }
    try {
      write(await this.#handler.handle(parsed.request, (message) => write({ type: 'progress', message })));
    } catch (err) {
      const code = err instanceof AutoscaleError ? err.code : 'AS_ERR_CONTROL_PROTOCOL';
      write({ type: 'result', ok: false, code, message: (err as Error).message });
    }
  }

  /** Report a bad message, at most one report per second (the rest are counted into a summary). */
  #bad(message: string): void {
    const now = Date.now();
    const line = this.#badLimit.offer(message, now);
    if (line !== null) this.#report(line);
    const due = this.#badLimit.dueAt();
    if (due !== null && this.#badTimer === null) {
      this.#badTimer = setTimeout(() => {
        this.#badTimer = null;
        this.#flushBad(false);
      }, Math.max(0, due - now));
      this.#badTimer.unref();
    }
  }

  #flushBad(force: boolean): void {
    const summary = this.#badLimit.flush(Date.now(), force);
    if (summary !== null) this.#report(summary);
    // A flush may find the window not over yet (a timer a little early): try again at its end.
    const due = this.#badLimit.dueAt();
    if (!force && due !== null && this.#badTimer === null) {
      this.#badTimer = setTimeout(() => {
        this.#badTimer = null;
        this.#flushBad(false);
      }, Math.max(1, due - Date.now()));
      this.#badTimer.unref();
    }
  }

  #report(message: string): void {
    try {
      this.#handler.onBadMessage(message);
    } catch {
      // Reporting must not break the connection loop.
    }
  }
}
