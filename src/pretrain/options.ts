/** What a pretraining run is given, records and reports, and the settings saved with it for resuming. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendName } from '../backend/index.js';
import type { BertForMaskedLM, BertForReplacedTokenDetection } from '../bert/heads.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import { hasTrainingCheckpoint, type CheckpointState } from '../train/checkpoint.js';
import type { OptimizationOptions, RunControl, ScheduleName } from '../train/step.js';
import type { MaskingOptions } from './labels.js';
import type { EmbeddingInit } from './word-vectors.js';

/** The pretraining objectives: masked-language modelling (BERT's), replaced-token detection (ELECTRA's, rtd.ts). */
export type PretrainObjective = 'mlm' | 'rtd';

export const PRETRAIN_OBJECTIVES: readonly PretrainObjective[] = ['mlm', 'rtd'];

/** Warm-up steps of a run given a time budget, unless `warmupSteps` says otherwise. */
export const BUDGET_WARMUP_STEPS = 500;

/** The steps a run given a time budget times, after its first (which compiles the kernels), to convert the budget to steps. */
export const MEASURED_STEPS = 10;

/**
 * `pretrain`'s settings. Optimisation defaults: lr 5e-4, warmupRatio 0.05, weightDecay 0.01 (not
 * on biases and LayerNorm), maxGradNorm 1 (Cramming clips at 0.5), seed 42 (the weights, the data
 * order, the masks, dropout and the generator's samples). `outputDir/last` is the resumable
 * state, `outputDir/model` the model in the Hugging Face layout; resuming needs the same settings.
 *
 * The length of a run is `steps`, or `budgetHours` of training time. A budgeted run times
 * MEASURED_STEPS steps once, converts the budget to steps at that speed, and records both in its
 * state, so that its schedule is fixed from then on and a resume follows it exactly. Its warm-up
 * is a fixed number of steps, not a share of the total, so a larger budget given on resume (which
 * extends the run, and is recorded) stretches only the decay. While the speed is being measured
 * the learning rate follows the warm-up (and would stay at the peak after it, where the decay starts).
 */
export interface PretrainOptions extends OptimizationOptions, RunControl {
  /** A name from MODEL_SIZES or a shape `L4-H256-A4`. Default bert-mini (or `init`'s size). */
  size?: string;
  /** Start from this model directory's weights instead of random ones (continued pretraining). */
  init?: string;
  /**
   * Go on with the run that wrote this model directory (its pretraining.json) when that run's
   * resumable state (`outputDir/last`) is lost: its step, history, schedule and data position, from
   * the saved weights as they are (float16-rounded ones too), with fresh AdamW moments. Not exact
   * (`resume` is); the settings must be given again, as to a resume, and the step is recorded in
   * `continuations`. An MLM run only.
   */
  continueFrom?: string;
  /** Also train the pooled [CLS] vector to predict the window's bag of words (MLM only; see train.ts). */
  bagOfWords?: boolean;
  /** Start a model from random weights with word embeddings from the training texts' co-occurrence vectors (word-vectors.ts). */
  initEmbeddings?: EmbeddingInit;
  /** Default 'mlm'. 'rtd' trains the model as ELECTRA's discriminator beside a small generator. */
  objective?: PretrainObjective;
  /** The RTD generator's size, a shape of the model's width: default `generatorSize` (rtd.ts), a quarter of the layers, heads and feed-forward width. */
  generator?: string;
  /** RTD: λ, the weight of the discriminator's loss beside the generator's. Default 50 (ELECTRA's). */
  rtdWeight?: number;
  /**
   * Dropout (hidden and attention) while pretraining. Default 0.1 (BERT's); Cramming pretrains
   * without. The saved config.json keeps the model's own rates (transformers' 0.1 for a fresh
   * model), which is what fine-tuning should start from.
   */
  dropout?: number;
  /** Optimizer steps of the whole run (the learning-rate schedule spans them); or `budgetHours`. */
  steps?: number;
  /** The run's length as hours of training time (evaluation and saving not counted), instead of `steps` (see above). */
  budgetHours?: number;
  /**
   * 'linear' (default): transformers' linear warm-up and decay to 0; 'one-cycle': PyTorch's
   * OneCycleLR (step.ts), as Cramming trains with a peak `lr` near 1e-3.
   */
  schedule?: ScheduleName;
  /** Warm-up as a number of steps instead of `warmupRatio`; with `budgetHours` default BUDGET_WARMUP_STEPS. */
  warmupSteps?: number;
  /** Tokens per window. Default 128. */
  seqLength?: number;
  /** Windows per micro-batch. Default 32. */
  batchSize?: number;
  /**
   * Gradient accumulation: each step sums the gradients of this many micro-batches of `batchSize`
   * windows (an effective batch of accumulate × batchSize, the same windows and masks as one batch
   * that size), each micro-batch's mean loss weighing 1/accumulate. Default 1.
   */
  accumulate?: number;
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
  /** Also keep the model every M minutes of training time in `DIR/snapshots/step-N-H.HHh` (N steps, H.HH hours of training), e.g. 60 for hourly snapshots. */
  snapshotMinutes?: number;
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
  /** RTD: the discriminator's mean BCE of the same steps (unweighted; `loss` is then the generator's MLM loss). */
  rtdLoss?: number;
  /** MLM loss and accuracy on the held-out masked tokens (RTD: the generator's). */
  evalLoss?: number;
  evalAccuracy?: number;
  /** RTD on the held-out windows (evaluation.ts): the discriminator's BCE, accuracy, share of the replaced tokens detected, and ROC AUC. */
  evalRtdLoss?: number;
  evalRtdAccuracy?: number;
  evalReplacedAccuracy?: number;
  evalRtdAuc?: number;
}

