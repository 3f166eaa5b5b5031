/** Words for the timeline's steps, shared by the progress display, the record and the report's marks. Pure. */
import type { Step } from './timeline.js';
import type { TimedEvent, WorkerSelector } from './schema.js';

export function describeSelector(w: WorkerSelector | undefined): string {
  if (w === undefined) return '';
  return w.kind === 'id' ? `worker ${w.id}` : `the ${w.kind} worker`;
}

const s = (v: number) => `${Math.round(v * 10) / 10} s`;

export function describeEvent(e: TimedEvent): string {
  const who = describeSelector(e.worker);
  switch (e.action) {
    case 'sigkill':
      return `SIGKILL ${who}`;
    case 'sigstop':
      return `SIGSTOP ${who}${e.for === undefined ? '' : ` for ${s(e.for)}`}`;
    case 'sigcont':
      return `SIGCONT ${who}`;
    case 'fail-500':
      return `${who} answers 500 for ${s(e.for!)}`;
    case 'fail-health':
      return `${who} fails /health for ${s(e.for!)}`;
    case 'noisy-neighbour':
      return `noisy neighbour: ${e.cores ?? 1} busy core${(e.cores ?? 1) === 1 ? '' : 's'} outside the pool for ${s(e.for!)}`;
    case 'scale':
      return `manual scale to ${e.n}`;
    case 'pause':
      return 'pause automatic scaling';
    case 'resume':
      return 'resume automatic scaling';
    case 'refresh':
      return `rolling refresh${e.minHealthy === undefined ? '' : ` (min healthy ${e.minHealthy} %)`}`;
  }
}

function endOf(e: TimedEvent): string {
  switch (e.action) {
    case 'sigstop':
      return 'SIGCONT (end of the SIGSTOP)';
    case 'noisy-neighbour':
      return 'noisy neighbour gone';
    default:
      return `${e.action} over`;
  }
}

export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'phase': {
      const p = step.phase;
      const how = p.threads === 0 ? 'no load' : p.rate !== null ? `${p.rate} req/s` : `${p.threads} threads`;
      const profile = p.flags.includes('--profile') ? p.flags[p.flags.indexOf('--profile') + 1] : 'constant';
      return `${p.name}: ${p.threads === 0 ? how : `${profile}, ${how}`}, ${s(p.durationSec)}`;
    }
    case 'event':
      return describeEvent(step.event);
    case 'event-end':
      return endOf(step.event);
    case 'end':
      return 'end of the load';
  }
}
