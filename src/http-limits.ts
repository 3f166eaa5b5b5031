/**
 * HTTP limits that the balancer and the worker share (one home, so the two
 * hops of `--balancer l7` and the one hop of `--balancer l4` refuse the same).
 */

/**
 * Most requests one client connection may have open at once: sent, not yet
 * fully answered. HTTP/1.1 pipelining is legal but browsers never use it and
 * load tools use it only when asked (wrk's pipeline script, autocannon -p);
 * 32 leaves room for those and bounds what one write can start: a client that
 * sends more gets its first 32 requests answered, then one 503
 * (AS_ERR_PIPELINE_LIMIT) with `Connection: close`, and the rest of what it
 * sent is never served.
 */
export const MAX_PIPELINED_REQUESTS = 32;
