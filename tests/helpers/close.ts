/**
 * Numeric closeness for the tests that compare tensors with references: the largest difference,
 * where it is, and an assertion with an absolute tolerance or one relative to the reference's size.
 */
import assert from 'node:assert/strict';

/** The largest |actual - expected| and its index (NaN counts as the largest, and stays so); asserts equal lengths. */
function worstDifference(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): { worst: number; at: number } {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length && !Number.isNaN(worst); i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) [worst, at] = [d, i];
  }
  return { worst, at };
}

/** max |actual - expected| over two arrays of the same length (NaN if any difference is NaN). */
export function maxAbsDiff(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  return worstDifference(actual, expected, 'maxAbsDiff').worst;
}

export interface CloseOptions {
  /**
   * Scale the tolerance by max(1, max |expected|): an absolute tolerance for values of order one,
   * relative to the largest value otherwise. Default false (absolute).
   */
  relative?: boolean;
}

/** Asserts equal lengths and max |actual - expected| <= tol (times the scale with `relative`); a NaN fails. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string, options: CloseOptions = {}): void {
  const { worst, at } = worstDifference(actual, expected, what);
  let scale = 1;
  if (options.relative) for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  const bound = options.relative ? `${tol} * ${scale}` : `${tol}`;
  assert.ok(worst <= tol * scale, `${what}: max |diff| ${worst} at ${at} (${actual[at]} vs ${expected[at]}) exceeds ${bound}`);
}
