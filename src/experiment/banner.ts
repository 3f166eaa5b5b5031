/**
 * The experiment on the arm's live page: what the runner's own progress line
 * knows (arm, phase, next timed event) sent to the arm's lab as an
 * `experiment` control request, which the lab shows on its page's banner.
 * Sent only when it changes (the page counts down to the next event on the
 * lab's clock by itself); the progress ticks at most once a second, so this
 * does too, and one request at most is on the way (a newer one waits, older
 * ones are dropped).
 */
import type { ControlRequest, ExperimentStatus } from '../control/protocol.js';
import type { ArmLive } from './run-arm.js';

/** The banner's data from the progress' live data. */
export function bannerStatus(name: string, arm: number, arms: number, armName: string, live: ArmLive): ExperimentStatus {
  return {
    name,
    arm: armName,
    phase: live.phase,
    next: live.next === null ? null : { t: Math.round((live.offsetSec + live.next.at) * 1000), what: live.next.label },
    detail: `arm ${arm} of ${arms}`,
  };
}

type Send = (request: ControlRequest) => Promise<unknown>;

export class BannerSender {
  readonly #send: Send;
  #last = '';
  #busy = false;
  #waiting: ExperimentStatus | null = null;

  constructor(send: Send) {
    this.#send = send;
  }

  /** Show this status, unless it is the one shown already. */
  update(status: ExperimentStatus): void {
    const key = JSON.stringify(status);
    if (key === this.#last) return;
    this.#last = key;
    if (this.#busy) {
      this.#waiting = status;
      return;
    }
    this.#busy = true;
    // The banner is a courtesy: a lab that is stopping, or has no page, costs nothing but this note.
    void this.#send({ cmd: 'experiment', status })
      .catch(() => undefined)
      .then(() => {
        this.#busy = false;
        const next = this.#waiting;
        this.#waiting = null;
        if (next !== null) {
          this.#last = '';
          this.update(next);
        }
      });
  }
}
