/**
 * HTTP limits that the balancer and the worker share (one home, so the two
 * hops of `--balancer l7` and the one hop of `--balancer l4` refuse the same).
 */

/**
 * Most requests one client connection may have open at once: sent, not yet
 * fully answered. HTTP/1.1 pipelining is legal but browsers never use it and
 * load tools use it only when asked (wrk's pipeline script, autocannon -p);
 * 32 leaves room for those and bounds what one write can start (see
 * admitPipelined).
 */
export const MAX_PIPELINED_REQUESTS = 32;

/** What to do with a request that just arrived on a connection. */
export type Admission = 'serve' | 'refuse' | 'drop' | 'close';

/**
 * The pipelining rule, pure: `open` requests are open on the connection and
 * `over` requests already arrived past the limit. Serve while fewer than
 * `limit` are open; the first request past it gets the one 503 (with
 * `Connection: close`, after the answers owed before it); the next `limit`
 * are dropped unanswered (the connection closes after the 503); one more and
 * the connection is closed at once. Reading is never paused for this: a
 * paused socket would not notice its client leave.
 */
export function admitPipelined(open: number, over: number, limit = MAX_PIPELINED_REQUESTS): { admission: Admission; over: number } {
  if (over === 0 && open < limit) return { admission: 'serve', over };
  const next = over + 1;
  return { admission: next === 1 ? 'refuse' : next <= limit + 1 ? 'drop' : 'close', over: next };
}

/** The message of that 503 (code AS_ERR_PIPELINE_LIMIT). */
export const PIPELINE_LIMIT_MESSAGE = `more than ${MAX_PIPELINED_REQUESTS} pipelined requests open on one connection`;
