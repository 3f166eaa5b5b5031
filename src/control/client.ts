/**
 * Talk to a running lab over its control socket: send one request, pass
 * progress lines on, resolve with the result line. Connection failures are
 * told apart, because they mean different things: nobody there (ENOENT),
 * a stale socket of a killed lab (ECONNREFUSED), another user's lab (EACCES).
 */
import { connect } from 'node:net';
import { AutoscaleError } from '../errors.js';
import { parseReply, type ControlReply, type ControlRequest } from './protocol.js';

export type ResultReply = Extract<ControlReply, { type: 'result' }>;

export class ConnectError extends AutoscaleError {
  readonly reason: 'absent' | 'stale' | 'denied';
  constructor(reason: 'absent' | 'stale' | 'denied', path: string) {
    super(
      reason === 'denied' ? 'AS_ERR_CONTROL_REFUSED' : 'AS_ERR_NO_LAB',
      reason === 'denied' ? `permission denied on the control socket ${path} (it belongs to another user)` : 'no lab is running (start one with autoscale start)',
      { exitCode: 1 },
    );
    this.name = 'ConnectError';
    this.reason = reason;
  }
}

/** How long a request keeps retrying a lab whose accept queue is full (EAGAIN), ms. */
const BUSY_RETRY_MS = 10_000;

export function sendRequest(path: string, request: ControlRequest, onProgress: (message: string) => void = () => {}): Promise<ResultReply> {
  const deadline = Date.now() + BUSY_RETRY_MS;
  const attempt = (): Promise<ResultReply> =>
    once(path, request, onProgress).catch(async (err: unknown) => {
      // A full accept queue (a busy lab, a connection flood) is no answer yet: try again shortly.
      if (!(err instanceof BusyError) || Date.now() > deadline) throw err instanceof BusyError ? err.asConnectError() : err;
      await new Promise((r) => setTimeout(r, 50));
      return attempt();
    });
  return attempt();
}

class BusyError extends Error {
  readonly #path: string;
  constructor(path: string) {
    super('EAGAIN');
    this.#path = path;
  }
  asConnectError(): AutoscaleError {
    return new AutoscaleError('AS_ERR_CONTROL_PROTOCOL', `the lab's control socket ${this.#path} stayed too busy to accept a connection for ${BUSY_RETRY_MS / 1000} s`);
  }
}

function once(path: string, request: ControlRequest, onProgress: (message: string) => void): Promise<ResultReply> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.setEncoding('utf8');
    let connected = false;
    let buffered = '';
    let done = false;
    const finish = (err: Error | null, reply?: ResultReply) => {
      if (done) return;
      done = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(reply as ResultReply);
    };
    socket.once('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const reply = parseReply(line);
        if (reply === null) return finish(new AutoscaleError('AS_ERR_CONTROL_PROTOCOL', `the lab sent an unreadable reply: ${JSON.stringify(line.slice(0, 80))}`));
        if (reply.type === 'progress') onProgress(reply.message);
        else return finish(null, reply);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) return finish(new AutoscaleError('AS_ERR_CONTROL_PROTOCOL', `lost the connection to the lab: ${err.code ?? err.message}`));
      if (err.code === 'EAGAIN') return finish(new BusyError(path));
      const reason = err.code === 'ENOENT' || err.code === 'ENOTDIR' ? 'absent' : err.code === 'EACCES' || err.code === 'EPERM' ? 'denied' : 'stale';
      finish(new ConnectError(reason, path));
    });
    socket.on('close', () => finish(new AutoscaleError('AS_ERR_CONTROL_PROTOCOL', 'the lab closed the control connection before answering')));
  });
}
