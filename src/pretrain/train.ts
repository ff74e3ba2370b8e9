/**
 * Masked-language-model pretraining of a BERT from random initialisation, on the IMDB reviews
 * outside the fixed test split (`pretrainingText()`), with the bert-base-uncased vocabulary.
 *
 * Built for long runs that get interrupted: everything random (initialisation, window order,
 * masks, dropout) is a function of the seed and the step, and the resumable state (weights, AdamW
 * moments, position, history) is written atomically every `saveEvery` steps, so a resumed run
 * computes exactly the losses and weights an uninterrupted one would.
 *
 * The vocabulary projection (30,522 wide) is computed only at the masked ~15% of the tokens;
 * for every token it would cost more than the encoder.
 *
 * Masked-language modelling trains every token's vector except the one classifiers read: the
 * [CLS] vector and the pooler above it get no training signal. `bagOfWords` adds a sentence-level
 * objective for them (`bagOfWordsTargets`): from the pooled [CLS] vector alone, through the same
 * vocabulary head, predict which words the window contains.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../backend/index.js';
import { loadCheckpoint, saveCheckpoint } from '../bert/checkpoint.js';
import { BertForMaskedLM } from '../bert/heads.js';
import { pretrainingText } from '../data/split.js';
import { deriveSeed, mulberry32, permutation } from '../data/random.js';
import { resolveModelPath } from '../models.js';
import { customOp, EVAL, trainingContext, type ForwardContext } from '../ops.js';
import { BertTokenizer } from '../tokenizer/index.js';
import { claimRunDirectory, hasTrainingCheckpoint, loadTrainingCheckpoint, saveTrainingCheckpoint, type LoopState } from '../train/checkpoint.js';
import { writeDirectoryAtomic, writeFileAtomic } from '../files/atomic.js';
import type { DirectoryLock } from '../files/lock.js';
import { AdamW, trainerParamGroups, valueAndGrads } from '../train/optimizer.js';
import { clipByGlobalNorm, linearSchedule, NonFiniteLossError } from '../train/trainer.js';
import { buildCorpus, type PretrainCorpus } from './corpus.js';
import { bagOfWordsTargets, disposeBatch, maskingVocab, maskSequence, mlmBatch, type MaskedSequence, type MaskingOptions, type MaskingVocab, type MlmBatch } from './labels.js';
import { parseSize, shapeName, sizeConfig } from './sizes.js';

/** Held-out texts and masked windows of the evaluation, fixed so that every run is scored on the same tokens. */
export const HELD_OUT_TEXTS = 500;
export const EVAL_SEQUENCES = 256;
const EVAL_MASK_SEED = 20_240_602;

