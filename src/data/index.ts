/**
 * Data for fine-tuning: the IMDB reviews or any labelled CSV, cleaned; seeded stratified
 * splits around a fixed held-out test split; DataFrame views for notebooks; a batch loader.
 */
export { cleanDataset, cleanText, dropDuplicates, subset } from './dataset.js';
export type { CleanedDataset, CleaningReport, TextDataset } from './dataset.js';
export { IMDB_LABEL_NAMES, loadImdb } from './imdb.js';
export { loadCsv } from './csv.js';
export type { CsvOptions } from './csv.js';
export { deriveSeed, mulberry32, permutation, shuffle } from './random.js';
export type { Random } from './random.js';
export { heldOutSplit, pretrainingText, splitDataset, TEST_FRACTION, TEST_SPLIT_SEED, trainTestSplit } from './split.js';
export type { SplitSizes, Splits } from './split.js';
export { headFrame, labelCounts, lengthStats, toDataFrame } from './frame.js';
export { DataLoader, ROW_TRUNCATIONS, splitLoaders } from './loader.js';
export type { Batch, DataLoaderOptions, Encoder, RowTruncation, TruncationOptions } from './loader.js';
