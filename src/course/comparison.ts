/**
 * Notebook 07's comparison: which methods the ledger holds for a profile, one row per method next
 * to the bag-of-words baseline, and the yardsticks every difference is read against (the test
 * set's sampling noise and the chance level).
 */
import type { BaselineSummary } from '../baseline/index.js';
import type { Splits } from '../data/split.js';
import { RESULTS_FILE } from './paths.js';
import type { MethodResult } from './results.js';
import type { Settings } from './settings.js';

/** The methods the course's notebooks record, in the order the comparison shows them. */
export const COURSE_METHODS: Readonly<Record<string, { name: string; notebook: string }>> = {
  frozen: { name: 'frozen features', notebook: '03' },
  full: { name: 'full fine-tuning', notebook: '04' },
  adapter: { name: 'adapters', notebook: '05' },
  lora: { name: 'LoRA', notebook: '05' },
  prompting: { name: 'cloze prompting', notebook: '06' },
};

/** The baseline's name in the comparison's rows. */
export const BASELINE = 'bag-of-words';

/** Whether `method` is notebook 06's prompting, which trains nothing. */
export function isPrompting(method: string): boolean {
  return method === 'prompting';
}

/** How the comparison names `method`: the course's name for it, else the name it was recorded under. */
export function methodName(method: string): string {
  return COURSE_METHODS[method]?.name ?? method;
}

export type LedgerEntry = [method: string, result: MethodResult];

/** The ledger's entries for one profile, and those left out because another profile made them. */
export interface Ledger {
  profile: string;
  recorded: LedgerEntry[];
  otherProfiles: LedgerEntry[];
}

export function ledgerFor(results: Record<string, MethodResult>, profile: string): Ledger {
  const entries = Object.entries(results);
  return { profile, recorded: entries.filter(([, r]) => r.profile === profile), otherProfiles: entries.filter(([, r]) => r.profile !== profile) };
}

/** What the ledger holds for the profile, what it leaves out and what is missing, as lines to print. */
export function ledgerReport(ledger: Ledger, file = RESULTS_FILE): string[] {
  const { profile, recorded, otherProfiles } = ledger;
  const lines: string[] = [];
  if (otherProfiles.length > 0) {
    lines.push(`Left out, recorded under another profile: ${otherProfiles.map(([m, r]) => `${m} (${r.profile ?? 'no profile'})`).join(', ')}`);
  }
  if (recorded.length === 0) {
    lines.push(
      `NO RESULTS YET: nothing is recorded for the "${profile}" profile in ${file}.`,
      'Notebooks 03 to 06 record them: run those first, or run `npm run tutorial`, which executes every notebook in order.',
      'Until then this notebook can only show the bag-of-words baseline.',
    );
    return lines;
  }
  lines.push(`Recorded for the "${profile}" profile: ${recorded.map(([m]) => methodName(m)).join(', ')}`);
  const missing = Object.keys(COURSE_METHODS).filter((m) => !recorded.some(([r]) => r === m));
  if (missing.length > 0) lines.push(`Not recorded: ${missing.map((m) => `${methodName(m)} (notebook ${COURSE_METHODS[m].notebook})`).join(', ')}`);
  return lines;
}

/** One warning for each entry recorded with other sizes than `now`'s (the settings changed between runs). */
export function settingsWarnings(recorded: readonly LedgerEntry[], now: { train_size: number; test_size: number; max_length: number }): string[] {
  return recorded.flatMap(([method, r]) => {
    const differences = Object.entries(now)
      .filter(([field, value]) => r[field] !== undefined && r[field] !== value)
      .map(([field, value]) => `${field} ${r[field]} (now ${value})`);
    return differences.length > 0 ? [`WARNING ${methodName(method)} was recorded with other settings: ${differences.join(', ')}`] : [];
  });
}

/** One method's figures, as the table, the charts and the FAQ read them. */
export interface ComparisonRow {
  method: string;
  name: string;
  accuracy: number;
  f1: number;
  trainable: number;
  total: number;
  seconds: number;
  reviewsPerSecond: number;
  memoryBytes: number;
  trainSize: number;
  /** The model the method started from, as recorded. */
  model?: string;
  /** The TensorFlow.js backend it ran on, as recorded. */
  backend?: string;
}

/** Everything notebook 07 reads its answers from. */
export interface Comparison {
  /** The recorded methods in the course's order (unknown ones after them), then the baseline. */
  rows: ComparisonRow[];
  baseline: ComparisonRow;
  trainSize: number;
  testSize: number;
  /** The 95% margin of an accuracy on the test set: differences within it are noise. */
  margin: number;
  /** The accuracy of always answering the test set's more common class. */
  chance: number;
  settings: Pick<Settings, 'profile' | 'epochs' | 'maxLength'>;
}

/** ±2·√(0.25/n): twice the largest standard error of an accuracy measured on `n` test reviews. */
export function noiseMargin(testSize: number): number {
  return 2 * Math.sqrt(0.25 / testSize);
}

/** The share of the more common of the two classes. */
export function chanceLevel(labels: readonly number[]): number {
  return Math.max(...[0, 1].map((c) => labels.filter((l) => l === c).length)) / labels.length;
}

function order(method: string): number {
  const known = Object.keys(COURSE_METHODS).indexOf(method);
  return known >= 0 ? known : method === BASELINE ? 30 : 20;
}

/** The comparison of `recorded` with the baseline trained on `splits`. */
export function compareMethods(recorded: readonly LedgerEntry[], baseline: BaselineSummary, splits: Splits, settings: Comparison['settings']): Comparison {
  const [trainSize, testSize] = [splits.train.text.length, splits.test.text.length];
  const b: ComparisonRow = {
    method: BASELINE, name: 'bag-of-words baseline', accuracy: baseline.test_accuracy, f1: baseline.test_f1, trainable: baseline.trainable_params,
    total: baseline.total_params, seconds: baseline.train_seconds, reviewsPerSecond: baseline.train_samples_per_s,
    memoryBytes: baseline.peak_memory_bytes, trainSize: baseline.train_size,
  };
  const rows = [...recorded.map(([method, r]): ComparisonRow => ({
    method, name: methodName(method), accuracy: r.test_accuracy, f1: r.test_f1, trainable: r.trainable_params, total: r.total_params,
    seconds: r.train_seconds, reviewsPerSecond: r.train_samples_per_s, memoryBytes: r.peak_memory_bytes, trainSize: Number(r.train_size ?? trainSize),
    model: r.model === undefined ? undefined : String(r.model), backend: r.backend === undefined ? undefined : String(r.backend),
  })), b].sort((x, y) => order(x.method) - order(y.method));
  return { rows, baseline: b, trainSize, testSize, margin: noiseMargin(testSize), chance: chanceLevel(splits.test.label), settings };
}

/** The comparison's table: one row per method, accuracy in percent, memory in MiB. */
export function comparisonTable(rows: readonly ComparisonRow[]): Record<string, string | number>[] {
  return rows.map((r) => ({
    method: r.name, 'test accuracy': +(100 * r.accuracy).toFixed(1), 'test F1': +r.f1.toFixed(3),
    trainable: r.trainable, 'of all weights': `${(100 * r.trainable / Math.max(1, r.total)).toPrecision(3)}%`,
    'training s': +r.seconds.toFixed(1), 'reviews/s': +r.reviewsPerSecond.toFixed(1), 'peak memory MiB': +(r.memoryBytes / 2 ** 20).toFixed(1),
  }));
}
