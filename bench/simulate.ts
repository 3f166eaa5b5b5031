/**
 * Simulator benchmark: a day of 1-second steps (86,400) through the live
 * policy, for a fleet that grows to 10,000 instances, against a reference of
 * the same day for a fleet of 10 in the same run (same code, 1,000× fewer
 * instances): the ratio shows what the fleet's size costs.
 *
 *   node --import tsx bench/simulate.ts        (or: npm run bench -- simulate)
 */
import { performance } from 'node:perf_hooks';
import { simulate } from '../src/simulate/engine.js';
import { profileLoad } from '../src/simulate/load.js';
import { EXPONENTIAL_P95, type CapacityModel } from '../src/simulate/model.js';
import { resolvePolicy } from '../src/settings/policy-flags.js';

const DAY = 86_400;
const CAPACITY = 100; // req/s per instance at 100 % of a core
const model: CapacityModel = { mode: 'open', serviceMs: 1000 / CAPACITY, cpuPerRequest: 1 / CAPACITY, cores: Infinity, baseLatencyMs: 0, p95Factor: EXPONENTIAL_P95, timeoutMs: 10_000, host: { kind: 'fleet' } };

function run(maxInstances: number) {
  // A daily sine whose peak needs more than maxInstances at the 60 % target, so the fleet reaches --max.
  const peak = maxInstances * CAPACITY * 0.7;
  const load = profileLoad({ name: 'sine', base: peak / 20, periodSec: DAY }, peak, DAY);
  const config = resolvePolicy({ policy: 'target', metric: 'worker-cpu', target: '60', max: String(maxInstances), scaleDownWindow: '300' });
  const t0 = performance.now();
  const sim = simulate({ load, model, config, bootMs: 90_000 });
  const ms = performance.now() - t0;
  let peakLive = 0;
  for (const n of sim.live) peakLive = Math.max(peakLive, n);
  return { ms, peakLive, ticks: sim.ticks.length, scales: sim.scales.length };
}

run(10); // warm the JIT
const best = (n: number) => [run(n), run(n), run(n)].sort((a, b) => a.ms - b.ms)[0];
const small = best(10);
const big = best(10_000);
const line = (name: string, r: ReturnType<typeof run>) =>
  `${name.padEnd(16)} peak ${String(r.peakLive).padStart(6)} instances  ${r.ticks.toLocaleString('en-US')} ticks  ${r.scales} scale actions  ${r.ms.toFixed(0).padStart(6)} ms  (${((r.ms * 1000) / DAY).toFixed(2)} µs per simulated second)`;
process.stdout.write(`one day (${DAY.toLocaleString('en-US')} one-second steps), target worker-cpu 60 %, 90 s boots, best of 3\n`);
process.stdout.write(`${line('reference: 10', small)}\n${line('fleet: 10,000', big)}\n`);
process.stdout.write(`ratio 10,000 / 10 instances: ${(big.ms / small.ms).toFixed(2)}×\n`);
