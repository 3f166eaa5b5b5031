/** `autoscale worker --port 5001`: one worker app on its own, until Ctrl+C / SIGTERM. */
import type { CliIO } from '../cli-io.js';
import { startWorker } from '../app/worker.js';
import { listenError } from '../errors.js';

export interface WorkerCommandOptions {
  port: number;
  host: string;
  work: number;
  id: number;
}

export async function runWorker(opts: WorkerCommandOptions, io: CliIO): Promise<number> {
  let worker;
  try {
    worker = await startWorker(opts);
  } catch (err) {
    const e = listenError(err, opts.host, opts.port, 'worker', '--port');
    io.stderr.write(`error: ${e.message}\n`);
    return e.exitCode;
  }
  io.stdout.write(`worker ${opts.id} listening on ${worker.url} (pid ${process.pid}, ${opts.work} ms of CPU work per request); Ctrl+C to stop\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const { forced } = await worker.close();
  io.stdout.write(`worker ${opts.id} stopped (${signal}${forced ? ', in-flight requests cut after the timeout' : ''})\n`);
  return 0;
}
