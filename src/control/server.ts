/**
 * The lab's control socket: a Unix domain socket `control.sock` in the run
 * directory, created with mode 0600 so only its owner may connect (the
 * kernel checks write permission on the socket file at connect(); no TCP
 * port is ever opened). Each connection sends request lines and gets
 * progress lines and one result line per request back. A malformed or
 * unknown message gets an error reply and is reported to `onBadMessage`;
 * nothing a client sends can throw out of here.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { AutoscaleError } from '../errors.js';
import { encode, MAX_LINE_BYTES, parseRequest, SOCKET_NAME, type ControlReply, type ControlRequest } from './protocol.js';

export type ResultReply = Extract<ControlReply, { type: 'result' }>;

export interface ControlHandler {
  /** Carry out one request; `progress` sends a progress line to the asking client. */
  handle(request: ControlRequest, progress: (message: string) => void): Promise<ResultReply>;
  /** A message that is not a valid request arrived (it was answered with an error). */
  onBadMessage(message: string): void;
}

/** Most clients connected at once; more are refused by the kernel backlog/Node. */
const MAX_CONNECTIONS = 16;

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
  readonly #sockets = new Set<Socket>();
  /** Requests being carried out; close() lets them answer first (`autoscale stop` waits for its reply). */
  readonly #pending = new Set<Promise<void>>();

  private constructor(path: string, handler: ControlHandler) {
    this.path = path;
    this.#handler = handler;
    this.#server = createServer((socket) => this.#serve(socket));
    this.#server.maxConnections = MAX_CONNECTIONS;
  }

  /**
   * Listen on `<runDir>/control.sock`. A socket left there by a killed lab
   * (nobody answers) is removed first; a live one means another lab uses this
   * run directory: AS_ERR_LAB_RUNNING.
   */
  static async listen(runDir: string, handler: ControlHandler): Promise<ControlServer> {
    const path = socketPath(runDir);
    if (Buffer.byteLength(path) > 107) {
      throw new AutoscaleError('AS_ERR_CONFIG', `control socket path ${path} is longer than the 107 bytes a Unix socket allows (use a shorter --run-dir)`);
    }
    const state = await probeSocket(path);
    if (state === 'live' || state === 'denied') {
      throw new AutoscaleError('AS_ERR_LAB_RUNNING', `another lab is already running in ${runDir} (its control socket answers); stop it with autoscale stop --run-dir ${runDir}`);
    }
    if (state === 'stale') removeStaleSocket(path);
    const s = new ControlServer(path, handler);
    await new Promise<void>((resolve, reject) => {
      s.#server.once('error', reject);
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
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.end();
    const t = setTimeout(() => {
      for (const s of this.#sockets) s.destroy();
    }, 1000);
    await closed;
    clearTimeout(t);
    removeStaleSocket(this.path);
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('close', () => this.#sockets.delete(socket));
    let buffered = '';
    let chain = Promise.resolve();
    const write = (reply: ControlReply) => {
      if (!socket.destroyed && socket.writable) socket.write(encode(reply));
    };
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line === '') continue;
        chain = chain.then(() => {
          const p = this.#one(line, write);
          this.#pending.add(p);
          return p.finally(() => this.#pending.delete(p));
        });
      }
      if (Buffer.byteLength(buffered) > MAX_LINE_BYTES) {
        buffered = '';
        const message = `malformed message: a request line is longer than ${MAX_LINE_BYTES} bytes`;
        this.#bad(message);
        write({ type: 'result', ok: false, code: 'AS_ERR_CONTROL_PROTOCOL', message });
        socket.end();
      }
    });
  }

  async #one(line: string, write: (r: ControlReply) => void): Promise<void> {
    const parsed = parseRequest(line);
    if (!parsed.ok) {
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

  #bad(message: string): void {
    try {
      this.#handler.onBadMessage(message);
    } catch {
      // Reporting must not break the connection loop.
    }
  }
}
