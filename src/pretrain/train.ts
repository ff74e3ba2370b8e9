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
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/index.js';
import { loadCheckpoint, saveCheckpoint } from '../bert/checkpoint.js';
import { BertForMaskedLM } from '../bert/heads.js';
import { pretrainingText } from '../data/split.js';
import { deriveSeed, mulberry32, permutation } from '../data/random.js';
import { resolveModelPath } from '../package/root.js';
import { formatDuration, round, wholeNumber } from '../numbers.js';
import { BertTokenizer } from '../tokenizer/index.js';
import { claimRunDirectory, loadTrainingCheckpoint, saveTrainingCheckpoint } from '../train/checkpoint.js';
import { writeDirectoryAtomic, writeFileAtomic } from '../files/atomic.js';
import type { DirectoryLock } from '../files/lock.js';
import { AdamW, trainerParamGroups } from '../train/optimizer.js';
import { createProgress } from '../train/progress.js';
import { linearSchedule, shouldStop, trainStep, type StepResult } from '../train/step.js';
import { buildCorpus } from './corpus.js';
import { cooccurrenceEmbeddings } from './word-vectors.js';
import { EVAL_SEQUENCES, evaluateMlm, HELD_OUT_TEXTS, heldOutSequences, type MlmEvaluation } from './evaluation.js';
import { bagOfWordsTargets, disposeBatch, maskingVocab, maskSequence, mlmBatch, type MaskedSequence } from './labels.js';
import { maskedLmLoss } from './objective.js';
import { DEFAULT_CADENCE, type Cadence, type PretrainOptions, type PretrainRecord, type PretrainResult, type PretrainState, type PretrainSummary, type RunSettings } from './options.js';
import { parseSize, shapeName, sizeConfig } from './sizes.js';