/** What `finetune-lab pretrain` prints as its last line. */
export interface PretrainSummary {
  size: string;
  /** `mlm`, `mlm+bow` with the bag-of-words objective, or `rtd`. */
  objective: string;
  params: number;
  /** RTD: the generator's size and parameters (the shared embeddings included). */
  generator?: string;
  generator_params?: number;
  steps: number;
  /** Whether all `steps` are done (false after an interruption; resume to finish). */
  completed: boolean;
  /** The time budget of a run given one (its steps are in pretraining.json's `budget`). */
  budget_hours?: number;
  seq: number;
  batch: number;
  accumulate: number;
  train_windows: number;
  train_seconds: number;
  samples_per_s: number;
  tokens_per_s: number;
  /** Held-out MLM loss and accuracy (RTD: the generator's). */
  mlm_loss: number;
  mlm_accuracy: number;
  eval_masked_tokens: number;
  /** RTD: the discriminator's held-out BCE, accuracy, share of the replaced tokens detected, and ROC AUC. */
  rtd_loss?: number;
  rtd_accuracy?: number;
  rtd_replaced_accuracy?: number;
  rtd_auc?: number;
  backend: string;
  checkpoint: string | null;
}

export interface PretrainResult {
  summary: PretrainSummary;
  history: PretrainRecord[];
  /** The pretrained model: the masked-LM, or (RTD) the discriminator. */
  model: BertForMaskedLM | BertForReplacedTokenDetection;
  /** RTD: the generator (it uses the model's embeddings: dispose it with the model). */
  generator?: BertForMaskedLM;
  tokenizer: BertTokenizer;
}

/**
 * What a run is started with; resuming it with other values is refused. (A type alias, not an
 * interface, so that it fits the loop state's `Record<string, unknown>` fingerprint.)
 */
