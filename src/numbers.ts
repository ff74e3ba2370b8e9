/** The small numeric helpers the whole library shares, each written once. */

/** `x` rounded to `digits` decimals (for reports and summaries; never for what a model computes). */
export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** The index of the largest value (the first, on ties), e.g. a prediction from class scores. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** `value`, checked to be a whole number of at least `min`; the error names the setting. */
export function wholeNumber(name: string, value: number, min = 1): number {
  if (Number.isInteger(value) && value >= min) return value;
  const wanted = min === 1 ? 'a positive integer (a whole number of at least 1)' : min === 0 ? 'a whole number (0 or more)' : `a whole number of at least ${min}`;
  throw new RangeError(`${name}=${value} must be ${wanted}`);
}

/** A time left or taken, compactly: `42s`, `3m05s`, `1h02m`; `?` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const [h, m, s] = [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), Math.round(seconds % 60)];
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}
