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
 *
 * `objective: 'rtd'` trains the model as ELECTRA's discriminator instead (rtd.ts), with a small
 * generator whose masked-LM loss stands where the model's own would: the same loop, the same
 * masks, one more stream of randomness (the generator's samples, again a function of seed and step).
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/index.js';
import { loadCheckpoint, saveCheckpoint } from '../bert/checkpoint.js';
import { loadConfig, type BertConfig } from '../bert/config.js';
import { BertForMaskedLM, BertForReplacedTokenDetection } from '../bert/heads.js';
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
import { scheduleFactor, shouldStop, trainStep, type Objective, type StepResult } from '../train/step.js';
import { buildCorpus } from './corpus.js';
import { EVAL_SEQUENCES, evaluateMlm, HELD_OUT_TEXTS, heldOutSequences, type MlmEvaluation, type RtdEvaluation } from './evaluation.js';
import { bagOfWordsTargets, disposeBatch, maskingVocab, maskSequence, mlmBatch, type MaskedSequence, type MlmBatch } from './labels.js';
import { cooccurrenceEmbeddings } from './word-vectors.js';
import { maskedLmLoss } from './objective.js';
import {
  BUDGET_WARMUP_STEPS, continuedState, DEFAULT_CADENCE, MEASURED_STEPS, type Cadence, type PretrainOptions, type PretrainRecord, type PretrainResult, type PretrainState, type PretrainSummary, type RunSettings,
} from './options.js';
import { generatorSize, replacedTokenLoss, rtdParams, RTD_WEIGHT, samplingSeed } from './rtd.js';
import { parseSize, shapeName, sizeConfig } from './sizes.js';

/** The config to pretrain with: `config` with dropout `rate` (hidden and attention). */
function withDropout(config: BertConfig, rate: number): BertConfig {
  return { ...config, hidden_dropout_prob: rate, attention_probs_dropout_prob: rate };
}

/** Pretrains (or continues pretraining) a BERT with masked-language modelling or replaced-token detection. */
export async function pretrain(options: PretrainOptions): Promise<PretrainResult> {
  const seqLength = wholeNumber('seqLength', options.seqLength ?? 128);
  const batchSize = wholeNumber('batchSize', options.batchSize ?? 32);
  const accumulate = wholeNumber('accumulate', options.accumulate ?? 1);
  const { lr = 5e-4, warmupRatio = 0.05, weightDecay = 0.01, maxGradNorm = 1, seed = 42, masking = {}, schedule = 'linear', dropout = 0.1 } = options;
  const rtd = (options.objective ?? 'mlm') === 'rtd';
  const rtdWeight = options.rtdWeight ?? RTD_WEIGHT;
  if (options.steps !== undefined && options.budgetHours !== undefined) throw new Error('give the run a length in steps or a time budget in hours, not both');
  if (options.steps === undefined && options.budgetHours === undefined && !options.resume) throw new Error('missing steps (or budgetHours): the length of the run');
  if (options.budgetHours !== undefined && !(options.budgetHours > 0)) throw new Error(`budgetHours must be a positive number of hours, got ${options.budgetHours}`);
  if (!(dropout >= 0 && dropout < 1)) throw new Error(`dropout must be a rate in [0, 1), got ${dropout}`);
  if (options.snapshotMinutes !== undefined && !(options.snapshotMinutes >= 0)) throw new Error(`snapshotMinutes must be a number of minutes (0: none), got ${options.snapshotMinutes}`);
  // A run resumed without a length is a budgeted one (a run of fixed steps is given its steps again).
  const budgeted = options.steps === undefined;
  const steps = budgeted ? undefined : wholeNumber('steps', options.steps!);
  const warmupSteps = options.warmupSteps === undefined ? (budgeted ? BUDGET_WARMUP_STEPS : undefined) : wholeNumber('warmupSteps', options.warmupSteps, 0);
  const given: Partial<Cadence> = {
    evalEvery: options.evalEvery === undefined ? undefined : wholeNumber('evalEvery', options.evalEvery, 0),
    saveEvery: options.saveEvery === undefined ? undefined : wholeNumber('saveEvery', options.saveEvery, 0),
    logEvery: options.logEvery === undefined ? undefined : wholeNumber('logEvery', options.logEvery),
    snapshotEvery: options.snapshotEvery === undefined ? undefined : wholeNumber('snapshotEvery', options.snapshotEvery, 0),
    snapshotMinutes: options.snapshotMinutes,
    fp16: options.fp16,
  };
  const stepBatch = accumulate * batchSize;
  const progress = options.log === undefined ? createProgress({ batchSize: stepBatch }) : undefined;
  const log = progress ? (line: string) => progress.log(line) : options.log;
  const bagOfWords = options.bagOfWords ?? false;
  const init = options.init && resolveModelPath(options.init);
  const continued = options.continueFrom && resolveModelPath(options.continueFrom);
  const started = performance.now();

  const backend = await initBackend({ backend: options.backend, quiet: log === null });
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const initConfig = init ? loadConfig(init) : undefined;
  const sizeName = initConfig ? shapeName(initConfig) : options.size ?? 'bert-mini';
  const config = initConfig ?? sizeConfig(parseSize(sizeName), tokenizer.vocabSize);
  const generatorName = rtd ? options.generator ?? shapeName(sizeConfig(generatorSize(parseSize(sizeName)), tokenizer.vocabSize)) : undefined;
  // What cannot run, as [the problem is there, what to say], the first that holds reported.
  const problems: [unknown, string][] = [
    [initConfig && options.initEmbeddings,
      `initEmbeddings ${options.initEmbeddings} applies only to a run from random weights; ${init} brings its own embeddings, so leave out one of the two`],
    [initConfig && options.size && JSON.stringify(parseSize(options.size)) !== JSON.stringify(parseSize(sizeName)),
      `size ${options.size} differs from ${init}'s ${sizeName}; a run started from a model keeps its size, so leave out size`],
    [config.vocab_size !== tokenizer.vocabSize,
      `${init} has a vocabulary of ${config.vocab_size}, not bert-base-uncased's ${tokenizer.vocabSize}; pretraining continues only models with that vocabulary`],
    [seqLength > config.max_position_embeddings, `seqLength ${seqLength} exceeds BERT's ${config.max_position_embeddings} positions`],
    [!rtd && (options.generator !== undefined || options.rtdWeight !== undefined),
      `${options.generator !== undefined ? 'generator' : 'rtdWeight'} is a setting of the rtd objective; give objective rtd too, or leave it out`],
    [rtd && (init || bagOfWords),
      `the rtd objective trains a discriminator from random weights, with no vocabulary head for ${init ? 'continuing a masked-LM (init)' : 'the bag-of-words objective'}; leave out ${init ? 'init' : 'bagOfWords'} or use objective mlm`],
    [continued && (rtd || options.resume),
      `continueFrom goes on from a masked-LM's saved weights when its run's state is lost; ${rtd ? 'an rtd run cannot (its generator is saved apart)' : 'resume continues a run whose state is there, exactly: give one of the two'}`],
    [generatorName && parseSize(generatorName).hidden !== config.hidden_size,
      `the generator ${generatorName} shares the model's embeddings, so it must be as wide as the model (hidden ${config.hidden_size}); give it fewer layers, heads or a smaller intermediate size instead`],
  ];
  const problem = problems.find(([there]) => there)?.[1];
  if (problem) throw new Error(problem);
  const texts = options.texts ?? pretrainingText();
  const corpus = buildCorpus(texts, tokenizer, { seqLength, heldOutTexts: options.heldOutTexts ?? HELD_OUT_TEXTS, cacheDir: options.cacheDir });
  const vocab = maskingVocab(tokenizer);
  const evalSet = heldOutSequences(corpus, vocab, options.evalSequences ?? EVAL_SEQUENCES, masking);
  const evalTokens = evalSet.reduce((n, s) => n + s.positions.length, 0);
  log?.(`corpus: ${corpus.trainTexts} texts, ${corpus.trainTokens} tokens, ${corpus.train.count} windows of ${seqLength} for training; ` +
    `${corpus.heldOutTexts} held-out texts, ${evalSet.length} windows (${evalTokens} masked tokens) for evaluation`);

  const fingerprint: RunSettings = {
    size: sizeName, ...(init ? { init } : {}), ...(bagOfWords ? { bagOfWords: true as const } : {}),
    ...(options.initEmbeddings ? { initEmbeddings: options.initEmbeddings } : {}),
    ...(rtd ? { objective: 'rtd' as const, generator: generatorName, rtdWeight } : {}), ...(dropout !== 0.1 ? { dropout } : {}),
    seqLength, batchSize, ...(accumulate > 1 ? { accumulate } : {}), lr, ...(schedule !== 'linear' ? { schedule } : {}),
    ...(steps === undefined ? {} : { steps }), ...(warmupSteps === undefined ? { warmupRatio } : { warmupSteps }), weightDecay, maxGradNorm, seed, masking,
    trainWindows: corpus.train.count, heldOutTexts: corpus.heldOutTexts, evalSequences: evalSet.length,
  };
  // The models train with `dropout`; they are saved with their own config's rates, for fine-tuning.
  const trainConfig = withDropout(config, dropout);
  const generatorConfig = generatorName ? sizeConfig(parseSize(generatorName), tokenizer.vocabSize) : undefined;
  // `lm` is the masked-LM whose loss the run reports: the model itself, or (RTD) the generator.
  const discriminator = rtd ? new BertForReplacedTokenDetection(trainConfig, { seed }) : undefined;
  const weightsFrom = continued || init;
  const lm = weightsFrom
    ? loadCheckpoint(weightsFrom, 'mlm', { config: trainConfig, seed, pooler: bagOfWords, quiet: true }).model
    : discriminator
      ? new BertForMaskedLM(withDropout(generatorConfig!, dropout), { seed: deriveSeed(seed, 5), embeddingsOf: discriminator })
      : new BertForMaskedLM(trainConfig, { seed, pooler: bagOfWords });
  const model = discriminator ?? lm;
  const disposeModels = () => {
    lm.dispose();
    discriminator?.dispose();
  };
  const params = discriminator ? rtdParams(discriminator, lm) : lm.params.trainable();
  const optimizer = new AdamW(trainerParamGroups(params, weightDecay), { lr, weightDecay });
  const lastDir = options.outputDir ? join(options.outputDir, 'last') : undefined;
  const modelDir = options.outputDir ? join(options.outputDir, 'model') : null;

  let state: PretrainState = {
    globalStep: 0, epoch: 0, trainExamples: 0, trainSeconds: 0, recentLossSum: 0, recentSteps: 0,
    history: [], fingerprint, ...(bagOfWords ? { recentBowLossSum: 0 } : {}), ...(rtd ? { recentRtdLossSum: 0 } : {}),
    ...(budgeted && options.budgetHours !== undefined ? { budget: { hours: options.budgetHours, changes: [] } } : {}),
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
      log?.(`resumed from ${lastDir} at step ${state.globalStep} of ${steps ?? state.budget?.steps ?? '(not measured yet)'}`);
    } else if (continued) {
      state = continuedState(continued, fingerprint, stepBatch);
      log?.(`continued from ${continued} at step ${state.globalStep}: its weights, fresh AdamW moments (not an exact resume; its run's state is lost)`);
    } else if (options.initEmbeddings) {
      const made = cooccurrenceEmbeddings(model, texts, tokenizer, { trainTexts: corpus.trainTexts, cacheDir: options.cacheDir });
      log?.(made);
    }
  } catch (err) {
    lock?.release();
    optimizer.dispose();
    disposeModels();
    throw err;
  }
  const cadence: Cadence = { ...DEFAULT_CADENCE, ...state.cadence, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
  state.cadence = cadence;
  const { evalEvery, saveEvery, logEvery, snapshotEvery, snapshotMinutes, fp16 } = cadence;

  // A budgeted run's length in steps, once measured; a larger (or smaller) budget on resume re-converts it.
  const budget = state.budget;
  const budgetSteps = (hours: number, secondsPerStep: number) => Math.floor((hours * 3600) / secondsPerStep);
  if (budget && options.budgetHours !== undefined && options.budgetHours !== budget.hours) {
    budget.changes.push({ step: state.globalStep, hours: options.budgetHours });
    budget.hours = options.budgetHours;
    if (budget.secondsPerStep !== undefined) budget.steps = budgetSteps(budget.hours, budget.secondsPerStep);
    log?.(`budget now ${budget.hours} h of training${budget.steps === undefined ? '' : `: ${budget.steps} steps`}`);
  }
  let totalSteps = steps ?? budget?.steps;
  const warmup = warmupSteps ?? Math.round(warmupRatio * steps!);
  const measuring = { skip: 1, steps: 0, seconds: 0 };

  const orderSeed = deriveSeed(seed, 1);
  const maskSeed = deriveSeed(seed, 2);
  const dropoutSeed = deriveSeed(seed, 3);
  const sampleSeed = deriveSeed(seed, 4);
  const windows = corpus.train.count;
  let order: { epoch: number; indices: number[] } | undefined;
  /** Sample p of the run (step * stepBatch + row): a window in epoch p / windows's order, masked as p alone decides. */
  const sample = (p: number): { window: ArrayLike<number>; masked: MaskedSequence } => {
    const epoch = Math.floor(p / windows);
    if (order?.epoch !== epoch) order = { epoch, indices: permutation(windows, deriveSeed(orderSeed, epoch)) };
    const window = corpus.train.row(order.indices[p - epoch * windows]);
    return { window, masked: maskSequence(Array.from(window), vocab, mulberry32(deriveSeed(maskSeed, p)), masking) };
  };

  // The latest evaluation (after a resume, the one recorded before the interruption).
  const lastEval = [...state.history].reverse().find((r) => r.evalLoss !== undefined);
  let latest: (Omit<MlmEvaluation, 'rtd'> & { rtd?: Pick<RtdEvaluation, 'loss' | 'accuracy' | 'replacedAccuracy' | 'auc'> }) | undefined = lastEval && {
    loss: lastEval.evalLoss!, accuracy: lastEval.evalAccuracy!, tokens: evalTokens,
    ...(lastEval.evalRtdLoss === undefined ? {} : { rtd: { loss: lastEval.evalRtdLoss, accuracy: lastEval.evalRtdAccuracy!, replacedAccuracy: lastEval.evalReplacedAccuracy!, auc: lastEval.evalRtdAuc! } }),
  };
  let lastLogSeconds = [...state.history].reverse().find((r) => r.loss !== undefined)?.seconds ?? 0;
  const record = (r: PretrainRecord) => {
    state.history.push(r);
    options.onRecord?.(r);
  };
  const evaluateNow = async () => {
    const scores = await evaluateMlm(lm, evalSet, { batchSize, padTokenId: tokenizer.padTokenId, discriminator });
    latest = scores;
    const scored = scores.rtd && { evalRtdLoss: scores.rtd.loss, evalRtdAccuracy: scores.rtd.accuracy, evalReplacedAccuracy: scores.rtd.replacedAccuracy, evalRtdAuc: scores.rtd.auc };
    record({ step: state.globalStep, seconds: round(state.trainSeconds, 3), evalLoss: scores.loss, evalAccuracy: scores.accuracy, ...scored });
    log?.(`eval at step ${state.globalStep}: ${rtd ? "generator's " : ''}MLM loss ${scores.loss.toFixed(4)}, accuracy ${(100 * scores.accuracy).toFixed(2)}% on ${scores.tokens} held-out masked tokens` +
      (scores.rtd ? `; RTD loss ${scores.rtd.loss.toFixed(4)}, accuracy ${(100 * scores.rtd.accuracy).toFixed(2)}%, ${(100 * scores.rtd.replacedAccuracy).toFixed(2)}% of ${scores.rtd.replaced} replaced tokens detected, AUC ${scores.rtd.auc.toFixed(4)}` : ''));
  };
  const summary = (): PretrainSummary => ({
    size: sizeName,
    objective: rtd ? 'rtd' : bagOfWords ? 'mlm+bow' : 'mlm',
    params: model.params.size(),
    ...(discriminator ? { generator: generatorName, generator_params: lm.params.size() } : {}),
    steps: state.globalStep,
    completed: totalSteps !== undefined && state.globalStep >= totalSteps,
    ...(budget ? { budget_hours: budget.hours } : {}),
    seq: seqLength,
    batch: batchSize,
    accumulate,
    train_windows: windows,
    train_seconds: round(state.trainSeconds, 2),
    samples_per_s: round(state.trainExamples / Math.max(state.trainSeconds, 1e-9), 2),
    tokens_per_s: round((state.trainExamples * seqLength) / Math.max(state.trainSeconds, 1e-9), 1),
    mlm_loss: round(latest?.loss ?? NaN, 4),
    mlm_accuracy: round(latest?.accuracy ?? NaN, 4),
    eval_masked_tokens: latest?.tokens ?? 0,
    ...(latest?.rtd ? { rtd_loss: round(latest.rtd.loss, 4), rtd_accuracy: round(latest.rtd.accuracy, 4), rtd_replaced_accuracy: round(latest.rtd.replacedAccuracy, 4), rtd_auc: round(latest.rtd.auc, 4) } : {}),
    backend: backend.name,
    checkpoint: modelDir,
  });
  const writeModel = (dir: string) => writeDirectoryAtomic(dir, async (tmp) => {
    const dtype = fp16 ? 'F16' : 'F32';
    await saveCheckpoint(model, tmp, { dtype, config });
    tokenizer.save(tmp);
    if (discriminator) {
      // The generator, a BertForMaskedLM with its own copy of the shared embeddings, for cloze prompts.
      await saveCheckpoint(lm, join(tmp, 'generator'), { dtype, config: generatorConfig });
      tokenizer.save(join(tmp, 'generator'));
    }
    writeFileAtomic(join(tmp, 'pretraining.json'), JSON.stringify({ summary: summary(), options: fingerprint, ...(state.budget ? { budget: state.budget } : {}), ...(state.continuations ? { continuations: state.continuations } : {}), history: state.history }, null, 1) + '\n');
  });
  const save = async () => {
    if (!lastDir || !modelDir) return;
    await saveTrainingCheckpoint(lastDir, state, params, optimizer);
    await writeModel(modelDir);
  };
  /** The step's objective for micro-batch `part`: the MLM loss (and bag-of-words term), or RTD's two terms. */
  const objective = (step: number, batches: MlmBatch[], bowTargets: (tf.Tensor2D | undefined)[]): Objective => (part, context) => {
    if (discriminator) return replacedTokenLoss(discriminator, lm, batches[part], context, { seed: samplingSeed(sampleSeed, step, part), weight: rtdWeight });
    const { loss, bowLoss } = maskedLmLoss(lm, batches[part], context, bowTargets[part]);
    const terms: Record<string, tf.Scalar> = bowLoss ? { mlm: loss, bow: bowLoss } : { mlm: loss };
    return { loss: bowLoss ? (tf.add(loss, bowLoss) as tf.Scalar) : loss, terms };
  };
  const lossName = rtd ? 'generator MLM + λ × RTD' : bagOfWords ? 'MLM + bag-of-words' : 'MLM';

  let stopped = false;
  try {
    if (!latest) await evaluateNow();
    while (totalSteps === undefined || state.globalStep < totalSteps) {
      if (await shouldStop(options, started, state.globalStep)) {
        stopped = true;
        break;
      }
      const step = state.globalStep;
      const stepStart = performance.now();
      const parts = Array.from({ length: accumulate }, (_, part) => Array.from({ length: batchSize }, (_, row) => sample(step * stepBatch + part * batchSize + row)));
      const batches = parts.map((samples) => mlmBatch(samples.map((s) => s.masked), tokenizer.padTokenId));
      const bowTargets = parts.map((samples) => (bagOfWords ? bagOfWordsTargets(samples.map((s) => s.window), vocab) : undefined));
      let result: StepResult;
      try {
        result = await trainStep(objective(step, batches, bowTargets), {
          optimizer, params, lr: lr * scheduleFactor(schedule, step, totalSteps, warmup), dropoutSeed, step, maxGradNorm,
          weights: new Array<number>(accumulate).fill(1 / accumulate),
          nonFinite: (total) => `the ${lossName} loss became ${total} at step ${step + 1}; the weights were not updated with it. Lower the learning rate (now ${lr})` +
            (lastDir ? ` and resume from ${lastDir}, the last good state` : ''),
        });
      } finally {
        batches.forEach(disposeBatch);
        tf.dispose(bowTargets.filter((t) => t !== undefined));
      }
      const stepSeconds = (performance.now() - stepStart) / 1000;
      const secondsBefore = state.trainSeconds;
      state.globalStep++;
      state.trainExamples += stepBatch;
      state.trainSeconds += stepSeconds;
      state.epoch = Math.floor((state.globalStep * stepBatch) / windows);
      state.recentLossSum += result.terms.mlm;
      if (state.recentBowLossSum !== undefined) state.recentBowLossSum += result.terms.bow;
      if (state.recentRtdLossSum !== undefined) state.recentRtdLossSum += result.terms.rtd;
      state.recentSteps++;

      const done = state.globalStep;
      if (budget && totalSteps === undefined && measuring.skip-- <= 0) {
        measuring.steps++;
        measuring.seconds += stepSeconds;
        if (measuring.steps === MEASURED_STEPS) {
          budget.secondsPerStep = measuring.seconds / measuring.steps;
          budget.steps = totalSteps = budgetSteps(budget.hours, budget.secondsPerStep);
          log?.(`measured ${budget.secondsPerStep.toFixed(3)} s a step: the budget of ${budget.hours} h is ${totalSteps} steps`);
        }
      }
      progress?.update({ step: done, steps: totalSteps, loss: state.recentLossSum / state.recentSteps, lr: optimizer.lr, samplesPerSecond: state.trainExamples / Math.max(state.trainSeconds, 1e-9) });
      if (done % logEvery === 0 || done === totalSteps) {
        const recentSeconds = state.trainSeconds - lastLogSeconds;
        lastLogSeconds = round(state.trainSeconds, 3);
        const samplesPerSecond = (state.recentSteps * stepBatch) / Math.max(recentSeconds, 1e-9);
        const mean = (sum: number | undefined) => (sum === undefined ? undefined : sum / state.recentSteps);
        const terms = { bowLoss: mean(state.recentBowLossSum), rtdLoss: mean(state.recentRtdLossSum) };
        record({ step: done, seconds: lastLogSeconds, loss: state.recentLossSum / state.recentSteps, ...Object.fromEntries(Object.entries(terms).filter(([, v]) => v !== undefined)), lr: optimizer.lr, samplesPerSecond: round(samplesPerSecond, 2) });
        log?.(`step ${done}/${totalSteps ?? '?'} (epoch ${(done * stepBatch / windows).toFixed(2)}): ${rtd ? "generator's MLM " : ''}loss ${(state.recentLossSum / state.recentSteps).toFixed(4)}` +
          `${terms.bowLoss !== undefined ? `, bag-of-words loss ${terms.bowLoss.toFixed(4)}` : ''}${terms.rtdLoss !== undefined ? `, RTD loss ${terms.rtdLoss.toFixed(4)}` : ''}, lr ${optimizer.lr.toExponential(2)}, ` +
          `${samplesPerSecond.toFixed(1)} samples/s${totalSteps === undefined ? '' : `, ${formatDuration((totalSteps - done) * stepBatch / samplesPerSecond)} left`}`);
        state.recentLossSum = 0;
        state.recentSteps = 0;
        if (state.recentBowLossSum !== undefined) state.recentBowLossSum = 0;
        if (state.recentRtdLossSum !== undefined) state.recentRtdLossSum = 0;
      }
      if ((evalEvery && done % evalEvery === 0) || done === totalSteps) await evaluateNow();
      if (snapshotEvery && done % snapshotEvery === 0 && options.outputDir) await writeModel(join(options.outputDir, 'snapshots', `step-${done}`));
      const period = 60 * snapshotMinutes;
      if (period && Math.floor(state.trainSeconds / period) > Math.floor(secondsBefore / period) && options.outputDir) {
        await writeModel(join(options.outputDir, 'snapshots', `step-${done}-${(state.trainSeconds / 3600).toFixed(2)}h`));
      }
      if (saveEvery && done % saveEvery === 0 && done !== totalSteps) await save();
    }
    await save();
    if (stopped) log?.(`stopped at step ${state.globalStep} of ${totalSteps ?? '?'}${lastDir ? `; continue with resume from ${options.outputDir}` : ''}`);
  } catch (err) {
    optimizer.dispose();
    disposeModels();
    throw err;
  } finally {
    progress?.stop();
    lock?.release();
  }
  optimizer.dispose();
  return { summary: summary(), history: state.history, model, ...(discriminator ? { generator: lm } : {}), tokenizer };
}