export interface PretrainOptions {
  /** A name from MODEL_SIZES or a shape `L4-H256-A4`. Default bert-mini (or `init`'s size). */
  size?: string;
  /** Start from this model directory's weights instead of random ones (continued pretraining). */
  init?: string;
  /** Also train the pooled [CLS] vector to predict the window's bag of words (see above). */
  bagOfWords?: boolean;
  /** Optimizer steps of the whole run (the learning-rate schedule spans them). */
  steps: number;
  /** Tokens per window. Default 128. */
  seqLength?: number;
  /** Windows per step. Default 32. */
  batchSize?: number;
  /** Peak learning rate. Default 5e-4. */
  lr?: number;
  /** Share of the steps spent warming the learning rate up. Default 0.05. */
  warmupRatio?: number;
  /** Default 0.01 (not on biases and LayerNorm). */
  weightDecay?: number;
  /** Global gradient-norm clip. Default 1; 0 turns it off. */
  maxGradNorm?: number;
  seed?: number;
  masking?: MaskingOptions;
  backend?: BackendName;
  /** `DIR/last`: the resumable state; `DIR/model`: the model in the Hugging Face layout. */
  outputDir?: string;
  /** Continue from `outputDir/last` (with the same settings); it must exist. */
  resume?: boolean;
  /** Start afresh even though `outputDir` holds an earlier run, replacing it. Default false: refused. */
  overwrite?: boolean;
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
  /** Token cache directory (null: none); default build/cache/pretrain-tokens. */
  cacheDir?: string | null;
  /** Stop after this many steps in total, as an interruption would (the run stays resumable). */
  maxSteps?: number;
  /** Stop (resumably) after this many seconds of this call. */
  maxSeconds?: number;
  /** Stop (resumably) after the current step once aborted, e.g. on Ctrl-C. */
  signal?: AbortSignal;
  /** Called with every record as it is made, e.g. for a live chart. */
  onRecord?: (record: PretrainRecord) => void;
  /** Progress lines; default console.error; null: silent. */
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

/** The held-out MLM evaluation. */
export interface MlmEvaluation {
  /** Mean cross-entropy per masked token. */
  loss: number;
  /** Share of the masked tokens whose original id is the model's top prediction. */
  accuracy: number;
  tokens: number;
}

/**
 * Mean cross-entropy of `logits` `[N, vocab]` against class ids `targets` `[N]`, with the gradient
 * written directly, `(softmax(logits) - onehot(targets)) / N`. Over the 30,522-word vocabulary
 * this takes half the passes over `[N, vocab]` that autodiff of log-softmax and a pick takes
 * (one exponential instead of two, no scattered pick), which matters when those passes cost as
 * much as the encoder.
 */
export function sparseCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const [rows, vocab] = logits.shape;
  return customOp('SparseCrossEntropy', { logits }, (save) => {
    const shifted = tf.sub(logits, tf.max(logits, 1, true));
    const exp = tf.exp(shifted);
    const sumExp = tf.sum(exp, 1, true);
    const flat = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(vocab, 'int32')), targets);
    const picked = tf.gather(shifted.reshape([-1]), flat);
    save([exp, sumExp, flat]);
    return tf.mean(tf.sub(tf.log(sumExp.reshape([-1])), picked)) as tf.Scalar;
  }, (dy, [savedExp, savedSum, savedFlat]) => ({
    logits: () => {
      const scale = tf.div(dy, rows);
      const probs = tf.mul(savedExp, tf.div(scale, savedSum));
      const hits = tf.scatterND(savedFlat.reshape([-1, 1]), tf.fill([rows], 1).mul(scale), [rows * vocab]).reshape([rows, vocab]);
      return tf.sub(probs, hits);
    },
  }));
}

/**
 * Mean cross-entropy of the original ids at the batch's chosen positions, and those positions'
 * logits `[count, vocab]`; with `bagOfWords` targets `[B, vocab]` (`bagOfWordsTargets`), also the
 * mean cross-entropy of the pooled [CLS] vectors' vocabulary distribution against them.
 */
export function maskedLmLoss(model: BertForMaskedLM, batch: MlmBatch, context: ForwardContext, bagOfWords?: tf.Tensor2D): { loss: tf.Scalar; logits: tf.Tensor2D; bowLoss?: tf.Scalar } {
  return tf.tidy(() => {
    const out = model.bert.forward({ inputIds: batch.inputIds, attentionMask: batch.attentionMask }, context);
    const logits = model.logitsAt(out.lastHiddenState, batch.positions, context);
    const loss = sparseCrossEntropy(logits, batch.targets);
    if (!bagOfWords) return { loss, logits };
    if (!out.poolerOutput) throw new Error('the bag-of-words objective reads the pooled [CLS] vector: build the model with a pooler');
    const words = model.logitsOf(out.poolerOutput, context);
    return { loss, logits, bowLoss: tf.mean(tf.sub(tf.logSumExp(words, 1), tf.sum(tf.mul(bagOfWords, words), 1))) as tf.Scalar };
  });
}

/** MLM loss and accuracy over masked sequences, without dropout. */
export async function evaluateMlm(model: BertForMaskedLM, sequences: readonly MaskedSequence[], options: { batchSize?: number; padTokenId?: number } = {}): Promise<MlmEvaluation> {
  const { batchSize = 32, padTokenId = 0 } = options;
  let lossSum = 0;
  let correct = 0;
  let tokens = 0;
  for (let start = 0; start < sequences.length; start += batchSize) {
    const batch = mlmBatch(sequences.slice(start, start + batchSize), padTokenId);
    if (batch.count > 0) {
      const [loss, hits] = tf.tidy(() => {
        const { loss, logits } = maskedLmLoss(model, batch, EVAL);
        return [loss, tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), batch.targets), 'int32'))];
      });
      lossSum += (await loss.data())[0] * batch.count;
      correct += (await hits.data())[0];
      tokens += batch.count;
      tf.dispose([loss, hits]);
    }
    disposeBatch(batch);
  }
  return { loss: lossSum / Math.max(tokens, 1), accuracy: correct / Math.max(tokens, 1), tokens };
}

