/**
 * Every error autoscale raises on purpose carries a stable `code`.
 * Tests assert the code, never the message. `exitCode` is what bin/ exits with:
 * 2 for usage errors (bad flags, bad config), 1 for runtime failures.
 */
export type ErrorCode =
  | 'AS_ERR_USAGE'
  | 'AS_ERR_CONFIG'
  | 'AS_ERR_PORT_IN_USE'
  | 'AS_ERR_NO_FREE_PORT'
  | 'AS_ERR_NO_READY_WORKER'
  | 'AS_ERR_UPSTREAM_TIMEOUT'
  | 'AS_ERR_TARGET_UNREACHABLE'
  | 'AS_ERR_NOT_A_RUN'
  | 'AS_ERR_NO_RUNS'
  | 'AS_ERR_RUN_SCHEMA'
  /** A recording autoscale refuses to read: a line of the wrong shape, two runs in one file, a file too large. */
  | 'AS_ERR_RUN_INVALID'
  | 'AS_ERR_RUN_DIR'
  | 'AS_ERR_INTERNAL'
  | 'AS_ERR_HOLD_TIMEOUT'
  | 'AS_ERR_HOLD_QUEUE_FULL'
  | 'AS_ERR_NO_LAB'
  | 'AS_ERR_LAB_RUNNING'
  | 'AS_ERR_WHICH_LAB'
  | 'AS_ERR_CONTROL_PROTOCOL'
  | 'AS_ERR_CONTROL_REFUSED'
  | 'AS_ERR_REFRESH_FAILED'
  | 'AS_ERR_BAD_REQUEST'
  | 'AS_ERR_UPGRADE_UNSUPPORTED'
  | 'AS_ERR_DATABASE_UNAVAILABLE'
  /** An experiment file (or built-in name) that cannot be used: the line names the key path. Exit 2. */
  | 'AS_ERR_EXPERIMENT_FILE'
  /** An experiment arm whose lab could not start or stopped on its own. Exit 1. */
  | 'AS_ERR_EXPERIMENT_ARM'
  /** A client pipelined more requests on one connection than MAX_PIPELINED_REQUESTS (src/http-limits.ts). */
  | 'AS_ERR_PIPELINE_LIMIT'
  /** A socket could not be bound: address not on this machine, port needs privileges, IPv6 off… */
  | 'AS_ERR_LISTEN';

/**
 * Codes of the errors the load generator raises on a single request. They are
 * not thrown to the user: they name a request's outcome in the summary's
 * `errors.byCode` (and decide its class: timeout, cancelled).
 */
export const LOAD_ERROR_CODES = {
  /** A request exceeded --timeout. */
  requestTimeout: 'AS_LOAD_REQUEST_TIMEOUT',
  /** In-flight requests cancelled because the run was interrupted (Ctrl+C). */
  aborted: 'AS_LOAD_ABORTED',
} as const;

/**
 * Codes of the failures of one request on the lean upstream path (balancer/lean/):
 * like LOAD_ERROR_CODES, never thrown to the user; they decide how forward.ts
 * answers (a connection failure is retried once elsewhere when safe, a timeout
 * is a 504, anything else a 502).
 */
export const UPSTREAM_ERROR_CODES = {
  /** The worker closed the connection (before answering: a connection failure). */
  socketClosed: 'AS_UPSTREAM_SOCKET_CLOSED',
  /** No connection within the connect timeout. */
  connectTimeout: 'AS_UPSTREAM_CONNECT_TIMEOUT',
  /** A pause inside a response body longer than the upstream timeout. */
  bodyTimeout: 'AS_UPSTREAM_BODY_TIMEOUT',
  /** The worker's response is not what the strict parser accepts. */
  badResponse: 'AS_UPSTREAM_BAD_RESPONSE',
  /** The worker's connection pool was closed or destroyed under the request. */
  closed: 'AS_UPSTREAM_CLOSED',
  /** The request was aborted by its owner (client gone, deadline passed). */
  aborted: 'AS_UPSTREAM_ABORTED',
} as const;

