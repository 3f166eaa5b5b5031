/**
 * Entry point of a load worker thread: runs one LoadEngine shard and answers
 * the main thread's start / collect / stop messages (see shard.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { LoadEngine, type EngineConfig } from './engine.js';
import { encodeReport } from './report.js';
import type { ToWorker, FromWorker } from './shard.js';

const port = parentPort;
if (port === null) throw new Error('loadgen/worker.ts must run in a worker thread');

const engine = new LoadEngine(workerData as EngineConfig);
let stopped: Promise<void> | null = null;

function send(message: FromWorker): void {
  port?.postMessage(message);
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'start':
      // The main thread sends an absolute time so that every shard shares t = 0.
      engine.start(message.startAtEpochMs - performance.timeOrigin);
      break;
    case 'collect':
      send({ type: 'report', id: message.id, report: encodeReport(engine.collect()) });
      break;
    case 'stop':
      if (stopped !== null) {
        void engine.stop(message.abort);
        break;
      }
      stopped = engine.stop(message.abort).then(
        () => {
          send({ type: 'stopped', report: encodeReport(engine.collect()) });
          port.close();
        },
        (err: unknown) => send({ type: 'failed', message: err instanceof Error ? err.message : String(err) }),
      );
      break;
  }
});
send({ type: 'ready' });
