/**
 * Stratified, seeded splits. One test split per dataset is fixed for good (its seed never
 * changes), so fine-tuning, every comparison between methods and masked-LM pretraining all
 * leave out the same examples; training and validation sets are then drawn from the rest
 * with the run's seed.
 */
import { subset, type TextDataset } from './dataset.js';
import { loadImdb } from './imdb.js';
import { mulberry32, shuffle, type Random } from './random.js';
import { wholeNumber } from '../numbers.js';

/** Share of every dataset held out for the final test and never trained on, pretraining included. */
export const TEST_FRACTION = 0.2;

/** Seed of the held-out test split. Fixed on purpose: a run's own seed must not move it. */
export const TEST_SPLIT_SEED = 20_240_601;

/** Example counts asked of `splitDataset`; `Settings` has these fields, so settings can be passed as they are. */
export interface SplitSizes {
  trainSize: number;
  valSize: number;
  testSize: number;
}

export interface Splits {
  train: TextDataset;
  validation: TextDataset;
  test: TextDataset;
}

/**
 * How many of each class to take so that `n` examples keep the classes' shares: each count
 * is its exact share rounded down, and the leftover examples go to the largest remainders
 * (Hamilton's method), so every count is within one example of the exact share.
 */
function apportion(classSizes: readonly number[], n: number): number[] {
  const total = classSizes.reduce((a, b) => a + b, 0);
  const counts = classSizes.map((size) => Math.floor((n * size) / total));
  const byRemainder = classSizes
    .map((size, c) => ({ c, remainder: (n * size) % total }))
    .sort((a, b) => b.remainder - a.remainder || a.c - b.c);
  let leftover = n - counts.reduce((a, b) => a + b, 0);
  for (const { c } of byRemainder) {
    if (leftover-- <= 0) break;
    counts[c]++;
  }
  return counts;
}

/**
 * Takes `n` of `indices` (positions in `dataset`) stratified by label; returns the taken
 * indices and the rest, each in random order.
 */
function stratifiedTake(dataset: TextDataset, indices: readonly number[], n: number, random: Random): [number[], number[]] {
  if (!Number.isInteger(n) || n < 0 || n > indices.length) {
    throw new Error(`cannot take ${n} examples out of ${indices.length}; ask for a whole number from 0 to ${indices.length}`);
  }
  const byClass: number[][] = dataset.labelNames.map(() => []);
  for (const i of indices) byClass[dataset.label[i]].push(i);
  const counts = apportion(byClass.map((members) => members.length), n);
  const taken: number[] = [];
  const rest: number[] = [];
  byClass.forEach((members, c) => {
    const order = shuffle(members, random);
    taken.push(...order.slice(0, counts[c]));
    rest.push(...order.slice(counts[c]));
  });
  return [shuffle(taken, random), shuffle(rest, random)];
}

function allIndices(dataset: TextDataset): number[] {
  return dataset.text.map((_, i) => i);
}

/**
 * scikit-learn's `train_test_split(X, y, test_size=..., stratify=y, random_state=seed)`:
 * `testSize` is a fraction (0 < testSize < 1) or a number of examples.
 */
export function trainTestSplit(dataset: TextDataset, options: { testSize: number; seed: number }): { train: TextDataset; test: TextDataset } {
  const { testSize, seed } = options;
  const n = testSize < 1 ? Math.round(testSize * dataset.text.length) : testSize;
  const [test, train] = stratifiedTake(dataset, allIndices(dataset), n, mulberry32(seed));
  return { train: subset(dataset, train), test: subset(dataset, test) };
}

/**
 * The fixed held-out test split (`TEST_FRACTION` of the examples, stratified, drawn with
 * `TEST_SPLIT_SEED`) and everything else. The same dataset always gives the same split.
 */
export function heldOutSplit(dataset: TextDataset): { rest: TextDataset; test: TextDataset } {
  const n = Math.round(TEST_FRACTION * dataset.text.length);
  const [test, rest] = stratifiedTake(dataset, allIndices(dataset), n, mulberry32(TEST_SPLIT_SEED));
  return { rest: subset(dataset, rest), test: subset(dataset, test) };
}

/** The texts outside the held-out test split (of the IMDB reviews by default): the corpus for masked-LM pretraining. */
export function pretrainingText(dataset: TextDataset = loadImdb()): readonly string[] {
  return heldOutSplit(dataset).rest.text;
}

/**
 * Training, validation and test sets, all stratified by label. The test set is a fixed
 * subset of the held-out split (the same for every seed); training and validation sets are
 * drawn from the other examples with `seed`. Sizes are upper limits: `testSize` is capped
 * at the held-out split, and when the rest is smaller than `trainSize + valSize` it is all
 * used, divided in the ratio asked for.
 */
export function splitDataset(dataset: TextDataset, options: SplitSizes & { seed: number }): Splits {
  const { trainSize, valSize, testSize, seed } = options;
  for (const [name, size] of Object.entries({ trainSize, valSize, testSize })) {
    wholeNumber(name, size, 0);
  }
  const { rest, test } = heldOutSplit(dataset);
  const [testPart] = stratifiedTake(test, allIndices(test), Math.min(testSize, test.text.length), mulberry32(TEST_SPLIT_SEED));

  const pool = rest.text.length;
  const scale = Math.min(1, pool / Math.max(1, trainSize + valSize));
  const nVal = Math.round(valSize * scale);
  const nTrain = Math.min(pool - nVal, Math.round(trainSize * scale));
  const random = mulberry32(seed);
  const [validation, others] = stratifiedTake(rest, allIndices(rest), nVal, random);
  const [train] = stratifiedTake(rest, others, nTrain, random);
  return { train: subset(rest, train), validation: subset(rest, validation), test: subset(test, testPart) };
}
