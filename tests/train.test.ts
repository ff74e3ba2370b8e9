/**
 * The training loop and the fine-tuning methods on the tiny reference BERT
 * (tests/fixtures/hf-reference/tiny-bert-cls) and small slices of IMDB: frozen training leaves
 * BERT untouched, runs are reproducible and resume exactly, a non-finite loss stops the run with
 * the last good checkpoint intact, live tensors stay flat, and full fine-tuning learns.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { loadCheckpoint } from '../src/bert/checkpoint.js';
import { loadConfig } from '../src/bert/config.js';
import type { BertArticleClassifier } from '../src/bert/heads.js';
import { classifierPooling } from '../src/bert/pooling.js';
import { maxAbsDiff } from './helpers/close.js';
import { DataLoader } from '../src/data/loader.js';
import { loadImdb } from '../src/data/imdb.js';
import { splitDataset } from '../src/data/split.js';
import { BertTokenizer } from '../src/tokenizer/index.js';
import { applyMethod, countParameters, FeatureCache, featureClassifier, finetune, predict, tokenClassifier, type ClassifierModel, type FeatureBatch } from '../src/finetune/index.js';
import { fit, type FitOptions } from '../src/train/trainer.js';
import type { BatchSource } from '../src/train/classifier.js';
import { NonFiniteLossError } from '../src/train/step.js';
import { hasTrainingCheckpoint } from '../src/train/checkpoint.js';

const CLS = 'tests/fixtures/hf-reference/tiny-bert-cls';
const tmp = mkdtempSync(join(tmpdir(), 'train-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let tokenizer: BertTokenizer;
let train: DataLoader;
let validation: DataLoader;

before(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const splits = splitDataset(loadImdb(), { trainSize: 96, valSize: 32, testSize: 32, seed: 7 });
  train = new DataLoader(splits.train, { tokenizer, batchSize: 16, maxLength: 32, shuffle: true, seed: 7 });
  validation = new DataLoader(splits.validation, { tokenizer, batchSize: 16, maxLength: 32 });
});

function load(task: 'classification' | 'article' = 'classification'): ClassifierModel {
  return loadCheckpoint(CLS, task, { quiet: true, seed: 3 }).model as ClassifierModel;
}

async function snapshot(model: ClassifierModel): Promise<Map<string, Float32Array>> {
  return new Map(await Promise.all(model.params.named().map(async ([name, v]) => [name, (await v.data()) as Float32Array] as const)));
}

const quick: FitOptions = { epochs: 2, lr: 1e-3, seed: 11, progress: false };

/** The PID of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

test('frozen training (with and without cached features) leaves every BERT parameter bit-identical', async () => {
  for (const cached of [true, false]) {
    const model = load('article');
    applyMethod(model, 'frozen');
    const before = await snapshot(model);
    if (cached) {
      const [tr, va] = [await FeatureCache.build(model, train, 16), await FeatureCache.build(model, validation, 16)];
      await fit(featureClassifier(model), tr, va, quick);
      tr.dispose();
      va.dispose();
    } else {
      await fit(tokenClassifier(model), train, validation, quick);
    }
    const afterTraining = await snapshot(model);
    let headChanged = false;
    for (const [name, values] of before) {
      const same = values.every((x, i) => Object.is(x, afterTraining.get(name)![i]));
      if (name.startsWith('bert.')) assert.ok(same, `${name} changed during frozen training (cached=${cached})`);
      else headChanged ||= !same;
    }
    assert.ok(headChanged, 'the head did not train');
    const counts = countParameters(model);
    assert.equal(counts.trainable, 64 * 512 + 512 + 512 * 2 + 2);
    model.dispose();
  }
});

test("one encoder pass caches both poolings: 'cls' the pooled [CLS] the head reads, 'mean' the mean of each review's own tokens", async () => {
  const model = load('article');
  const before = tf.memory().numTensors;
  const reviews = { text: ['A fine film.', 'Bad.', 'A long and tedious film about nothing at all, which I watched twice.'], label: [1, 0, 0], labelNames: ['negative', 'positive'] };
  const loader = new DataLoader(reviews, { tokenizer, batchSize: 3, maxLength: 32, padding: 'longest' });
  const { cls, mean } = await FeatureCache.buildEach(model, loader, 3, ['cls', 'mean']);
  const single = await FeatureCache.build(model, loader, 3);
  assert.deepEqual(await cls.features.data(), await single.features.data(), "build() is buildEach's 'cls'");
  assert.deepEqual(Array.from(await mean.labels.data()), reviews.label);
  for (const batch of loader.inDatasetOrder()) {
    const pooled = tf.tidy(() => model.forward({ inputIds: batch.input_ids, attentionMask: batch.attention_mask }).poolerOutput!);
    assert.deepEqual(await pooled.data(), await cls.features.data(), "'cls' is the head's own input");
    pooled.dispose();
  }
  // Each review alone, without padding: the plain mean of its tokens' vectors, by hand.
  const cached = (await mean.features.array()) as number[][];
  for (const [i, text] of reviews.text.entries()) {
    const hidden = tf.tidy(() => model.bert.forward({ inputIds: tokenizer.encode(text).input_ids }).lastHiddenState);
    const rows = ((await hidden.array()) as number[][][])[0];
    hidden.dispose();
    const byHand = rows[0].map((_, d) => rows.reduce((sum, row) => sum + row[d], 0) / rows.length);
    byHand.forEach((x, d) => assert.ok(Math.abs(x - cached[i][d]) < 1e-5, `review ${i}, dimension ${d}: ${cached[i][d]} cached, ${x} by hand`));
  }
  [cls, mean, single].forEach((cache) => cache.dispose());
  assert.equal(tf.memory().numTensors, before, 'the caches own their tensors, and nothing else stays');
  model.dispose();
});

test("pooling 'mean' in finetune: the frozen head trains on the mean features, its config says so, and the saved model reads the mean again", async () => {
  const out = join(tmp, 'mean-pooling');
  const result = await finetune({
    method: 'frozen', model: CLS, pooling: 'mean', trainSize: 64, valSize: 32, testSize: 32, epochs: 1,
    batchSize: 16, maxLength: 32, seed: 5, progress: false, outputDir: out,
  });
  assert.equal(classifierPooling(result.model.config), 'mean');
  const saved = JSON.parse(readFileSync(join(out, 'best', 'config.json'), 'utf8'));
  assert.equal(saved.classifier_pooling, 'mean', 'config.json keeps the pooling (ModernBERT\'s key)');
  // The head's forward pass over token ids gives what it learned on: the cached mean features.
  const reloaded = loadCheckpoint(join(out, 'best'), 'article', { quiet: true }).model as ClassifierModel;
  const { mean } = await FeatureCache.buildEach(reloaded, validation, 16, ['mean']);
  for (const batch of validation.inDatasetOrder()) {
    const fromCache = tf.tidy(() => reloaded.classify(mean.features.slice(0, batch.indices.length)));
    const fromIds = tf.tidy(() => (reloaded as BertArticleClassifier).forward({ inputIds: batch.input_ids, attentionMask: batch.attention_mask }).logProbs);
    assert.ok(maxAbsDiff(await fromIds.data(), await fromCache.data()) < 1e-5);
    tf.dispose([fromCache, fromIds]);
    break;
  }
  mean.dispose();
  reloaded.dispose();
  result.model.dispose();
  // The fingerprint records the pooling the head read, also when it came from the model's config rather than an option.
  const fingerprint = (dir: string) => JSON.parse(readFileSync(join(dir, 'last', 'trainer_state.json'), 'utf8')).fingerprint;
  assert.equal(fingerprint(out).pooling, 'mean');
  const again = join(tmp, 'mean-from-config');
  const fromConfig = await finetune({
    method: 'frozen', model: join(out, 'best'), trainSize: 64, valSize: 32, testSize: 0, epochs: 1,
    batchSize: 16, maxLength: 32, seed: 5, progress: false, outputDir: again,
  });
  assert.equal(fingerprint(again).pooling, 'mean');
  fromConfig.model.dispose();
  await assert.rejects(finetune({ method: 'lora', model: CLS, pooling: 'mean', trainSize: 32, valSize: 16, testSize: 0, epochs: 1, progress: false }),
    /pooling is a setting of feature extraction \(method frozen\).*leave pooling out/);
});

test('two runs with the same seed give the same losses, with dropout on', async () => {
  const run = async () => {
    const model = load();
    const result = await fit(tokenClassifier(model), train, validation, quick);
    model.dispose();
    return result.history.map((r) => [r.trainLoss, r.valLoss]);
  };
  const [a, b] = [await run(), await run()];
  assert.deepEqual(a, b);
  assert.notEqual(a[0][0], a[1][0]);
});

test('a run interrupted mid-epoch and resumed ends where an uninterrupted run ends', async () => {
  const straightDir = join(tmp, 'straight');
  const model = load();
  const straight = await fit(tokenClassifier(model), train, validation, { ...quick, outputDir: straightDir, restoreBest: false });
  const expected = await snapshot(model);
  model.dispose();

  const dir = join(tmp, 'resumed');
  const first = load();
  const part = await fit(tokenClassifier(first), train, validation, { ...quick, outputDir: dir, maxSteps: 9, restoreBest: false });
  first.dispose();
  assert.equal(part.interrupted, true);
  assert.equal(part.steps, 9);
  assert.ok(hasTrainingCheckpoint(join(dir, 'last')));

  const second = load();
  const resumed = await fit(tokenClassifier(second), train, validation, { ...quick, outputDir: dir, resume: true, restoreBest: false });
  assert.deepEqual(resumed.history.map((r) => [r.trainLoss, r.valLoss]), straight.history.map((r) => [r.trainLoss, r.valLoss]));
  const got = await snapshot(second);
  for (const [name, values] of expected) assert.deepEqual(got.get(name), values, `${name} differs after resume`);
  second.dispose();

  const other = load();
  await assert.rejects(fit(tokenClassifier(other), train, validation, { ...quick, lr: 5e-4, outputDir: dir, resume: true }), /cannot resume .* use the same settings/);
  other.dispose();
});

test('after two crashes, recovery restores the newest complete checkpoint, removes the leftovers, and the resumed run ends as an uninterrupted one', async (t) => {
  const model = load();
  const straight = await fit(tokenClassifier(model), train, validation, { ...quick, outputDir: join(tmp, 'straight-2'), restoreBest: false });
  const expected = await snapshot(model);
  model.dispose();

  // One run, stopped at steps 3, 6 and 9, with a copy of last/ kept at 3 and 6.
  const dir = join(tmp, 'crashed');
  const last = join(dir, 'last');
  const copies: string[] = [];
  for (const [maxSteps, resume] of [[3, false], [6, true], [9, true]] as const) {
    const m = load();
    await fit(tokenClassifier(m), train, validation, { ...quick, outputDir: dir, maxSteps, resume, restoreBest: false });
    m.dispose();
    if (maxSteps < 9) cpSync(last, copies[copies.push(join(tmp, `copy-${maxSteps}`)) - 1], { recursive: true });
  }
  // Crash 1 (an earlier process) while removing the old copy at step 3: its marker went first, then its optimizer.
  const [gone1, gone2] = [deadPid(), deadPid()];
  const halfDeleted = join(dir, `.last.${gone1}-0a0a0a0a.old`);
  renameSync(copies[0], halfDeleted);
  for (const file of ['.complete', 'optimizer.safetensors']) rmSync(join(halfDeleted, file));
  // Crash 2 between the renames of the save at step 9: the step-6 copy moved aside, the new copy not yet in place.
  renameSync(copies[1], join(dir, `.last.${gone2}-0b0b0b0b.old`));
  renameSync(last, join(dir, `.last.${gone2}-0b0b0b0b.tmp`));
  assert.equal(existsSync(last), false);

  const said: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => said.push(String(chunk))) as typeof process.stderr.write;
  t.after(() => { process.stderr.write = write; });
  const second = load();
  const resumed = await fit(tokenClassifier(second), train, validation, { ...quick, outputDir: dir, resume: true, restoreBest: false });
  process.stderr.write = write;
  assert.equal(said[0], `restored ${last} from .last.${gone2}-0b0b0b0b.tmp, the newest complete copy an interrupted write left\n`);
  assert.deepEqual(said.slice(1).sort(), [
    `removed .last.${gone1}-0a0a0a0a.old, an incomplete copy left by an interrupted write\n`,
    `removed .last.${gone2}-0b0b0b0b.old, an older copy left by an interrupted write\n`,
  ].sort());
  assert.deepEqual(readdirSync(dir), ['last']);
  assert.deepEqual(resumed.history.map((r) => [r.trainLoss, r.valLoss]), straight.history.map((r) => [r.trainLoss, r.valLoss]));
  const got = await snapshot(second);
  for (const [name, values] of expected) assert.deepEqual(got.get(name), values, `${name} differs after the recovered resume`);
  second.dispose();
});

test('a NaN loss stops the run with a clear message and keeps the last good checkpoint', async () => {
  const model = load('article');
  applyMethod(model, 'frozen');
  const features = await FeatureCache.build(model, train, 16);
  const poisonAt = 4;
  // The same batches, but the 4th of the first epoch carries a NaN feature.
  const poisoned: BatchSource<FeatureBatch> = {
    size: features.size,
    numBatches: features.numBatches,
    *epoch(epoch) {
      let i = 0;
      for (const batch of features.epoch(epoch)) {
        if (++i !== poisonAt) { yield batch; continue; }
        const bad = tf.tidy(() => batch.features.add(tf.scalar(NaN).mul(tf.oneHot(0, batch.features.shape[1])).reshape([1, -1])) as tf.Tensor2D);
        try { yield { features: bad, labels: batch.labels }; } finally { bad.dispose(); }
      }
    },
  };
  const dir = join(tmp, 'nan');
  const valFeatures = await FeatureCache.build(model, validation, 16);
  await assert.rejects(
    fit(featureClassifier(model), poisoned, valFeatures, { ...quick, outputDir: dir, checkpointEverySteps: 2 }),
    (err: Error) => err instanceof NonFiniteLossError && /loss became NaN at epoch 1, batch 4 \(step 4\)/.test(err.message) && err.message.includes(join(dir, 'last')) && /after step 2/.test(err.message),
  );
  const state = JSON.parse(readFileSync(join(dir, 'last', 'trainer_state.json'), 'utf8'));
  assert.equal(state.globalStep, 2);
  const params = await snapshot(model);
  for (const values of params.values()) assert.ok(values.every(Number.isFinite), 'a NaN step reached the parameters');
  features.dispose();
  valFeatures.dispose();
  model.dispose();
});

test('gradient accumulation (micro-batches of 5 out of 16) makes the same updates as whole batches, leaking nothing', async () => {
  const config = { ...loadConfig(CLS), hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 };
  const run = async (microBatchSize?: number) => {
    const model = loadCheckpoint(CLS, 'classification', { quiet: true, seed: 3, config }).model as ClassifierModel;
    const tensors = tf.memory().numTensors;
    const result = await fit(tokenClassifier(model), train, validation, { ...quick, microBatchSize });
    assert.equal(tf.memory().numTensors, tensors, 'fit leaves no tensors behind');
    const weights = await snapshot(model);
    model.dispose();
    return { losses: result.history.map((r) => r.trainLoss), weights };
  };
  const [whole, parts] = [await run(), await run(5)];
  whole.losses.forEach((loss, i) => assert.ok(Math.abs(loss - parts.losses[i]) < 1e-5, `epoch ${i + 1}: ${loss} vs ${parts.losses[i]}`));
  let worst = 0;
  for (const [name, w] of whole.weights) w.forEach((x, i) => { worst = Math.max(worst, Math.abs(x - parts.weights.get(name)![i])); });
  assert.ok(worst < 1e-4, `largest weight difference ${worst}`);
  assert.ok(whole.losses[0] !== whole.losses[1], 'the weights moved');
});

test('live tensors stay flat from epoch to epoch', async () => {
  const model = load();
  const counts: number[] = [];
  await fit(tokenClassifier(model), train, validation, { ...quick, epochs: 3, onEpochEnd: () => counts.push(tf.memory().numTensors) });
  assert.equal(counts.length, 3);
  assert.ok(counts.every((n) => n === counts[0]), `live tensors per epoch: ${counts}`);
  model.dispose();
});

test('predict returns labels and probabilities, and refuses empty text', async () => {
  const model = load();
  const out = await predict(model, tokenizer, ['A wonderful film.', 'x '.repeat(5000)], { maxLength: 32 });
  assert.equal(out.length, 2);
  for (const p of out) {
    assert.ok(Math.abs(p.probabilities[0] + p.probabilities[1] - 1) < 1e-5);
    assert.equal(p.label, p.probabilities[1] > p.probabilities[0] ? 1 : 0);
  }
  await assert.rejects(predict(model, tokenizer, ['fine', '  ']), /text 1 is empty/);
  model.dispose();
});

test('full fine-tuning of tiny-bert-cls on 3,000 reviews reaches 65% on 1,000 test reviews', async () => {
  const result = await finetune({
    method: 'full', model: CLS, trainSize: 3000, valSize: 200, testSize: 1000, epochs: 2,
    batchSize: 32, maxLength: 64, lr: 1e-3, seed: 42, progress: false,
  });
  console.log(JSON.stringify(result.summary));
  assert.equal(result.summary.test_size, 1000);
  assert.ok(result.summary.test_accuracy >= 0.65, `test accuracy ${result.summary.test_accuracy}`);
  result.model.dispose();
});

test('finetune-lab train prints the summary JSON and saves the best model', () => {
  const out = join(tmp, 'cli');
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', '--model', CLS, '--method', 'lora', '--train-size', '64', '--val-size', '32',
    '--test-size', '32', '--epochs', '1', '--batch-size', '16', '--max-length', '32', '--output', out, '--backend', 'wasm'], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  const summary = JSON.parse(res.stdout.trim().split('\n').at(-1)!);
  for (const key of ['method', 'trainable_params', 'total_params', 'epochs', 'train_seconds', 'train_samples_per_s', 'val_loss', 'val_accuracy', 'test_accuracy', 'test_f1', 'checkpoint']) {
    assert.ok(key in summary, `summary lacks ${key}`);
  }
  assert.equal(summary.method, 'lora');
  assert.ok(summary.trainable_params < summary.total_params / 100);
  assert.ok(existsSync(join(out, 'best', 'adapter_model.safetensors')));
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'train', '--method', 'magic'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown method "magic"; use one of frozen, full, adapter, lora/);
});
