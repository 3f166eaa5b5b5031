/** `autoscale worker --port 5001`: one worker app on its own, until Ctrl+C / SIGTERM. */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import type { CliIO } from '../cli-io.js';
import { startWorker } from '../app/worker.js';
import { listenError } from '../errors.js';
import { describeLocation, standaloneSqlite, type StoreLocation } from '../store/location.js';
import { createStore } from '../store/open.js';

export interface WorkerCommandOptions {
  port: number;
  host: string;
  work: number;
  id: number;
  /** null: $XDG_STATE_HOME/autoscale/visits.db, shared by every standalone worker. */
  database?: StoreLocation | null;
}

export async function runWorker(opts: WorkerCommandOptions, io: CliIO): Promise<number> {
  const location = opts.database ?? standaloneSqlite(io.env ?? process.env, homedir());
  if (opts.database == null && location.kind === 'sqlite') mkdirSync(dirname(location.file), { recursive: true });
  const store = await createStore(location, { applicationName: `autoscale worker ${opts.id}` });
  try {
    await store.init();
  } catch (err) {
    await store.close();
    io.stderr.write(`error: cannot use the visits database: ${(err as Error).message}\n`);
    return 1;
  }
  let worker;
  try {
    worker = await startWorker({ ...opts, store });
  } catch (err) {
    await store.close();
    const e = listenError(err, opts.host, opts.port, 'worker', '--port');
    io.stderr.write(`error: ${e.message}\n`);
    return e.exitCode;
  }
  io.stdout.write(
    `worker ${opts.id} listening on ${worker.url} (pid ${process.pid}, ${opts.work} ms of CPU work per request, visits in ${location.kind} ${describeLocation(location)}); Ctrl+C to stop\n`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const { forced } = await worker.close();
  io.stdout.write(`worker ${opts.id} stopped (${signal}${forced ? ', in-flight requests cut after the timeout' : ''})\n`);
  return 0;
}
