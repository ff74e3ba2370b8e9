/**
 * ONNX Runtime as the engine for the work that does not train: evaluate, predict, the frozen
 * features, cloze prompting, `finetune()`'s evaluations and `finetune-lab forward` must give on an
 * OnnxModel what they give on TensorFlow.js (wasm backend): the same predictions, scores and
 * features (pooled [CLS] and mean-pooled) within 1e-4, on padded batches. Then the engine choice
 * (auto, the setting, the errors).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { cli } from './helpers/cli.js';
import { assertClose } from './helpers/close.js';
import { initBackend } from '../src/backend/index.js';
import { loadCheckpoint } from '../src/bert/checkpoint.js';
import type { BertForMaskedLM } from '../src/bert/heads.js';
import { loadSettings } from '../src/course/settings.js';
import { DataLoader } from '../src/data/loader.js';
import { loadImdb } from '../src/data/imdb.js';
import { splitDataset } from '../src/data/split.js';
import { FeatureCache, finetune, onnxTokenScorer, predict, tokenClassifier, type ClassifierModel } from '../src/finetune/index.js';
import { OnnxModel, resolveEngine } from '../src/onnx/index.js';
import { clozeScores, fillMask, SENTIMENT_TEMPLATES, SENTIMENT_VERBALIZER } from '../src/prompting/index.js';
import { evaluate } from '../src/train/classifier.js';
import { BertTokenizer } from '../src/tokenizer/index.js';

const FIXTURES = 'tests/fixtures/hf-reference';
const CLS = `${FIXTURES}/tiny-bert-cls`;
const TINY = `${FIXTURES}/tiny-bert`;
const TOL = 1e-4;
const TMP = mkdtempSync(join(tmpdir(), 'onnx-engine-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

let tokenizer: BertTokenizer;
let loader: DataLoader;
let texts: string[];

before(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const { validation } = splitDataset(loadImdb(), { trainSize: 0, valSize: 24, testSize: 0, seed: 5 });
  texts = validation.text;
  loader = new DataLoader(validation, { tokenizer, batchSize: 8, maxLength: 128, padding: 'longest' });
});

/**
 * The classifier fixture, transformers' head or the article's, with weights moved as training
 * would move them and the decision boundary put at the median review: as loaded, every review
 * gets the same probabilities to 1e-4 and the same class.
 */
async function classifier(task: 'classification' | 'article'): Promise<ClassifierModel> {
  const model = loadCheckpoint(CLS, task, { quiet: true, seed: 3 }).model as ClassifierModel;
  const params = model.params.named();
  for (const [i, [name, v]] of params.entries()) {
    const std = name.includes('LayerNorm') || name.endsWith('bias') ? 0 : name.startsWith('bert.') ? 0.15 : 0.5;
    if (std) tf.tidy(() => v.assign(tf.add(v, tf.randomNormal(v.shape, 0, std, 'float32', 80 + i))));
  }
  const margins = (await evaluate(tokenClassifier(model), loader)).probabilities.map(([p0, p1]) => Math.log(p1 / p0)).sort((a, b) => a - b);
  const median = (margins[11] + margins[12]) / 2;
  const bias = params.filter(([name]) => name.endsWith('bias')).at(-1)![1];
  tf.tidy(() => bias.assign(tf.sub(bias, tf.tensor1d([0, median]))));
  return model;
}

