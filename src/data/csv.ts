/** Labelled texts from any CSV file with a text column and a label column, like the article's `movie.csv`. */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { cleanText, dropDuplicates, type CleanedDataset } from './dataset.js';
import { danfojs, type Danfo } from './danfo.js';

export interface CsvOptions {
  /** Default `text`. */
  textColumn?: string;
  /** Default `label`. */
  labelColumn?: string;
  /**
   * Class names in id order, e.g. `['negative', 'positive']`. A label must then be one of
   * these names or an id below `classes.length`. Without it, whole-number labels are the ids
   * (0 to the largest, every id in between present) and other labels are sorted by name to
   * give ids 0, 1, ...
   */
  classes?: readonly string[];
}

/**
 * PapaParse options, which readCSV passes on (its typings only know them with @types/papaparse):
 * keep every cell a string (a review reading "10" stays text), skip blank lines, and drop a
 * byte-order mark and stray spaces from the column names.
 */
const PARSE_OPTIONS = {
  dynamicTyping: false,
  skipEmptyLines: 'greedy',
  transformHeader: (name: string) => name.replace(/^\ufeff/, '').trim(),
} as Parameters<Danfo['readCSV']>[1];

/** Rejects what readCSV would report vaguely or not at all: a missing path, a directory, an empty or binary file. */
function checkFile(path: string): void {
  let stats;
  try {
    stats = statSync(path);
  } catch {
    throw new Error(`${path} does not exist (resolved to ${resolve(path)}); give the path of a CSV file with text and label columns`);
  }
  if (!stats.isFile()) throw new Error(`${path} is not a file; give the path of a CSV file with text and label columns`);
  if (stats.size === 0) throw new Error(`${path} is empty; a CSV file needs a header line (e.g. text,label) and one line per example`);
  const head = Buffer.alloc(Math.min(stats.size, 4096));
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (head.includes(0)) throw new Error(`${path} is not a CSV file: it holds binary data; export the data as CSV text (UTF-8)`);
}

/** Data rows are counted from 1, leaving out the header line and blank lines (which readCSV skips). */
function rowName(path: string, i: number): string {
  return `${path}, data row ${i + 1}`;
}

function classIds(path: string, labels: string[], column: string, classes: readonly string[] | undefined): { ids: number[]; names: string[] } {
  labels.forEach((label, i) => {
    if (label === '') throw new Error(`${rowName(path, i)}: the ${column} is empty; fill it in or delete the row`);
  });
  const isWhole = (label: string) => /^\d+$/.test(label);
  if (classes) {
    const ids = labels.map((label, i) => {
      const byName = classes.indexOf(label);
      if (byName >= 0) return byName;
      if (isWhole(label) && Number(label) < classes.length) return Number(label);
      throw new Error(
        `${rowName(path, i)}: ${column} ${JSON.stringify(label)} is not one of the classes ${JSON.stringify(classes)} (nor an id below ${classes.length}); fix the row or add the class`,
      );
    });
    return { ids, names: [...classes] };
  }
  if (labels.every(isWhole)) {
    const ids = labels.map(Number);
    const count = ids.reduce((max, id) => Math.max(max, id), 0) + 1;
    const present = new Set(ids);
    const missing = Array.from({ length: count }, (_, id) => id).filter((id) => !present.has(id));
    if (missing.length > 0) {
      throw new Error(
        `${path}: the ${column}s are class ids up to ${count - 1}, but ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''} never occur; ` +
          `number the classes 0, 1, ... without gaps, or pass classes to name them`,
      );
    }
    return { ids, names: Array.from({ length: count }, (_, id) => String(id)) };
  }
  const names = [...new Set(labels)].sort();
  const idOf = new Map(names.map((name, id) => [name, id]));
  return { ids: labels.map((label) => idOf.get(label)!), names };
}

/**
 * Reads `path` with danfojs-node's `readCSV`, then checks and cleans it like `loadImdb`
 * (`<br />` tags and extra whitespace removed, duplicated texts dropped). The class names by
 * id are in `labelNames`. Throws an Error naming the file, row or column and the fix when the
 * file is missing, empty or not CSV, a column is missing, or a text or label is empty or unknown.
 */
export async function loadCsv(path: string, options: CsvOptions = {}): Promise<CleanedDataset> {
  const { textColumn = 'text', labelColumn = 'label', classes } = options;
  checkFile(path);
  let frame;
  try {
    frame = await danfojs().readCSV(path, PARSE_OPTIONS);
  } catch (error) {
    const reason = (error as Error).message;
    if (/No data found/.test(reason)) throw new Error(`${path} has a header line but no data rows; add one line per example`);
    throw new Error(`${path} is not valid CSV (${reason}); quote every text that holds a comma, quote or line break ("like, this", with "" for a quote inside)`);
  }
  for (const column of [textColumn, labelColumn]) {
    if (!frame.columns.includes(column)) {
      throw new Error(
        `${path} has no ${JSON.stringify(column)} column; its columns are ${JSON.stringify(frame.columns)}. ` +
          `Rename the column in the file, or pass { textColumn, labelColumn } with the names it uses`,
      );
    }
  }
  const cells = (column: string) => (frame.column(column).values as unknown[]).map((value) => String(value ?? '').trim());
  const text = cells(textColumn).map(cleanText);
  text.forEach((t, i) => {
    if (t === '') throw new Error(`${rowName(path, i)}: the ${textColumn} is empty; fill it in or delete the row`);
  });
  const { ids, names } = classIds(path, cells(labelColumn), labelColumn, classes);
  return dropDuplicates({ text, label: ids, labelNames: names });
}