/** Pretrains (or continues pretraining) a BERT with masked-language modelling. */
export async function pretrain(options: PretrainOptions): Promise<PretrainResult> {
  const steps = wholeNumber('steps', options.steps);
  const seqLength = wholeNumber('seqLength', options.seqLength ?? 128);
  const batchSize = wholeNumber('batchSize', options.batchSize ?? 32);
  const { lr = 5e-4, warmupRatio = 0.05, weightDecay = 0.01, maxGradNorm = 1, seed = 42, masking = {} } = options;
  const given: Partial<Cadence> = {
    evalEvery: options.evalEvery === undefined ? undefined : wholeNumber('evalEvery', options.evalEvery, 0),
    saveEvery: options.saveEvery === undefined ? undefined : wholeNumber('saveEvery', options.saveEvery, 0),
    logEvery: options.logEvery === undefined ? undefined : wholeNumber('logEvery', options.logEvery),
    snapshotEvery: options.snapshotEvery === undefined ? undefined : wholeNumber('snapshotEvery', options.snapshotEvery, 0),
    fp16: options.fp16,
  };
  const progress = options.log === undefined ? createProgress({ batchSize }) : undefined;
  const log = progress ? (line: string) => progress.log(line) : options.log;
  const bagOfWords = options.bagOfWords ?? false;
  const init = options.init && resolveModelPath(options.init);
  const started = performance.now();

  const backend = await initBackend({ backend: options.backend, quiet: log === null });
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const initial = init ? loadCheckpoint(init, 'mlm', { seed, pooler: bagOfWords, quiet: true }).model : undefined;
  const sizeName = initial ? shapeName(initial.config) : options.size ?? 'bert-mini';
  const config = initial?.config ?? sizeConfig(parseSize(sizeName), tokenizer.vocabSize);
  const problem =
    initial && options.initEmbeddings
      ? `initEmbeddings ${options.initEmbeddings} applies only to a run from random weights; ${init} brings its own embeddings, so leave out one of the two`
      : initial && options.size && JSON.stringify(parseSize(options.size)) !== JSON.stringify(parseSize(sizeName))
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
    size: sizeName, ...(init ? { init } : {}), ...(bagOfWords ? { bagOfWords: true as const } : {}), ...(options.initEmbeddings ? { initEmbeddings: options.initEmbeddings } : {}), seqLength, batchSize, lr, steps, warmupRatio, weightDecay, maxGradNorm, seed, masking,
    trainWindows: corpus.train.count, heldOutTexts: corpus.heldOutTexts, evalSequences: evalSet.length,
  };
  const model = initial ?? new BertForMaskedLM(config, { seed, pooler: bagOfWords });
  const params = model.params.trainable();
  const optimizer = new AdamW(trainerParamGroups(params, weightDecay), { lr, weightDecay });
  const lastDir = options.outputDir ? join(options.outputDir, 'last') : undefined;
  const modelDir = options.outputDir ? join(options.outputDir, 'model') : null;

  let state: PretrainState = {
    globalStep: 0, epoch: 0, trainExamples: 0, trainSeconds: 0, recentLossSum: 0, recentSteps: 0,
    history: [], fingerprint, ...(bagOfWords ? { recentBowLossSum: 0 } : {}),
  };
  let lock: DirectoryLock | undefined;
  try {
    lock = options.outputDir
      ? claimRunDirectory(options.outputDir, { what: 'pretraining run', resume: options.resume ?? false, overwrite: options.overwrite ?? false, results: ['last', 'model', 'snapshots'] })
      : undefined;
    if (options.resume && !lastDir) throw new Error('resume needs outputDir, the directory of the run to continue');
    if (options.resume && lastDir) {
      state = loadTrainingCheckpoint<PretrainState>(lastDir, params, optimizer);
      const was = JSON.stringify(state.fingerprint);
      if (was !== JSON.stringify(fingerprint)) {
        throw new Error(`cannot resume from ${lastDir}: it was started with ${was}, this run has ${JSON.stringify(fingerprint)}; use the same settings or another output directory`);
      }
      log?.(`resumed from ${lastDir} at step ${state.globalStep} of ${steps}`);
    } else if (options.initEmbeddings) {
      const made = cooccurrenceEmbeddings(model, texts, tokenizer, { trainTexts: corpus.trainTexts, cacheDir: options.cacheDir });
      log?.(made);
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
      if (await shouldStop(options, started, state.globalStep)) {
        stopped = true;
        break;
      }
      const step = state.globalStep;
      const stepStart = performance.now();
      const samples = Array.from({ length: batchSize }, (_, row) => sample(step * batchSize + row));
      const batch = mlmBatch(samples.map((s) => s.masked), tokenizer.padTokenId);
      const bowTargets = bagOfWords ? bagOfWordsTargets(samples.map((s) => s.window), vocab) : undefined;
      let result: StepResult;
      try {
        result = await trainStep((_, context) => {
          const { loss, bowLoss } = maskedLmLoss(model, batch, context, bowTargets);
          return bowLoss ? { loss: tf.add(loss, bowLoss) as tf.Scalar, terms: { bow: bowLoss } } : { loss };
        }, {
          optimizer, params, lr: lr * linearSchedule(step, steps, warmup), dropoutSeed, step, maxGradNorm,
          nonFinite: (total) => `the ${bagOfWords ? 'MLM + bag-of-words' : 'MLM'} loss became ${total} at step ${step + 1}; the weights were not updated with it. Lower the learning rate (now ${lr})` +
            (lastDir ? ` and resume from ${lastDir}, the last good state` : ''),
        });
      } finally {
        disposeBatch(batch);
        bowTargets?.dispose();
      }
      const bowLoss = result.terms.bow ?? 0;
      const loss = result.loss - bowLoss;
      state.globalStep++;
      state.trainExamples += batchSize;
      state.trainSeconds += (performance.now() - stepStart) / 1000;
      state.epoch = Math.floor((state.globalStep * batchSize) / windows);
      state.recentLossSum += loss;
      if (state.recentBowLossSum !== undefined) state.recentBowLossSum += bowLoss;
      state.recentSteps++;

      const done = state.globalStep;
      progress?.update({ step: done, steps, loss: state.recentLossSum / state.recentSteps, lr: optimizer.lr, samplesPerSecond: state.trainExamples / Math.max(state.trainSeconds, 1e-9) });
      if (done % logEvery === 0 || done === steps) {
        const recentSeconds = state.trainSeconds - lastLogSeconds;
        lastLogSeconds = round(state.trainSeconds, 3);
        const samplesPerSecond = (state.recentSteps * batchSize) / Math.max(recentSeconds, 1e-9);
        const bow = state.recentBowLossSum !== undefined ? { bowLoss: state.recentBowLossSum / state.recentSteps } : {};
        record({ step: done, seconds: lastLogSeconds, loss: state.recentLossSum / state.recentSteps, ...bow, lr: optimizer.lr, samplesPerSecond: round(samplesPerSecond, 2) });
        log?.(`step ${done}/${steps} (epoch ${(done * batchSize / windows).toFixed(2)}): loss ${(state.recentLossSum / state.recentSteps).toFixed(4)}` +
          `${bow.bowLoss !== undefined ? `, bag-of-words loss ${bow.bowLoss.toFixed(4)}` : ''}, lr ${optimizer.lr.toExponential(2)}, ` +
          `${samplesPerSecond.toFixed(1)} samples/s, ${formatDuration((steps - done) * batchSize / samplesPerSecond)} left`);
        state.recentLossSum = 0;
        state.recentSteps = 0;
        if (state.recentBowLossSum !== undefined) state.recentBowLossSum = 0;
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
    progress?.stop();
    lock?.release();
  }
  optimizer.dispose();
  return { summary: summary(), history: state.history, model, tokenizer };
}
