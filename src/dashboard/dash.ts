/**
 * Dashed lines for blessed-contrib's line chart, whose canvas has no
 * setLineDash: a series marked `dashed` has every other run of pixels along
 * its path left out, so it stays findable where another line covers it.
 */

/** Pixels drawn, then pixels skipped, along a path (a braille cell is 2 px wide, 4 px high). */
export const DASH_ON = 4;
export const DASH_OFF = 4;

/** Wrap a pixel setter so that only the "on" runs of the path are set. The count runs on across segments. */
export function dashedPlotter(set: (x: number, y: number) => void, on = DASH_ON, off = DASH_OFF): (x: number, y: number) => void {
  let i = 0;
  return (x, y) => {
    if (i++ % (on + off) < on) set(x, y);
  };
}

interface DrawilleCanvas {
  color: unknown;
  set(x: number, y: number): void;
}
interface DrawilleContext {
  _canvas: DrawilleCanvas;
  stroke(): void;
  beginPath(): void;
  moveTo(x: number, y: number): void;
  lineTo(x: number, y: number): void;
  __dashedColors?: Set<string>;
  __gaps?: true;
}

/**
 * Gaps for blessed-contrib's line chart, which joins every point of a series: a
 * point whose y is not a number (NaN: no value that second) is left out and the
 * line lifts there, so idle time keeps its place on the x axis as a gap instead
 * of being squeezed out or drawn as a fake 0. A point alone between gaps is a dot.
 * (Without this, a NaN point would reach the canvas's line drawing, whose loop
 * never ends on NaN.) Call it once the chart is attached, before setData; idempotent.
 */
export function gapStrokes(chart: unknown): void {
  const ctx = (chart as { ctx?: DrawilleContext }).ctx;
  if (!ctx || ctx.__gaps) return;
  ctx.__gaps = true;
  const beginPath = ctx.beginPath.bind(ctx);
  const moveTo = ctx.moveTo.bind(ctx);
  const lineTo = ctx.lineTo.bind(ctx);
  let lifted = true;
  ctx.beginPath = () => {
    lifted = true;
    beginPath();
  };
  ctx.moveTo = (x, y) => {
    lifted = !Number.isFinite(x) || !Number.isFinite(y);
    if (!lifted) moveTo(x, y);
  };
  ctx.lineTo = (x, y) => {
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      lifted = true;
      return;
    }
    if (lifted) {
      // The first point after a gap starts a new piece of line (and is a dot if the next one is a gap too).
      moveTo(x, y);
      lifted = false;
    }
    lineTo(x, y);
  };
}

/**
 * Make the chart's strokes in any of `colors` dashed (each dashed series has a
 * colour of its own on its chart). The chart's drawing context is made when it
 * is attached to the screen; call this after that, before setData.
 */
export function dashStrokes(chart: unknown, colors: readonly string[]): void {
  const ctx = (chart as { ctx?: DrawilleContext }).ctx;
  if (!ctx) return;
  if (!ctx.__dashedColors) {
    const dashed = new Set<string>();
    ctx.__dashedColors = dashed;
    const stroke = ctx.stroke.bind(ctx);
    ctx.stroke = () => {
      const canvas = ctx._canvas;
      if (typeof canvas.color !== 'string' || !dashed.has(canvas.color)) return stroke();
      const own = Object.prototype.hasOwnProperty.call(canvas, 'set');
      const set = canvas.set;
      canvas.set = dashedPlotter(set.bind(canvas));
      try {
        stroke();
      } finally {
        if (own) canvas.set = set;
        else delete (canvas as Partial<DrawilleCanvas>).set;
      }
    };
  }
  ctx.__dashedColors.clear();
  for (const c of colors) ctx.__dashedColors.add(c);
}