export class AutoscaleError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: 1 | 2;

  constructor(code: ErrorCode, message: string, options: { exitCode?: 1 | 2; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AutoscaleError';
    this.code = code;
    this.exitCode = options.exitCode ?? (code === 'AS_ERR_USAGE' || code === 'AS_ERR_CONFIG' ? 2 : 1);
  }
}

export class UsageError extends AutoscaleError {
  constructor(message: string) {
    super('AS_ERR_USAGE', message, { exitCode: 2 });
    this.name = 'UsageError';
  }
}

export class ConfigError extends AutoscaleError {
  constructor(message: string) {
    super('AS_ERR_CONFIG', message, { exitCode: 2 });
    this.name = 'ConfigError';
  }
}

/**
 * A part of autoscale was called the wrong way by another part (a bug, not
 * the user's input): exit 1. ConfigError is for the user's settings only.
 */
export class InternalError extends AutoscaleError {
  constructor(message: string) {
    super('AS_ERR_INTERNAL', message, { exitCode: 1 });
    this.name = 'InternalError';
  }
}

export class PortInUseError extends AutoscaleError {
  readonly port: number;
  constructor(host: string, port: number, what = 'port') {
    super('AS_ERR_PORT_IN_USE', `${what} ${host}:${port} is already in use (pick another with --port, or stop what holds it)`);
    this.name = 'PortInUseError';
    this.port = port;
  }
}

/** `autoscale report` / `runs` input that is not a recording it can read (exit 2). */
export class RunInputError extends AutoscaleError {
  constructor(code: 'AS_ERR_NOT_A_RUN' | 'AS_ERR_NO_RUNS' | 'AS_ERR_RUN_SCHEMA' | 'AS_ERR_RUN_INVALID', message: string) {
    super(code, message, { exitCode: 2 });
    this.name = 'RunInputError';
  }
}

/**
 * Why binding `host:port` failed, as one line a user can act on. EADDRINUSE is
 * PortInUseError; an address that is not this machine's (or a host name that
 * does not resolve) is a bad flag value, exit 2; a port that needs privileges
 * is a runtime refusal, exit 1. Anything else keeps its system code in the line.
 */
export function listenError(err: unknown, host: string, port: number, what: string, flag: string): AutoscaleError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const shown = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new PortInUseError(host, port, `${what} port`);
    case 'EADDRNOTAVAIL':
      return new AutoscaleError('AS_ERR_LISTEN', `cannot listen on ${shown} for the ${what}: ${host} is not an address of this machine (EADDRNOTAVAIL; use --host 127.0.0.1 or one of this machine's addresses)`, { exitCode: 2 });
    case 'EAFNOSUPPORT':
      return new AutoscaleError('AS_ERR_LISTEN', `cannot listen on ${shown} for the ${what}: this machine has no ${host.includes(':') ? 'IPv6' : 'IPv4'} support (EAFNOSUPPORT)`, { exitCode: 2 });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new AutoscaleError('AS_ERR_LISTEN', `cannot listen on ${shown} for the ${what}: host name ${JSON.stringify(host)} does not resolve (${code})`, { exitCode: 2 });
    case 'EACCES':
    case 'EPERM':
      return new AutoscaleError(
        'AS_ERR_LISTEN',
        `cannot listen on ${shown} for the ${what}: permission denied (${code}${port > 0 && port < 1024 ? `; ports below 1024 need root or CAP_NET_BIND_SERVICE, pick ${flag} 1024 or above` : ''})`,
        { exitCode: 1 },
      );
    default:
      return new AutoscaleError('AS_ERR_LISTEN', `cannot listen on ${shown} for the ${what}: ${code ?? (err instanceof Error ? err.message : String(err))}`, { exitCode: 1 });
  }
}

/** The visits database (SQLite file or PostgreSQL server) cannot be opened or reached at start. */
export class DatabaseUnavailableError extends AutoscaleError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('AS_ERR_DATABASE_UNAVAILABLE', message, { exitCode: 1, cause: options.cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/** An experiment file that is not valid: one line naming the key path and what was wrong (exit 2). */
export class ExperimentFileError extends AutoscaleError {
  constructor(message: string) {
    super('AS_ERR_EXPERIMENT_FILE', message, { exitCode: 2 });
    this.name = 'ExperimentFileError';
  }
}
