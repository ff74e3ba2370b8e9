/**
 * A dataset as danfojs DataFrames, for looking at it in a notebook: `headFrame(train).print()`.
 * (tslab shows a bare DataFrame as its internal fields; `print()` draws the table.)
 */
import type { DataFrame } from 'danfojs-node';
import type { TextDataset } from './dataset.js';
import { danfojs } from './danfo.js';
import { round } from '../numbers.js';

/** The columns text, label (class id) and class (its name). */
export function toDataFrame(dataset: TextDataset): DataFrame {
  return new (danfojs().DataFrame)({
    text: [...dataset.text],
    label: [...dataset.label],
    class: dataset.label.map((id) => dataset.labelNames[id]),
  });
}

/**
 * The first `n` examples with each text cut to `width` characters, in a table wide enough to
 * show them (danfojs cuts every cell to 16 characters otherwise).
 */
export function headFrame(dataset: TextDataset, n = 5, width = 100): DataFrame {
  const rows = Math.min(n, dataset.text.length);
  const shorten = (t: string) => (t.length > width ? t.slice(0, width - 1) + '…' : t);
  return new (danfojs().DataFrame)(
    {
      text: dataset.text.slice(0, rows).map(shorten),
      class: dataset.label.slice(0, rows).map((id) => dataset.labelNames[id]),
    },
    { config: { tableMaxRow: rows, tableDisplayConfig: { columns: { 0: { width: 5 }, 1: { width: Math.min(width, 60), wrapWord: true }, 2: { width: 10 } } } } },
  );
}

/** One row per class: its id, name, number of examples and share of the dataset. */
export function labelCounts(dataset: TextDataset): DataFrame {
  const counts = dataset.labelNames.map(() => 0);
  for (const id of dataset.label) counts[id]++;
  return new (danfojs().DataFrame)({
    label: dataset.labelNames.map((_, id) => id),
    class: [...dataset.labelNames],
    count: counts,
    share: counts.map((count) => Number((count / Math.max(1, dataset.text.length)).toFixed(4))),
  });
}

/** Rounded to one decimal, for printing. */


/** min, mean, median, 90th percentile, max; percentiles interpolate linearly, as numpy's do. */
function summary(values: number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const quantile = (q: number) => {
    const position = q * (sorted.length - 1);
    const below = Math.floor(position);
    const above = Math.ceil(position);
    return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
  };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return [sorted[0], mean, quantile(0.5), quantile(0.9), sorted[sorted.length - 1]].map((x) => round(x, 1));
}

/** Minimum, mean, median, 90th percentile and maximum text length, in words and in characters. */
export function lengthStats(dataset: TextDataset): DataFrame {
  if (dataset.text.length === 0) throw new Error('the dataset is empty; there are no lengths to describe');
  const words = summary(dataset.text.map((t) => t.split(/\s+/).length));
  const characters = summary(dataset.text.map((t) => t.length));
  const columns = ['min', 'mean', 'median', 'p90', 'max'];
  return new (danfojs().DataFrame)([words, characters], { columns, index: ['words', 'characters'] });
}
