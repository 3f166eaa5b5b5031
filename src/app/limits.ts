/**
 * The worker's numeric limits and defaults, apart from the app so that the
 * process entry can check its arguments before it loads Express.
 */
export const DEFAULT_WORK_MS = 10;
export const MAX_WORK_MS = 1000;
/** /health waits this long for the database before calling it down (the balancer's probe allows 1 s). */
export const HEALTH_DB_TIMEOUT_MS = 500;
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
