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

export function sendRequest(path: string, request: ControlRequest, onProgress: (message: string) => void = () => {}): Promise<ResultReply> {
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
      const reason = err.code === 'ENOENT' || err.code === 'ENOTDIR' ? 'absent' : err.code === 'EACCES' || err.code === 'EPERM' ? 'denied' : 'stale';
      finish(new ConnectError(reason, path));
    });
    socket.on('close', () => finish(new AutoscaleError('AS_ERR_CONTROL_PROTOCOL', 'the lab closed the control connection before answering')));
  });
}
