/**
 * Pipelined requests on one connection, served one per event-loop turn.
 *
 * node:http parses every request in a chunk it read and emits 'request' for
 * each in the same turn; with a synchronous handler (the `--work` busy-wait)
 * one 81 KB packet of 3,000 pipelined `GET /` kept the event loop busy for
 * ~30 s, so the worker's once-a-second heartbeat (its IPC stats) stopped, the
 * lab took it for hung and replaced it (issue 19 #4). Here:
 *
 * - a connection's first open request is served at once, as before; the ones
 *   pipelined behind it wait, and each starts in a turn of its own
 *   (setImmediate) after the previous response closed, so timers (the
 *   heartbeat) run between any two requests: a busy worker keeps beating, a
 *   hung one (an endless loop, SIGSTOP) does not, and liveness can tell the two
 *   apart (src/lab/liveness.ts);
 * - at most MAX_PIPELINED_REQUESTS are open per connection, as in the L7
 *   balancer (admitPipelined): one 503 AS_ERR_PIPELINE_LIMIT, then drop, then
 *   close;
 * - requests still waiting when the client closes the connection never run.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { admitPipelined, PIPELINE_LIMIT_MESSAGE } from '../http-limits.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface ConnectionQueue {
  open: number;
  over: number;
  waiting: Array<() => void>;
  closed: boolean;
}

const QUEUE = Symbol('autoscale pipelined requests');

const LIMIT_BODY = JSON.stringify({ error: PIPELINE_LIMIT_MESSAGE, code: 'AS_ERR_PIPELINE_LIMIT' });

function queueOf(socket: Socket): ConnectionQueue {
  const s = socket as Socket & { [QUEUE]?: ConnectionQueue };
  let q = s[QUEUE];
  if (q === undefined) {
    const created: ConnectionQueue = { open: 0, over: 0, waiting: [], closed: false };
    q = created;
    s[QUEUE] = created;
    socket.once('close', () => {
      created.closed = true;
      created.waiting = [];
    });
  }
  return q;
}

/** `handler`, with pipelined requests on a connection bounded and served one per event-loop turn. */
export function servePipelined(handler: Handler): Handler {
  return (req, res) => {
    const socket = req.socket;
    const q = queueOf(socket);
    const { admission, over } = admitPipelined(q.open, q.over);
    q.over = over;
    if (admission === 'close') {
      socket.destroy();
      return;
    }
    if (admission === 'drop') return;
    if (admission === 'refuse') {
      res.writeHead(503, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(LIMIT_BODY),
        'cache-control': 'no-store',
        connection: 'close',
      });
      res.end(LIMIT_BODY);
      return;
    }
    q.open++;
    res.once('close', () => {
      q.open--;
      const next = q.waiting.shift();
      // A turn of its own: the heartbeat's timer runs between two pipelined requests.
      if (next !== undefined) setImmediate(next);
    });
    if (q.open === 1) {
      handler(req, res);
      return;
    }
    q.waiting.push(() => {
      if (!q.closed) handler(req, res);
    });
  };
}
