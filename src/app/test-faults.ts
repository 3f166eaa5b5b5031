/**
 * Test-only faults for the chaos suite (`npm run chaos`). Off unless the
 * worker's environment has AUTOSCALE_TEST_FAULTS=1, and then switched by
 * signals only, never by a request, so nothing that comes through the
 * balancer can turn them on:
 *   SIGUSR1  /health answers 500 (the worker still serves everything else)
 *   SIGUSR2  every route answers 500
 * Each signal toggles its fault: sent again, the worker is well again (how
 * `autoscale experiment` makes a fault last N seconds).
 * And AUTOSCALE_TEST_CRASH_FILE=<path>: a worker that starts while <path>
 * exists exits 1 at once (a crash loop on demand).
 */
import { existsSync } from 'node:fs';
import type { NextFunction, Request, Response } from 'express';

const faults = { health: false, all: false };

export function testFaultsEnabled(env: NodeJS.ProcessEnv): boolean {
  return env.AUTOSCALE_TEST_FAULTS === '1';
}

/** True when this worker should crash at start (test-only, see above). */
export function crashAtStart(env: NodeJS.ProcessEnv): boolean {
  const file = env.AUTOSCALE_TEST_CRASH_FILE;
  return testFaultsEnabled(env) && typeof file === 'string' && file !== '' && existsSync(file);
}

export function installTestFaults(env: NodeJS.ProcessEnv, log: (line: string) => void): void {
  if (!testFaultsEnabled(env)) return;
  process.on('SIGUSR1', () => {
    faults.health = !faults.health;
    log(faults.health ? 'test fault: /health now answers 500' : 'test fault over: /health answers normally again');
  });
  process.on('SIGUSR2', () => {
    faults.all = !faults.all;
    log(faults.all ? 'test fault: every route now answers 500' : 'test fault over: every route answers normally again');
  });
}

export function faultMiddleware(req: Request, res: Response, next: NextFunction): void {
  if (faults.all || (faults.health && req.path === '/health')) {
    res.status(500).json({ error: 'test fault' });
    return;
  }
  next();
}
