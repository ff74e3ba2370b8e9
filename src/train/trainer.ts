/**
 * The training loop: the article's `train()` grown into what a real run needs.
 * AdamW with transformers' weight-decay groups, linear warm-up and decay, gradient clipping,
 * validation after every epoch with the best model kept, a resumable checkpoint, a clear stop
 * when the loss stops being a finite number, and progress that suits a terminal or a notebook.
 *
 * The loop knows nothing about BERT: it trains any `Classifier` on any `BatchSource`, which is
 * how frozen features (batches of cached vectors) and fine-tuning (batches of token ids) share it.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { AdamW, trainerParamGroups } from './optimizer.js';
import { linearSchedule, shouldStop, trainStep, type OptimizationOptions, type RunControl } from './step.js';
import { createProgress, type Progress } from './progress.js';
import { BEST_FILE, claimRunDirectory, loadTrainingCheckpoint, loadVariables, saveTrainingCheckpoint, type CheckpointState } from './checkpoint.js';
import { writeDirectoryAtomic } from '../files/atomic.js';
import { wholeNumber } from '../numbers.js';
import { evaluate, type BatchSource, type Classifier, type LabelledBatch } from './classifier.js';

/** `fit`'s settings; the defaults: weightDecay 0.01, warmupRatio 0.1, maxGradNorm 1, seed 0. */
export interface FitOptions extends OptimizationOptions, RunControl {
  epochs: number;
  /** Peak learning rate. */
  lr: number;
  /**
   * Run each batch through the model in parts of this many examples and add up their gradients
   * (gradient accumulation): the same update with a fraction of the activation memory.
   */
  microBatchSize?: number;
  /**
   * Checkpoints go to `outputDir/last` (resumable state, after every epoch, every
   * `checkpointEverySteps` steps and when the run stops early) and `outputDir/best` (via
   * `saveBest`, when validation loss improves).
   */
  checkpointEverySteps?: number;
  /** Writes the best model so far into the (temporary) directory it is given. */
  saveBest?: (dir: string) => Promise<void>;
  /** Put the trainable variables back to their values at the best epoch when training ends. Default true. */
  restoreBest?: boolean;
  /** Progress display (src/train/progress.ts): each step and each epoch's result; default: on. */
  progress?: boolean;
  /** Called after each epoch with its record, e.g. to plot a live curve. */
  onEpochEnd?: (record: EpochRecord) => void;
  /** Recorded in the checkpoint; resuming with a different fingerprint is refused. */
  fingerprint?: Record<string, unknown>;
}

/** Where `fit` stands; with the variables and the optimizer it is everything a resume needs. */
interface LoopState extends CheckpointState {
  /** The epoch in progress (0-based) and how many of its batches are done. */
  epoch: number;
  batchInEpoch: number;
  /** Sum of the losses (times batch size) and the examples seen in the epoch in progress. */
  epochLossSum: number;
  epochExamples: number;
  /** Examples trained on in the whole run. */
  trainExamples: number;
  /** Seconds spent training before this checkpoint, so throughput figures survive a resume. */
  trainSeconds: number;
  bestValLoss: number | null;
  bestEpoch: number | null;
  history: EpochRecord[];
}

/** One epoch of the history, for tables and plots. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valLoss: number;
  valAccuracy: number;
  valF1: number;
  /** Learning rate at the end of the epoch. */
  lr: number;
  seconds: number;
  samplesPerSecond: number;
}

export interface FitResult {
  history: EpochRecord[];
  bestEpoch: number | null;
  bestValLoss: number | null;
  steps: number;
  trainSeconds: number;
  trainSamplesPerSecond: number;
  /** True when the run stopped early (maxSteps, maxSeconds, the signal), saved and resumable. */
  interrupted: boolean;
}

/** `batch` cut into parts of at most `size` examples (itself when it is no larger): every tensor and array along its first axis. */
export function microBatches<B extends LabelledBatch>(batch: B, size: number | undefined): B[] {
  const n = batch.labels.shape[0];
  if (!size || size >= n) return [batch];
  return Array.from({ length: Math.ceil(n / size) }, (_, k) => {
    const [start, count] = [k * size, Math.min(size, n - k * size)];
    return Object.fromEntries(Object.entries(batch).map(([key, value]) => [
      key,
      value instanceof tf.Tensor ? tf.slice(value, start, count) : Array.isArray(value) ? value.slice(start, start + count) : value,
    ])) as B;
  });
}