for (const task of ['classification', 'article'] as const) {
  test(`evaluate, predict and the frozen features on ONNX Runtime equal TensorFlow.js' (${task} head)`, async () => {
    const model = await classifier(task);
    const onnx = await OnnxModel.create(model);
    try {
      const [tfjs, ort] = [await evaluate(tokenClassifier(model), loader), await evaluate(onnxTokenScorer(onnx), loader)];
      assert.equal(ort.labels.length, 24);
      assert.deepEqual(ort.predictions, tfjs.predictions);
      assertClose(ort.probabilities.flat(), tfjs.probabilities.flat(), TOL, 'evaluate probabilities');
      assertClose([ort.loss], [tfjs.loss], TOL, 'evaluate loss');
      // Not a trivial agreement: both classes are predicted, with probabilities that differ from review to review.
      assert.deepEqual(new Set(tfjs.predictions), new Set([0, 1]), `predictions ${tfjs.predictions.join('')}`);
      assert.ok(new Set(tfjs.probabilities.map((p) => p[0].toFixed(3))).size > 5, `probabilities ${tfjs.probabilities.map((p) => p[0].toFixed(4)).join(' ')}`);

      const [p1, p2] = [await predict(model, tokenizer, texts, { maxLength: 128, batchSize: 10 }), await predict(onnx, tokenizer, texts, { maxLength: 128, batchSize: 10 })];
      assert.deepEqual(p2.map((p) => p.labelName), p1.map((p) => p.labelName));
      assertClose(p2.flatMap((p) => p.probabilities), p1.flatMap((p) => p.probabilities), TOL, 'predict probabilities');

      const [f1, f2] = [await FeatureCache.buildEach(model, loader, 8, ['cls', 'mean']), await FeatureCache.buildEach(onnx, loader, 8, ['cls', 'mean'])];
      for (const pooling of ['cls', 'mean'] as const) {
        assert.deepEqual(f2[pooling].features.shape, [24, model.config.hidden_size]);
        assertClose(await f2[pooling].features.data(), await f1[pooling].features.data(), TOL, `${pooling} features`);
        assert.deepEqual(await f2[pooling].labels.data(), await f1[pooling].labels.data());
        f1[pooling].dispose();
        f2[pooling].dispose();
      }
    } finally {
      await onnx.release();
      model.dispose();
    }
  });
}

test("cloze scores and fill-mask on the encoder's ONNX graph equal TensorFlow.js'; a fill-mask graph is refused", async () => {
  const model = loadCheckpoint(TINY, 'mlm', { quiet: true }).model as BertForMaskedLM;
  const onnx = await OnnxModel.create(model, { task: 'feature-extraction' });
  try {
    const reviews = ['A fine film.', ...texts.slice(0, 3), 'Dull. I left early.'];
    for (const template of SENTIMENT_TEMPLATES.slice(0, 2)) {
      const options = { maxLength: 64, batchSize: 4 };
      const [s1, s2] = [await clozeScores(model, tokenizer, reviews, template, SENTIMENT_VERBALIZER, options), await clozeScores(onnx, tokenizer, reviews, template, SENTIMENT_VERBALIZER, options)];
      assertClose(s2.flat(), s1.flat(), TOL, `cloze scores (${template.name})`);
    }
    const text = 'the movie was [MASK] and the actors were [MASK].';
    const [m1, m2] = [await fillMask(model, tokenizer, text, { topK: 5 }), await fillMask(onnx, tokenizer, text, { topK: 5 })];
    assert.deepEqual(m2.map((blank) => blank.map((f) => f.token)), m1.map((blank) => blank.map((f) => f.token)));
    assertClose(m2.flat().map((f) => f.probability), m1.flat().map((f) => f.probability), TOL, 'fill-mask probabilities');
    const fillMaskGraph = await OnnxModel.create(model);
    await assert.rejects(fillMask(fillMaskGraph, tokenizer, text), /create the OnnxModel with task 'feature-extraction', not 'fill-mask'/);
    await assert.rejects(fillMaskGraph.output(loader.inDatasetOrder().next().value!, 'pooler_output'), /has no output "pooler_output".*create the OnnxModel for the task that gives it/);
    await fillMaskGraph.release();
  } finally {
    await onnx.release();
    model.dispose();
  }
});

