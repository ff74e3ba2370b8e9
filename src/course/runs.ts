/**
 * A method notebook's training run, as notebooks 04 and 05 make it and notebook 03 shows step by
 * step: the split's loaders built from the settings, and the run's figures in the results ledger.
 */
import { currentBackend } from '../backend/index.js';
import { splitLoaders, type DataLoader } from '../data/loader.js';
import type { Splits } from '../data/split.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import type { Evaluation } from '../train/classifier.js';
import type { FitResult } from '../train/trainer.js';
import type { FinetuneOptions } from '../finetune/finetune.js';
import type { GridBase } from '../finetune/grid.js';
import type { Method } from '../finetune/methods.js';
import { readResults, recordResult, type MethodResult } from './results.js';
import { RESULTS_FILE } from './paths.js';
import type { Settings } from './settings.js';

/** The split's loaders with the settings' batch size, length limit, truncation and seed, each batch padded to its longest review. */
export function courseLoaders(splits: Splits, tokenizer: BertTokenizer, settings: Settings): { train: DataLoader; validation: DataLoader; test: DataLoader } {
  const { batchSize, maxLength, truncation, headTokens, seed } = settings;
  return splitLoaders(splits, { tokenizer, batchSize, maxLength, truncation, headTokens, padding: 'longest', seed });
}

/** What every run under the settings shares, whichever its method (`gridSearch`'s base): its sizes, the cut, the pooling (frozen) and the adapter size. */
export function courseRunOptions(settings: Settings): GridBase {
  const { model, trainSize, valSize, batchSize, maxLength, truncation, headTokens, pooling, seed, engine, adapterSize } = settings;
  return {
    model, trainSize, valSize, batchSize, maxLength, truncation, headTokens, pooling, seed, engine,
    adapter: adapterSize === undefined ? undefined : { bottleneck_size: adapterSize },
  };
}

/** `finetune`'s options for `method` under the settings: the shared ones, the test size and the method's recipe. */
export function courseFinetuneOptions(settings: Settings, method: Method): FinetuneOptions {
  const { pooling, ...shared } = courseRunOptions(settings);
  const { lr, epochs } = settings.recipes[method];
  return { ...shared, method, lr, epochs, testSize: settings.testSize, pooling: method === 'frozen' ? pooling : undefined };
}

/** What a training run measured, and under which settings. */
export interface TrainingRun {
  settings: Settings;
  /** The model trained, as loaded (a directory or a Hub id). */
  model: string;
  lr: number;
  counts: { trainable: number; total: number };
  fit: Pick<FitResult, 'history' | 'trainSeconds' | 'trainSamplesPerSecond'>;
  test: Pick<Evaluation, 'accuracy' | 'f1'>;
  /** Peak tensor bytes while training (measurePeakMemory). */
  peakBytes: number;
  trainSize: number;
  testSize: number;
  /** The training time when it is more than fit's own (frozen features: plus BERT's pass over the training reviews). */
  trainSeconds?: number;
}

/** Records `run` as `method`'s result, with the profile and the backend in use, and returns the entry stored. */
export function recordRun(method: string, run: TrainingRun, file = RESULTS_FILE): MethodResult {
  const { settings, fit } = run;
  const trainSeconds = run.trainSeconds ?? fit.trainSeconds;
  recordResult(method, {
    test_accuracy: run.test.accuracy, test_f1: run.test.f1,
    trainable_params: run.counts.trainable, total_params: run.counts.total,
    train_seconds: trainSeconds,
    train_samples_per_s: run.trainSeconds === undefined ? fit.trainSamplesPerSecond : (fit.history.length * run.trainSize) / trainSeconds,
    peak_memory_bytes: run.peakBytes,
    profile: settings.profile, model: run.model, backend: currentBackend()?.name, epochs: fit.history.length,
    train_size: run.trainSize, test_size: run.testSize, max_length: settings.maxLength, lr: run.lr,
  }, file);
  return readResults(file)[method];
}
