/**
 * `npm run bench`: every benchmark in turn, each in its own process so one
 * cannot disturb the next. Not part of `npm test`.
 *
 *   npm run bench                 # all
 *   npm run bench -- balancer     # only the named ones (balancer, cli-startup, loadgen, scaling, simulate, visits, web)
 *   npm run bench -- balancer --rounds 3 --profile   # flags go to every chosen benchmark
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ALL = ['balancer', 'cli-startup', 'loadgen', 'scaling', 'simulate', 'visits', 'web'];
const args = process.argv.slice(2);
const firstFlag = args.findIndex((a) => a.startsWith('-'));
const chosen = firstFlag === -1 ? args : args.slice(0, firstFlag);
const flags = firstFlag === -1 ? [] : args.slice(firstFlag);
const unknown = chosen.filter((c) => !ALL.includes(c));
if (unknown.length > 0) {
  process.stderr.write(`error: unknown benchmark ${unknown.join(', ')} (expected some of: ${ALL.join(', ')})\n`);
  process.exit(2);
}
let failed = 0;
for (const name of chosen.length > 0 ? chosen : ALL) {
  process.stdout.write(`\n=== bench/${name}.ts ===\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, `${name}.ts`), ...flags], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`bench/${name}.ts exited with ${r.status ?? r.signal}\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
