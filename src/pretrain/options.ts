/** What a pretraining run is given, records and reports, and the settings saved with it for resuming. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendName } from '../backend/index.js';
import type { BertForMaskedLM } from '../bert/heads.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import { hasTrainingCheckpoint, type CheckpointState } from '../train/checkpoint.js';
import type { OptimizationOptions, RunControl } from '../train/step.js';
import type { MaskingOptions } from './labels.js';
import type { EmbeddingInit } from './word-vectors.js';

/**
 * `pretrain`'s settings. Optimisation defaults: lr 5e-4, warmupRatio 0.05, weightDecay 0.01 (not
 * on biases and LayerNorm), maxGradNorm 1, seed 42 (the weights, the data order, the masks and
 * dropout). `outputDir/last` is the resumable state, `outputDir/model` the model in the Hugging
 * Face layout; resuming needs the same settings.
 */
export interface PretrainOptions extends OptimizationOptions, RunControl {
  /** A name from MODEL_SIZES or a shape `L4-H256-A4`. Default bert-mini (or `init`'s size). */
  size?: string;
  /** Start from this model directory's weights instead of random ones (continued pretraining). */
  init?: string;
  /** Also train the pooled [CLS] vector to predict the window's bag of words (see above). */
  bagOfWords?: boolean;
  /** Start a model from random weights with word embeddings from the training texts' co-occurrence vectors (word-vectors.ts). */
  initEmbeddings?: EmbeddingInit;
  /** Optimizer steps of the whole run (the learning-rate schedule spans them). */
  steps: number;
  /** Tokens per window. Default 128. */
  seqLength?: number;
  /** Windows per step. Default 32. */
  batchSize?: number;
  masking?: MaskingOptions;
  backend?: BackendName;
  /**
   * The cadence below (evalEvery, saveEvery, snapshotEvery, logEvery, fp16) is saved with the run:
   * a resumed run keeps it unless given again.
   *
   * Evaluate on held-out text every N steps (and at the start and the end). Default 500; 0: start and end only.
   */
  evalEvery?: number;
  /** Write the resumable state and the model every N steps (and at the end). Default 500. */
  saveEvery?: number;
  /** Also keep the model at every N steps in `DIR/snapshots/step-N` (for a curve against pretraining time). */
  snapshotEvery?: number;
  /** Record the mean training loss every N steps. Default 50. */
  logEvery?: number;
  /** Store the model's weights as float16 (half the size; training itself stays float32). */
  fp16?: boolean;
  /** The corpus; default `pretrainingText()`. Its last `heldOutTexts` texts are kept for evaluation. */
  texts?: readonly string[];
  heldOutTexts?: number;
  evalSequences?: number;
  /** Cache directory of the tokenized corpus and of the word vectors made from it (null: none); default build/cache/pretrain-tokens. */
  cacheDir?: string | null;
  /** Called with every record as it is made, e.g. for a live chart. */
  onRecord?: (record: PretrainRecord) => void;
  /**
   * Where the run's lines go (the corpus, each training record and evaluation); default: a
   * progress display (src/train/progress.ts) that also shows every step; null: silent.
   */
  log?: ((line: string) => void) | null;
}

/** One point of the run's history: training loss, held-out evaluation, or both. */
export interface PretrainRecord {
  step: number;
  /** Seconds spent training (not evaluating or saving) up to this step. */
  seconds: number;
  /** Mean training loss of the steps since the previous training record, and the learning rate. */
  loss?: number;
  lr?: number;
  samplesPerSecond?: number;
  /** Mean bag-of-words loss of the same steps, when that objective is on. */
  bowLoss?: number;
  /** MLM loss and accuracy on the held-out masked tokens. */
  evalLoss?: number;
  evalAccuracy?: number;
}

/** What `finetune-lab pretrain` prints as its last line. */
export interface PretrainSummary {
  size: string;
  /** `mlm`, or `mlm+bow` with the bag-of-words objective. */
  objective: string;
  params: number;
  steps: number;
  /** Whether all `steps` are done (false after an interruption; resume to finish). */
  completed: boolean;
  seq: number;
  batch: number;
  train_windows: number;
  train_seconds: number;
  samples_per_s: number;
  tokens_per_s: number;
  mlm_loss: number;
  mlm_accuracy: number;
  eval_masked_tokens: number;
  backend: string;
  checkpoint: string | null;
}

export interface PretrainResult {
  summary: PretrainSummary;
  history: PretrainRecord[];
  model: BertForMaskedLM;
  tokenizer: BertTokenizer;
}

/**
 * What a run is started with; resuming it with other values is refused. (A type alias, not an
 * interface, so that it fits the loop state's `Record<string, unknown>` fingerprint.)
 */
export type RunSettings = {
  size: string;
  /** Only in runs that use them (older runs, without these keys, still resume). */
  init?: string;
  bagOfWords?: true;
  initEmbeddings?: EmbeddingInit;
  seqLength: number;
  batchSize: number;
  lr: number;
  steps: number;
  warmupRatio: number;
  weightDecay: number;
  maxGradNorm: number;
  seed: number;
  masking: MaskingOptions;
  trainWindows: number;
  heldOutTexts: number;
  evalSequences: number;
};

/** How often a run evaluates, saves, snapshots and logs, and how it stores the model: saved with the run, not part of its result. */
export type Cadence = { evalEvery: number; saveEvery: number; logEvery: number; snapshotEvery: number; fp16: boolean };

export const DEFAULT_CADENCE: Cadence = { evalEvery: 500, saveEvery: 500, logEvery: 50, snapshotEvery: 0, fp16: false };

/** Where a pretraining run stands; with the weights and the optimizer, everything a resume needs. */
export interface PretrainState extends CheckpointState {
  fingerprint: RunSettings;
  /** Passes over the training windows so far. */
  epoch: number;
  /** Windows trained on, and seconds spent training (not evaluating or saving), in the whole run. */
  trainExamples: number;
  trainSeconds: number;
  /** Sums of the losses and the count of the steps since the latest training record (so a run resumed between two records reports the same means). */
  recentLossSum: number;
  recentSteps: number;
  /** The same sum of the bag-of-words losses, when that objective is on. */
  recentBowLossSum?: number;
  history: PretrainRecord[];
  cadence?: Cadence;
}

/** The settings of the run saved in `outputDir` (to resume it with them), or undefined if there is none. */
export function savedRunSettings(outputDir: string): RunSettings | undefined {
  const last = join(outputDir, 'last');
  if (!hasTrainingCheckpoint(last)) return undefined;
  return (JSON.parse(readFileSync(join(last, 'trainer_state.json'), 'utf8')) as PretrainState).fingerprint;
}
