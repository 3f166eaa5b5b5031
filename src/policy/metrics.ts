/** The metric table lives in src/metrics.ts (below policy/ and alarms/, which both name it); the policy's files import it from here. */
export * from '../metrics.js';
