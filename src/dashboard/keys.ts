/**
 * Which dashboard action a key press means. Pure: blessed hands us the typed
 * character and its parsed key; the wiring only acts on the answer.
 */

export type KeyAction = 'quit' | 'scale-out' | 'scale-in' | 'toggle-pause' | 'toggle-help' | 'close-help';

export interface KeyInfo {
  name?: string;
  ctrl?: boolean;
  meta?: boolean;
}

/** '+' (or '=' on the same key, unshifted), '-', 'p', 'q', Ctrl+C, '?', Esc. Anything else: null. */
export function keyAction(ch: string | undefined, key: KeyInfo | undefined): KeyAction | null {
  if (key?.ctrl && key.name === 'c') return 'quit';
  if (key?.ctrl || key?.meta) return null;
  if (key?.name === 'escape') return 'close-help';
  switch (ch) {
    case 'q':
    case 'Q':
      return 'quit';
    case '+':
    case '=':
      return 'scale-out';
    case '-':
      return 'scale-in';
    case 'p':
    case 'P':
      return 'toggle-pause';
    case '?':
    case 'h':
      return 'toggle-help';
    default:
      return null;
  }
}

export interface ScaleLimits {
  paused: boolean;
  /** The count the lab is heading for (null before the first tick). */
  desired: number | null;
  min: number | null;
  max: number | null;
}

/**
 * What the footer says right after a key, until the lab answers with an
 * event. A manual scale beyond min/max is refused by the lab silently, so the
 * footer says so here.
 */
export function noticeFor(action: KeyAction, limits: ScaleLimits): string | null {
  const { desired, min, max } = limits;
  switch (action) {
    case 'quit':
      return 'stopping: draining and stopping workers…';
    case 'scale-out':
      return desired !== null && max !== null && desired >= max ? `already at max ${max}: not scaling out` : 'scaling out by one…';
    case 'scale-in':
      return desired !== null && min !== null && desired <= min ? `already at min ${min}: not scaling in` : 'scaling in by one…';
    case 'toggle-pause':
      return limits.paused ? 'resuming autoscaling…' : 'pausing autoscaling…';
    case 'toggle-help':
    case 'close-help':
      return null;
  }
}
