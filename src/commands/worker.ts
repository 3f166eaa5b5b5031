/** `autoscale worker --port 5001`: one worker app on its own, until Ctrl+C / SIGTERM. */
import type { CliIO } from '../cli-io.js';
import { startWorker } from '../app/worker.js';
import { PortInUseError } from '../errors.js';

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
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      io.stderr.write(`error: ${new PortInUseError(opts.host, opts.port).message}\n`);
      return 1;
    }
    io.stderr.write(`error: cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}\n`);
    return 1;
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