test("finetune's engine: the frozen features and the final evaluations on ONNX Runtime give TensorFlow.js' figures", async () => {
  for (const method of ['frozen', 'lora'] as const) {
    const run = (engine: 'onnx' | 'tfjs') => finetune({ method, engine, model: CLS, trainSize: 32, valSize: 16, testSize: 16, epochs: 1, batchSize: 8, maxLength: 128, lr: 0.05, progress: false });
    const [tfjs, ort] = [await run('tfjs'), await run('onnx')];
    assert.deepEqual(ort.test!.predictions, tfjs.test!.predictions, method);
    assertClose(ort.test!.probabilities.flat(), tfjs.test!.probabilities.flat(), TOL, `${method}: test probabilities`);
    assertClose([ort.summary.val_loss, ort.history[0].trainLoss], [tfjs.summary.val_loss, tfjs.history[0].trainLoss], TOL, `${method}: validation and training loss`);
    for (const r of [tfjs, ort]) r.model.dispose();
  }
});

test('finetune-lab forward --engine onnx writes what --engine tfjs writes (classifier, and --mlm)', async () => {
  const input = join(TMP, 'input.json');
  const batch = tokenizer.encode(['a fine film', 'dull, i left early and never came back'], { padding: 'longest' });
  writeFileSync(input, JSON.stringify(batch));
  for (const [model, extra, keys] of [[CLS, [], ['last_hidden_state', 'logits', 'pooler_output']], [TINY, ['--mlm'], ['last_hidden_state', 'mlm_logits', 'pooler_output']]] as const) {
    const outputs: Record<string, { shape: number[]; data: number[] }>[] = [];
    for (const engine of ['tfjs', 'onnx']) {
      const output = join(TMP, `${engine}.json`);
      const { code, stderr } = await cli(['forward', '--model', model, '--input', input, '--output', output, '--engine', engine, '--backend', 'wasm', ...extra]);
      assert.equal(code, 0, stderr);
      outputs.push(JSON.parse(readFileSync(output, 'utf8')));
    }
    const [tfjs, ort] = outputs;
    assert.deepEqual(Object.keys(ort).sort(), [...keys], model);
    for (const key of keys) {
      assert.deepEqual(ort[key].shape, tfjs[key].shape, `${model} ${key}`);
      assertClose(ort[key].data, tfjs[key].data, TOL, `${model} ${key}`, { relative: true });
    }
  }
});

test("finetune-lab bench --engine onnx times ONNX Runtime's forward pass and lists the fused operators", async () => {
  const { code, stdout, stderr } = await cli(['bench', '--engine', 'onnx', '--size', 'bert-tiny', '--batch', '2', '--seq', '16', '--steps', '1', '--threads', '1']);
  assert.equal(code, 0, stderr);
  const result = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.equal(result.engine, 'onnxruntime');
  assert.equal(result.threads, 1);
  assert.ok(result.forward_samples_per_s > 0);
  // bert-tiny has 2 layers: one fused GELU and one fused q k^T / sqrt(d) each.
  assert.equal(result.optimized_ops['com.microsoft:BiasGelu'], 2);
  assert.equal(result.optimized_ops['com.microsoft:FusedMatMul'], 2);
});

test('the engine choice: auto is ONNX Runtime on CPU backends (it is installed here), TensorFlow.js on webgpu; FINETUNE_LAB_ENGINE sets it', () => {
  assert.equal(resolveEngine('auto', 'wasm'), 'onnx');
  assert.equal(resolveEngine('auto', 'cpu'), 'onnx');
  assert.equal(resolveEngine('auto', 'webgpu'), 'tfjs');
  assert.equal(resolveEngine('tfjs', 'wasm'), 'tfjs');
  assert.equal(resolveEngine('onnx', 'webgpu'), 'onnx');
  assert.throws(() => resolveEngine('fast' as 'auto', 'wasm'), /unknown engine "fast"; use one of auto, onnx, tfjs/);
  assert.equal(loadSettings({}).engine, 'auto');
  assert.equal(loadSettings({ FINETUNE_LAB_ENGINE: 'tfjs' }).engine, 'tfjs');
  assert.throws(() => loadSettings({ FINETUNE_LAB_ENGINE: 'ort' }), /FINETUNE_LAB_ENGINE="ort" is not an engine; use one of auto, onnx, tfjs/);
});
