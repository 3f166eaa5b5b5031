/**
 * `autoscale start`'s live-page flags, checked once at the edge. Kept apart
 * from the server so that the CLI does not load node:http and the report
 * renderer just to print --help.
 */
import type { LabSettings } from '../events.js';

/** 9465: next to the metrics port 9464, clear of the balancer (8000) and the workers (5000 up). */
export const DEFAULT_WEB_PORT = 9465;
export const DEFAULT_WEB_HOST = '127.0.0.1';

/** Why `port` cannot be the page's next to these settings, or null. Pure. */
export function webPortConflict(port: number, s: Pick<LabSettings, 'port' | 'metricsPort' | 'basePort' | 'max'>): string | null {
  if (port === 0) return null;
  if (port === s.port) return `--web-port (${port}) must differ from --port`;
  if (s.metricsPort !== 0 && port === s.metricsPort) return `--web-port (${port}) must differ from --metrics-port`;
  if (port >= s.basePort && port < s.basePort + s.max) return `--web-port (${port}) falls inside the workers' port range ${s.basePort}–${s.basePort + s.max - 1} (move --web-port or --base-port)`;
  return null;
}