/** The fixed evaluation sequences: the first `count` held-out windows, masked with a fixed seed. */
export function heldOutSequences(corpus: PretrainCorpus, vocab: MaskingVocab, count = EVAL_SEQUENCES, masking: MaskingOptions = {}): MaskedSequence[] {
  const n = Math.min(count, corpus.heldOut.count);
  return Array.from({ length: n }, (_, i) => maskSequence(Array.from(corpus.heldOut.row(i)), vocab, mulberry32(deriveSeed(EVAL_MASK_SEED, i)), masking));
}

export interface HeldOutOptions {
  seqLength?: number;
  sequences?: number;
  texts?: readonly string[];
  heldOutTexts?: number;
  masking?: MaskingOptions;
  cacheDir?: string | null;
}

/**
 * A model's MLM loss and accuracy on the held-out slice of the pretraining text, on the same
 * masked tokens `pretrain` reports (with the same options), e.g. to check a saved model's card.
 */
export async function heldOutMlm(model: BertForMaskedLM, tokenizer: BertTokenizer, options: HeldOutOptions = {}): Promise<MlmEvaluation> {
  const corpus = buildCorpus(options.texts ?? pretrainingText(), tokenizer, {
    seqLength: options.seqLength ?? 128, heldOutTexts: options.heldOutTexts ?? HELD_OUT_TEXTS, cacheDir: options.cacheDir,
  });
  return evaluateMlm(model, heldOutSequences(corpus, maskingVocab(tokenizer), options.sequences, options.masking), { padTokenId: tokenizer.padTokenId });
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
}