export type RunSettings = {
  size: string;
  /** Only in runs that use them or differ from the defaults (older runs, without these keys, still resume). */
  init?: string;
  bagOfWords?: true;
  initEmbeddings?: EmbeddingInit;
  objective?: 'rtd';
  generator?: string;
  rtdWeight?: number;
  dropout?: number;
  seqLength: number;
  batchSize: number;
  accumulate?: number;
  lr: number;
  schedule?: 'one-cycle';
  /** Absent in a run given a time budget (its steps are in its state, `PretrainState.budget`). */
  steps?: number;
  /** One of the two: a share of the steps, or a number of steps. */
  warmupRatio?: number;
  warmupSteps?: number;
  weightDecay: number;
  maxGradNorm: number;
  seed: number;
  masking: MaskingOptions;
  trainWindows: number;
  heldOutTexts: number;
  evalSequences: number;
};

/** How often a run evaluates, saves, snapshots and logs, and how it stores the model: saved with the run, not part of its result. */
export type Cadence = { evalEvery: number; saveEvery: number; logEvery: number; snapshotEvery: number; snapshotMinutes: number; fp16: boolean };

export const DEFAULT_CADENCE: Cadence = { evalEvery: 500, saveEvery: 500, logEvery: 50, snapshotEvery: 0, snapshotMinutes: 0, fp16: false };

/** A run's time budget, converted to steps at its measured speed once (see PretrainOptions). */
export interface Budget {
  hours: number;
  /** Training seconds per step over MEASURED_STEPS steps, and the budget in steps at that speed; absent until measured. */
  secondsPerStep?: number;
  steps?: number;
  /** Budgets given on resume that differ from the one before, with the step they were given at. */
  changes: { step: number; hours: number }[];
}

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
  /** The same sum of the bag-of-words losses, and of the RTD losses, when that objective is on. */
  recentBowLossSum?: number;
  recentRtdLossSum?: number;
  budget?: Budget;
  history: PretrainRecord[];
  cadence?: Cadence;
  continuations?: Continuation[];
}

/** A step at which a run went on from a saved model's weights with fresh AdamW moments (`continueFrom`), its exact state having been lost. */
export interface Continuation {
  step: number;
  from: string;
}

/** What a model directory written by `pretrain` records of its run. */
interface ModelRunRecord {
  summary: PretrainSummary;
  options: RunSettings;
  budget?: Budget;
  continuations?: Continuation[];
  history: PretrainRecord[];
}

function modelRunRecord(dir: string): ModelRunRecord {
  const path = join(dir, 'pretraining.json');
  if (!existsSync(path)) throw new Error(`${dir} has no pretraining.json: only a model written by finetune-lab pretrain records the run it came from`);
  return JSON.parse(readFileSync(path, 'utf8')) as ModelRunRecord;
}

/** The settings of the run that wrote model directory `dir`, to continue it with them (`continueFrom`). */
export function modelRunSettings(dir: string): RunSettings {
  return modelRunRecord(dir).options;
}

/** The state to go on from model directory `dir` with (see `continueFrom`): where its run stood, with the continuation recorded. */
export function continuedState(dir: string, fingerprint: RunSettings, stepBatch: number): PretrainState {
  const { summary, options, budget, continuations = [], history } = modelRunRecord(dir);
  if (JSON.stringify(options) !== JSON.stringify(fingerprint)) {
    throw new Error(`cannot continue from ${dir}: its run was started with ${JSON.stringify(options)}, this run has ${JSON.stringify(fingerprint)}; give the same settings`);
  }
  const step = summary.steps;
  return {
    globalStep: step, epoch: Math.floor((step * stepBatch) / summary.train_windows), trainExamples: step * stepBatch, trainSeconds: summary.train_seconds,
    recentLossSum: 0, recentSteps: 0, ...(options.bagOfWords ? { recentBowLossSum: 0 } : {}),
    history, fingerprint, ...(budget ? { budget } : {}), continuations: [...continuations, { step, from: dir }],
  };
}

/** The settings of the run saved in `outputDir` (to resume it with them), or undefined if there is none. */
export function savedRunSettings(outputDir: string): RunSettings | undefined {
  const last = join(outputDir, 'last');
  if (!hasTrainingCheckpoint(last)) return undefined;
  return (JSON.parse(readFileSync(join(last, 'trainer_state.json'), 'utf8')) as PretrainState).fingerprint;
}
