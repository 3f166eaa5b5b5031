/**
 * Round-robin choice, pure: no state of its own. The caller keeps `cursor`
 * (the next index to use) between calls and passes back what it got.
 * A cursor beyond the end (the list shrank) wraps around; a negative or
 * non-integer cursor is treated as 0.
 */
export function pick<T>(workers: readonly T[], cursor: number): { worker: T; cursor: number } | null {
  const n = workers.length;
  if (n === 0) return null;
  const i = Number.isInteger(cursor) && cursor > 0 ? cursor % n : 0;
  return { worker: workers[i], cursor: i + 1 === n ? 0 : i + 1 };
}