function positiveInteger(name: string, value: number, zeroOk = false): number {
  if (!Number.isInteger(value) || value < (zeroOk ? 0 : 1)) throw new Error(`${name} must be a whole number${zeroOk ? ' (0 or more)' : ' of at least 1'}, got ${value}`);
  return value;
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

const DEFAULT_CADENCE: Cadence = { evalEvery: 500, saveEvery: 500, logEvery: 50, snapshotEvery: 0, fp16: false };

/** The settings of the run saved in `outputDir` (to resume it with them), or undefined if there is none. */
export function savedRunSettings(outputDir: string): RunSettings | undefined {
  const last = join(outputDir, 'last');
  if (!hasTrainingCheckpoint(last)) return undefined;
  return (JSON.parse(readFileSync(join(last, 'trainer_state.json'), 'utf8')) as LoopState<PretrainRecord>).fingerprint as unknown as RunSettings;
}

/** Pretrains (or continues pretraining) a BERT with masked-language modelling. */
export async function pretrain(options: PretrainOptions): Promise<PretrainResult> {
  const steps = positiveInteger('steps', options.steps);
  const seqLength = positiveInteger('seqLength', options.seqLength ?? 128);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 32);
  const { lr = 5e-4, warmupRatio = 0.05, weightDecay = 0.01, maxGradNorm = 1, seed = 42, masking = {} } = options;
  const given: Partial<Cadence> = {
    evalEvery: options.evalEvery === undefined ? undefined : positiveInteger('evalEvery', options.evalEvery, true),
    saveEvery: options.saveEvery === undefined ? undefined : positiveInteger('saveEvery', options.saveEvery, true),
    logEvery: options.logEvery === undefined ? undefined : positiveInteger('logEvery', options.logEvery),
    snapshotEvery: options.snapshotEvery === undefined ? undefined : positiveInteger('snapshotEvery', options.snapshotEvery, true),
    fp16: options.fp16,
  };
  const log = options.log === undefined ? (line: string) => console.error(line) : options.log;
  const bagOfWords = options.bagOfWords ?? false;
  const init = options.init && resolveModelPath(options.init);
  const started = performance.now();

  const backend = await initBackend({ backend: options.backend, quiet: log === null });
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const initial = init ? loadCheckpoint(init, 'mlm', { seed, pooler: bagOfWords, quiet: true }).model : undefined;
  const sizeName = initial ? shapeName(initial.config) : options.size ?? 'bert-mini';
  const config = initial?.config ?? sizeConfig(parseSize(sizeName), tokenizer.vocabSize);
  const problem =
    initial && options.size && JSON.stringify(parseSize(options.size)) !== JSON.stringify(parseSize(sizeName))
      ? `size ${options.size} differs from ${init}'s ${sizeName}; a run started from a model keeps its size, so leave out size`
      : config.vocab_size !== tokenizer.vocabSize
        ? `${init} has a vocabulary of ${config.vocab_size}, not bert-base-uncased's ${tokenizer.vocabSize}; pretraining continues only models with that vocabulary`
        : seqLength > config.max_position_embeddings
          ? `seqLength ${seqLength} exceeds BERT's ${config.max_position_embeddings} positions`
          : undefined;
  if (problem) {
    initial?.dispose();
    throw new Error(problem);
  }
  const texts = options.texts ?? pretrainingText();
  const corpus = buildCorpus(texts, tokenizer, { seqLength, heldOutTexts: options.heldOutTexts ?? HELD_OUT_TEXTS, cacheDir: options.cacheDir });
  const vocab = maskingVocab(tokenizer);
  const evalSet = heldOutSequences(corpus, vocab, options.evalSequences ?? EVAL_SEQUENCES, masking);
  const evalTokens = evalSet.reduce((n, s) => n + s.positions.length, 0);
  log?.(`corpus: ${corpus.trainTexts} texts, ${corpus.trainTokens} tokens, ${corpus.train.count} windows of ${seqLength} for training; ` +
    `${corpus.heldOutTexts} held-out texts, ${evalSet.length} windows (${evalTokens} masked tokens) for evaluation`);

  const warmup = Math.round(warmupRatio * steps);
  const fingerprint: RunSettings = {
    size: sizeName, ...(init ? { init } : {}), ...(bagOfWords ? { bagOfWords: true as const } : {}), seqLength, batchSize, lr, steps, warmupRatio, weightDecay, maxGradNorm, seed, masking,
    trainWindows: corpus.train.count, heldOutTexts: corpus.heldOutTexts, evalSequences: evalSet.length,
  };
  const model = initial ?? new BertForMaskedLM(config, { seed, pooler: bagOfWords });
  const params = model.params.trainable();
  const optimizer = new AdamW(trainerParamGroups(params, weightDecay), { lr, weightDecay });
  const lastDir = options.outputDir ? join(options.outputDir, 'last') : undefined;
  const modelDir = options.outputDir ? join(options.outputDir, 'model') : null;

  // The training loop's checkpointed state, read the pretraining way: `epoch` counts passes over
  // the windows, `epochLossSum` / `epochExamples` sum the losses and count the steps since the
  // latest training record (so a run resumed between two records reports the same means).
  // `bowLossSum` sums the bag-of-words losses of the same steps as `epochLossSum`.
  let state: LoopState<PretrainRecord> & { bowLossSum?: number; cadence?: Cadence } = {
    epoch: 0, batchInEpoch: 0, globalStep: 0, epochLossSum: 0, epochExamples: 0, trainExamples: 0, trainSeconds: 0,
    bestValLoss: null, bestEpoch: null, history: [], fingerprint, ...(bagOfWords ? { bowLossSum: 0 } : {}),
  };
  let lock: DirectoryLock | undefined;
  try {
    lock = options.outputDir
      ? claimRunDirectory(options.outputDir, { what: 'pretraining run', resume: options.resume ?? false, overwrite: options.overwrite ?? false, results: ['last', 'model', 'snapshots'] })
      : undefined;
    if (options.resume && !lastDir) throw new Error('resume needs outputDir, the directory of the run to continue');
    if (options.resume && lastDir) {
      state = loadTrainingCheckpoint<PretrainRecord>(lastDir, params, optimizer);
      const was = JSON.stringify(state.fingerprint);
      if (was !== JSON.stringify(fingerprint)) {
        throw new Error(`cannot resume from ${lastDir}: it was started with ${was}, this run has ${JSON.stringify(fingerprint)}; use the same settings or another output directory`);
      }
      log?.(`resumed from ${lastDir} at step ${state.globalStep} of ${steps}`);
    }
  } catch (err) {
    lock?.release();
    optimizer.dispose();
    model.dispose();
    throw err;
  }
  const cadence: Cadence = { ...DEFAULT_CADENCE, ...state.cadence, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
  state.cadence = cadence;
  const { evalEvery, saveEvery, logEvery, snapshotEvery, fp16 } = cadence;

  const orderSeed = deriveSeed(seed, 1);
  const maskSeed = deriveSeed(seed, 2);
  const dropoutSeed = deriveSeed(seed, 3);
  const windows = corpus.train.count;
  let order: { epoch: number; indices: number[] } | undefined;
  /** Sample p of the run (step * batchSize + row): a window in epoch p / windows's order, masked as p alone decides. */
  const sample = (p: number): { window: ArrayLike<number>; masked: MaskedSequence } => {
    const epoch = Math.floor(p / windows);
    if (order?.epoch !== epoch) order = { epoch, indices: permutation(windows, deriveSeed(orderSeed, epoch)) };
    const window = corpus.train.row(order.indices[p - epoch * windows]);
    return { window, masked: maskSequence(Array.from(window), vocab, mulberry32(deriveSeed(maskSeed, p)), masking) };
  };

  // The latest evaluation (after a resume, the one recorded before the interruption).
  const lastEval = [...state.history].reverse().find((r) => r.evalLoss !== undefined);
  let latest: MlmEvaluation | undefined = lastEval && { loss: lastEval.evalLoss!, accuracy: lastEval.evalAccuracy!, tokens: evalTokens };
  let lastLogSeconds = [...state.history].reverse().find((r) => r.loss !== undefined)?.seconds ?? 0;
  const record = (r: PretrainRecord) => {
    state.history.push(r);
    options.onRecord?.(r);
  };
  const evaluateNow = async () => {
    latest = await evaluateMlm(model, evalSet, { batchSize, padTokenId: tokenizer.padTokenId });
    record({ step: state.globalStep, seconds: round(state.trainSeconds, 3), evalLoss: latest.loss, evalAccuracy: latest.accuracy });
    log?.(`eval at step ${state.globalStep}: MLM loss ${latest.loss.toFixed(4)}, accuracy ${(100 * latest.accuracy).toFixed(2)}% on ${latest.tokens} held-out masked tokens`);
  };
  const summary = (): PretrainSummary => ({
    size: sizeName,
    objective: bagOfWords ? 'mlm+bow' : 'mlm',
    params: model.params.size(),
    steps: state.globalStep,
    completed: state.globalStep >= steps,
    seq: seqLength,
    batch: batchSize,
    train_windows: windows,
    train_seconds: round(state.trainSeconds, 2),
    samples_per_s: round(state.trainExamples / Math.max(state.trainSeconds, 1e-9), 2),
    tokens_per_s: round((state.trainExamples * seqLength) / Math.max(state.trainSeconds, 1e-9), 1),
    mlm_loss: round(latest?.loss ?? NaN, 4),
    mlm_accuracy: round(latest?.accuracy ?? NaN, 4),
    eval_masked_tokens: latest?.tokens ?? 0,
    backend: backend.name,
    checkpoint: modelDir,
  });
  const writeModel = (dir: string) => writeDirectoryAtomic(dir, async (tmp) => {
    await saveCheckpoint(model, tmp, { dtype: fp16 ? 'F16' : 'F32' });
    tokenizer.save(tmp);
    writeFileAtomic(join(tmp, 'pretraining.json'), JSON.stringify({ summary: summary(), options: fingerprint, history: state.history }, null, 1) + '\n');
  });
  const save = async () => {
    if (!lastDir || !modelDir) return;
    await saveTrainingCheckpoint(lastDir, state, params, optimizer);
    await writeModel(modelDir);
  };

  let stopped = false;
  try {
    if (!latest) await evaluateNow();
    while (state.globalStep < steps) {
      // On wasm and cpu every await resolves at once; without a turn of the event loop, Ctrl-C
      // (a signal handler) would never run.
      await new Promise((next) => setImmediate(next));
      const elapsed = (performance.now() - started) / 1000;
      if ((options.maxSteps !== undefined && state.globalStep >= options.maxSteps) || (options.maxSeconds !== undefined && elapsed >= options.maxSeconds) || options.signal?.aborted) {
        stopped = true;
        break;
      }
      const step = state.globalStep;
      const stepStart = performance.now();
      const samples = Array.from({ length: batchSize }, (_, row) => sample(step * batchSize + row));
      const batch = mlmBatch(samples.map((s) => s.masked), tokenizer.padTokenId);
      const bowTargets = bagOfWords ? bagOfWordsTargets(samples.map((s) => s.window), vocab) : undefined;
      optimizer.lr = lr * linearSchedule(step, steps, warmup);
      const context = trainingContext(dropoutSeed, step);
      let bowValue: tf.Scalar | undefined;
      const { value, grads } = valueAndGrads(() => {
        const { loss, bowLoss } = maskedLmLoss(model, batch, context, bowTargets);
        if (!bowLoss) return loss;
        bowValue = tf.keep(bowLoss);
        return tf.add(loss, bowLoss) as tf.Scalar;
      }, params);
      disposeBatch(batch);
      bowTargets?.dispose();
      const [total, bowLoss] = [(await value.data())[0], bowValue ? (await bowValue.data())[0] : 0];
      tf.dispose([value, bowValue]);
      const loss = total - bowLoss;
      if (!Number.isFinite(total)) {
        tf.dispose([...grads.values()]);
        throw new NonFiniteLossError(`the ${bagOfWords ? 'MLM + bag-of-words' : 'MLM'} loss became ${total} at step ${step + 1}; the weights were not updated with it. Lower the learning rate (now ${lr})` +
          (lastDir ? ` and resume from ${lastDir}, the last good state` : ''));
      }
      // clipByGlobalNorm frees the gradients it is given and returns scaled copies.
      const applied = maxGradNorm > 0 ? clipByGlobalNorm(grads, maxGradNorm) : grads;
      optimizer.applyGradients(applied);
      tf.dispose([...applied.values()]);
      state.globalStep++;
      state.trainExamples += batchSize;
      state.trainSeconds += (performance.now() - stepStart) / 1000;
      state.epoch = Math.floor((state.globalStep * batchSize) / windows);
      state.epochLossSum += loss;
      if (state.bowLossSum !== undefined) state.bowLossSum += bowLoss;
      state.epochExamples++;

      const done = state.globalStep;
      if (done % logEvery === 0 || done === steps) {
        const recentSeconds = state.trainSeconds - lastLogSeconds;
        lastLogSeconds = round(state.trainSeconds, 3);
        const samplesPerSecond = (state.epochExamples * batchSize) / Math.max(recentSeconds, 1e-9);
        const bow = state.bowLossSum !== undefined ? { bowLoss: state.bowLossSum / state.epochExamples } : {};
        record({ step: done, seconds: lastLogSeconds, loss: state.epochLossSum / state.epochExamples, ...bow, lr: optimizer.lr, samplesPerSecond: round(samplesPerSecond, 2) });
        log?.(`step ${done}/${steps} (epoch ${(done * batchSize / windows).toFixed(2)}): loss ${(state.epochLossSum / state.epochExamples).toFixed(4)}` +
          `${bow.bowLoss !== undefined ? `, bag-of-words loss ${bow.bowLoss.toFixed(4)}` : ''}, lr ${optimizer.lr.toExponential(2)}, ` +
          `${samplesPerSecond.toFixed(1)} samples/s, ${duration((steps - done) * batchSize / samplesPerSecond)} left`);
        state.epochLossSum = 0;
        state.epochExamples = 0;
        if (state.bowLossSum !== undefined) state.bowLossSum = 0;
      }
      if ((evalEvery && done % evalEvery === 0) || done === steps) await evaluateNow();
      if (snapshotEvery && done % snapshotEvery === 0 && options.outputDir) await writeModel(join(options.outputDir, 'snapshots', `step-${done}`));
      if (saveEvery && done % saveEvery === 0 && done < steps) await save();
    }
    await save();
    if (stopped) log?.(`stopped at step ${state.globalStep} of ${steps}${lastDir ? `; continue with resume from ${options.outputDir}` : ''}`);
  } catch (err) {
    optimizer.dispose();
    model.dispose();
    throw err;
  } finally {
    lock?.release();
  }
  optimizer.dispose();
  return { summary: summary(), history: state.history, model, tokenizer };
}