/** Frees the parts `microBatches` cut (none when it returned the batch itself, which stays the caller's). */
export function disposeMicroBatches(parts: object[]): void {
  if (parts.length > 1) tf.dispose(parts.flatMap((b) => Object.values(b).filter((v): v is tf.Tensor => v instanceof tf.Tensor)));
}

/**
 * Trains `classifier` on `train`, validating on `validation` after every epoch. Returns the
 * history; with `outputDir`, keeps the best model and a resumable checkpoint there.
 */
export async function fit<B extends LabelledBatch>(
  classifier: Classifier<B>,
  train: BatchSource<B>,
  validation: BatchSource<B>,
  options: FitOptions,
): Promise<FitResult> {
  const { epochs, lr, weightDecay = 0.01, warmupRatio = 0.1, maxGradNorm = 1, seed = 0 } = options;
  const params = classifier.trainable();
  if (params.length === 0) throw new Error('the classifier has no trainable parameters; unfreeze some (e.g. the head) before training');
  const { microBatchSize } = options;
  if (microBatchSize !== undefined) wholeNumber('microBatchSize', microBatchSize);
  if (options.resume && !options.outputDir) throw new Error('resume needs outputDir, the directory of the run to continue');
  const totalSteps = epochs * train.numBatches;
  const warmup = Math.round(warmupRatio * totalSteps);
  // Parts draw their own dropout masks, so a different micro-batch size is a different run.
  const fingerprint = { epochs, lr, weightDecay, warmupRatio, maxGradNorm, seed, trainSize: train.size, ...(microBatchSize ? { microBatchSize } : {}), ...options.fingerprint };
  const lastDir = options.outputDir ? join(options.outputDir, 'last') : undefined;
  const lock = options.outputDir
    ? claimRunDirectory(options.outputDir, { what: 'training run', resume: options.resume ?? false, overwrite: options.overwrite ?? false, results: ['last', 'best'] })
    : undefined;
  const optimizer = new AdamW(trainerParamGroups(params, weightDecay), { lr, weightDecay });

  let state: LoopState = {
    epoch: 0, batchInEpoch: 0, globalStep: 0, epochLossSum: 0, epochExamples: 0, trainExamples: 0, trainSeconds: 0,
    bestValLoss: null, bestEpoch: null, history: [], fingerprint,
  };
  // The trainable variables at the best epoch: kept in memory, and on disk so that a resumed run still knows them.
  let best: Map<string, tf.Tensor> | undefined;
  if (options.resume && lastDir) {
    try {
      state = loadTrainingCheckpoint<LoopState>(lastDir, params, optimizer);
      const was = JSON.stringify(state.fingerprint);
      if (was !== JSON.stringify(fingerprint)) {
        throw new Error(`cannot resume from ${lastDir}: it was started with ${was}, this run has ${JSON.stringify(fingerprint)}; use the same settings or another output directory`);
      }
      if (state.bestEpoch !== null) best = loadVariables(join(lastDir, BEST_FILE));
    } catch (error) {
      optimizer.dispose();
      lock?.release();
      throw error;
    }
  }
  let savedStep: number | null = null;
  const checkpoint = async () => {
    if (!lastDir) return;
    await saveTrainingCheckpoint(lastDir, state, params, optimizer, best);
    savedStep = state.globalStep;
  };

  const started = performance.now();
  const progress: Progress | undefined = options.progress === false ? undefined : createProgress({ batchSize: Math.ceil(train.size / train.numBatches) });
  let interrupted = false;
  try {
    while (state.epoch < epochs && !interrupted) {
      const epochStart = performance.now();
      const secondsBefore = state.trainSeconds;
      const examplesBefore = state.epochExamples;
      let batchIndex = 0;
      for (const batch of train.epoch(state.epoch)) {
        if (batchIndex++ < state.batchInEpoch) continue; // done before the interruption
        if (await shouldStop(options, started, state.globalStep)) {
          interrupted = true;
          break;
        }
        const stepStart = performance.now();
        const parts = microBatches(batch, microBatchSize);
        const n = batch.labels.shape[0];
        let loss: number;
        try {
          ({ loss } = await trainStep((i, context) => ({ loss: classifier.loss(classifier.scores(parts[i], context), parts[i].labels) }), {
            optimizer, params, lr: lr * linearSchedule(state.globalStep, totalSteps, warmup), dropoutSeed: seed, step: state.globalStep, maxGradNorm,
            weights: parts.map((part) => part.labels.shape[0] / n),
            nonFinite: (value) =>
              `the loss became ${value} at epoch ${state.epoch + 1}, batch ${batchIndex} (step ${state.globalStep + 1}); the parameters were not updated with it. ` +
              (savedStep !== null ? `The last good checkpoint is ${lastDir} (after step ${savedStep}). ` : '') +
              `Lower the learning rate (now ${lr}), check the inputs for NaN, or clip gradients harder (maxGradNorm ${maxGradNorm}).`,
          }));
        } finally {
          disposeMicroBatches(parts);
        }
        state.globalStep++;
        state.batchInEpoch = batchIndex;
        state.epochLossSum += loss * n;
        state.epochExamples += n;
        state.trainExamples += n;
        state.trainSeconds += (performance.now() - stepStart) / 1000;
        const epochSeconds = state.trainSeconds - secondsBefore;
        progress?.update({
          epoch: state.epoch + 1, epochs, step: batchIndex, steps: train.numBatches,
          loss: state.epochLossSum / state.epochExamples,
          samplesPerSecond: (state.epochExamples - examplesBefore) / Math.max(epochSeconds, 1e-9),
        });
        if (options.checkpointEverySteps && state.globalStep % options.checkpointEverySteps === 0 && batchIndex < train.numBatches) await checkpoint();
      }
      if (interrupted) break;

      const val = await evaluate(classifier, validation);
      const record: EpochRecord = {
        epoch: state.epoch + 1,
        trainLoss: state.epochLossSum / Math.max(state.epochExamples, 1),
        valLoss: val.loss,
        valAccuracy: val.accuracy,
        valF1: val.f1,
        lr: optimizer.lr,
        seconds: (performance.now() - epochStart) / 1000,
        samplesPerSecond: state.epochExamples / Math.max(state.trainSeconds - secondsBefore, 1e-9),
      };
      state.history.push(record);
      progress?.log(`epoch ${record.epoch}/${epochs}: train loss ${record.trainLoss.toFixed(4)}, val loss ${record.valLoss.toFixed(4)}, val accuracy ${(100 * record.valAccuracy).toFixed(1)}%`);
      if (state.bestValLoss === null || val.loss < state.bestValLoss) {
        state.bestValLoss = val.loss;
        state.bestEpoch = record.epoch;
        tf.dispose(best ? [...best.values()] : []);
        best = new Map(params.map(([name, v]) => [name, v.clone()]));
        if (options.outputDir && options.saveBest) await writeDirectoryAtomic(join(options.outputDir, 'best'), options.saveBest);
      }
      Object.assign(state, { epoch: state.epoch + 1, batchInEpoch: 0, epochLossSum: 0, epochExamples: 0 });
      await checkpoint();
      options.onEpochEnd?.(record);
    }
    if (interrupted) await checkpoint();
    if (!interrupted && best && (options.restoreBest ?? true)) {
      for (const [name, v] of params) v.assign(best.get(name)!);
    }
  } finally {
    progress?.stop();
    lock?.release();
    optimizer.dispose();
    tf.dispose(best ? [...best.values()] : []);
  }
  return {
    history: state.history,
    bestEpoch: state.bestEpoch,
    bestValLoss: state.bestValLoss,
    steps: state.globalStep,
    trainSeconds: state.trainSeconds,
    trainSamplesPerSecond: state.trainExamples / Math.max(state.trainSeconds, 1e-9),
    interrupted,
  };
}
