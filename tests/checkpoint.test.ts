/**
 * Checkpoints in Hugging Face's layout: what save writes is what transformers' save_pretrained
 * writes (compared with the fixture files), loading accepts the variants found in the wild
 * (no `bert.` prefix, legacy gamma/beta, F16/BF16, a stored tied decoder), and problems are
 * reported as transformers reports them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { loadCheckpoint, saveCheckpoint, type TaskModel } from '../src/bert/checkpoint.js';
import { BERT_DEFAULTS, bertConfig, configJson, loadConfig, numLabels } from '../src/bert/config.js';
import type { BertTask } from '../src/bert/heads.js';
import { fromPretrained } from '../src/bert/pretrained.js';
import { readSafetensors, writeSafetensors } from '../src/safetensors/index.js';

const FIXTURES = 'tests/fixtures/hf-reference';
const TINY = `${FIXTURES}/tiny-bert`;
const TINY_CLS = `${FIXTURES}/tiny-bert-cls`;
const quiet = { quiet: true };
let work: string;

/** Name -> [dtype, shape] of a safetensors file. */
function layout(file: string): Record<string, [string, number[]]> {
  const f = readSafetensors(file);
  const out = Object.fromEntries([...f.tensors].map(([name, info]) => [name, [info.dtype, [...info.shape]] as [string, number[]]]));
  f.close();
  return out;
}

/** Every parameter's values, by name. */
async function values(model: TaskModel<BertTask>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of model.params.named()) out.set(name, (await v.data()) as Float32Array);
  return out;
}

/** Rewrites a fixture checkpoint into `dir` with renamed / retyped tensors. */
async function rewrite(from: string, dir: string, rename: (key: string) => string | undefined, dtype: 'F32' | 'F16' | 'BF16' = 'F32', extra: { name: string; shape: number[]; data: Float32Array }[] = []): Promise<string> {
  const f = readSafetensors(join(from, 'model.safetensors'));
  const tensors = [];
  for (const name of f.names()) {
    const renamed = rename(name);
    if (renamed !== undefined) tensors.push({ name: renamed, shape: [...f.info(name).shape], data: f.readFloat32(name) });
  }
  f.close();
  await writeSafetensors(join(dir, 'model.safetensors'), [...tensors, ...extra], { dtype });
  copyFileSync(join(from, 'config.json'), join(dir, 'config.json'));
  return dir;
}

function subdir(name: string): string {
  return mkdtempSync(join(work, `${name}-`));
}

describe('BertConfig', () => {
  test("transformers' defaults, num_labels from id2label, unknown fields kept", () => {
    const config = bertConfig({ num_labels: 3, transformers_version: '5.17.0' });
    assert.equal(config.hidden_size, 768);
    assert.equal(config.layer_norm_eps, 1e-12);
    assert.equal(config.classifier_dropout, null);
    assert.equal(numLabels(config), 3);
    assert.equal(numLabels(bertConfig()), 2);
    const json = configJson(config);
    assert.equal(json.model_type, 'bert');
    assert.equal(json.transformers_version, '5.17.0');
    assert.deepEqual(json.id2label, { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' });
    for (const key of Object.keys(BERT_DEFAULTS)) assert.ok(key in json, `config.json lacks ${key}`);
  });

  test('what this BERT does not compute is refused', () => {
    assert.throws(() => bertConfig({ hidden_act: 'gelu_new' }), /hidden_act="gelu_new"/);
    assert.throws(() => bertConfig({ position_embedding_type: 'relative_key' }), /position_embedding_type/);
    assert.throws(() => bertConfig({ hidden_size: 100, num_attention_heads: 12 }), /not a multiple/);
  });
});

describe('checkpoints in Hugging Face layout', () => {
  before(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    work = mkdtempSync(join(tmpdir(), 'finetune-lab-ckpt-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  for (const [task, fixture] of [['classification', TINY_CLS], ['pretraining', TINY]] as const) {
    test(`save writes what save_pretrained wrote (${task}): keys, shapes, dtypes, bytes; load is lossless`, async () => {
      const { model, info } = loadCheckpoint(fixture, task, quiet);
      assert.deepEqual(info, { missingKeys: [], unexpectedKeys: [] });
      const dir = subdir(task);
      await saveCheckpoint(model, dir);
      assert.deepEqual(layout(join(dir, 'model.safetensors')), layout(join(fixture, 'model.safetensors')));
      // The safetensors writer lays files out as Python's save_file, so a lossless round trip is byte-identical.
      assert.ok(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(fixture, 'model.safetensors'))));
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), JSON.parse(readFileSync(join(fixture, 'config.json'), 'utf8')));

      const reloaded = loadCheckpoint(dir, task, quiet).model;
      assert.deepEqual(await values(reloaded), await values(model));
      reloaded.dispose();
      model.dispose();
    });
  }

  test('BertModel and BertForMaskedLM save the keys transformers saves for them', async () => {
    const expected = Object.keys(layout(join(TINY, 'model.safetensors')));
    const base = loadCheckpoint(TINY, 'base', quiet).model;
    const baseDir = subdir('base');
    await saveCheckpoint(base, baseDir);
    // BertModel has no base-model prefix; its checkpoint loads back into a task model.
    assert.deepEqual(Object.keys(layout(join(baseDir, 'model.safetensors'))).sort(), expected.filter((k) => k.startsWith('bert.')).map((k) => k.slice(5)).sort());
    const mlm = loadCheckpoint(TINY, 'mlm', quiet).model;
    const mlmDir = subdir('mlm');
    await saveCheckpoint(mlm, mlmDir);
    // No pooler (BertForMaskedLM has none), no decoder (tied to the word embeddings).
    assert.deepEqual(Object.keys(layout(join(mlmDir, 'model.safetensors'))).sort(), expected.filter((k) => !k.startsWith('bert.pooler') && !k.startsWith('cls.seq_relationship')).sort());
    assert.deepEqual(loadConfig(mlmDir).architectures, ['BertForMaskedLM']);
    base.dispose();
    mlm.dispose();
  });

  test('checkpoints without the bert. prefix and with legacy LayerNorm gamma/beta load identically', async () => {
    const reference = loadCheckpoint(TINY_CLS, 'classification', quiet).model;
    const legacy = (k: string) => k.replace(/^bert\./, '').replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
    const dir = await rewrite(TINY_CLS, subdir('legacy'), legacy);
    assert.ok(Object.keys(layout(join(dir, 'model.safetensors'))).includes('embeddings.LayerNorm.gamma'));
    const { model, info } = loadCheckpoint(dir, 'classification', quiet);
    assert.deepEqual(info, { missingKeys: [], unexpectedKeys: [] });
    assert.deepEqual(await values(model), await values(reference));
    model.dispose();
    reference.dispose();
  });

  for (const dtype of ['F16', 'BF16'] as const) {
    test(`${dtype} checkpoints load as float32`, async () => {
      const dir = await rewrite(TINY_CLS, subdir(dtype), (k) => k, dtype);
      const file = readSafetensors(join(dir, 'model.safetensors'));
      const { model, info } = loadCheckpoint(dir, 'classification', quiet);
      assert.deepEqual(info.missingKeys, []);
      const query = 'bert.encoder.layer.0.attention.self.query.weight';
      assert.equal(file.info(query).dtype, dtype);
      // Stored [out, in], held [in, out]: compare element (o, i) with (i, o).
      const stored = file.readFloat32(query);
      const held = (await model.params.get(query).data()) as Float32Array;
      const [out, inp] = file.info(query).shape;
      for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) assert.equal(held[i * out + o], stored[o * inp + i]);
      const word = 'bert.embeddings.word_embeddings.weight';
      assert.deepEqual((await model.params.get(word).data()) as Float32Array, file.readFloat32(word));
      file.close();
      model.dispose();
    });
  }

  test('missing and unexpected keys are reported and printed as transformers does', () => {
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (message: string) => warnings.push(message);
    let result;
    try {
      result = loadCheckpoint(TINY, 'classification');
    } finally {
      console.warn = warn;
    }
    const { model, info } = result;
    assert.deepEqual(info.missingKeys, ['classifier.weight', 'classifier.bias']);
    assert.deepEqual(info.unexpectedKeys.sort(), Object.keys(layout(join(TINY, 'model.safetensors'))).filter((k) => k.startsWith('cls.')).sort());
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /were not used when initializing BertForSequenceClassification: .*cls\.seq_relationship\.weight/);
    assert.match(warnings[1], /Some weights of BertForSequenceClassification were not initialized .* newly initialized: \["classifier\.weight","classifier\.bias"\]/);
    model.dispose();
  });

  test('a stored tied decoder and position_ids buffer are accepted, not unexpected', async () => {
    const { shape } = readSafetensors(join(TINY, 'model.safetensors')).info('bert.embeddings.word_embeddings.weight');
    const decoder = { name: 'cls.predictions.decoder.weight', shape: [...shape], data: new Float32Array(shape[0] * shape[1]) };
    const positionIds = { name: 'bert.embeddings.position_ids', shape: [1, 4], data: new Float32Array([0, 1, 2, 3]) };
    const dir = await rewrite(TINY, subdir('decoder'), (k) => k, 'F32', [decoder, positionIds]);
    const { model, info } = loadCheckpoint(dir, 'mlm', quiet);
    assert.deepEqual(info.unexpectedKeys.sort(), ['bert.pooler.dense.bias', 'bert.pooler.dense.weight', 'cls.seq_relationship.bias', 'cls.seq_relationship.weight']);
    model.dispose();
  });

  test('a shape mismatch names the tensor and both shapes', () => {
    const tensors = tf.memory().numTensors;
    const config = { ...loadConfig(TINY_CLS), id2label: { 0: 'a', 1: 'b', 2: 'c' } };
    assert.equal(numLabels(config), 3);
    assert.throws(() => loadCheckpoint(TINY_CLS, 'classification', { ...quiet, config }), /classifier\.weight has shape \[2,64\] but the model's classifier\.weight needs \[3,64\]/);
    const wide = bertConfig({ ...loadConfig(TINY_CLS), intermediate_size: 100 });
    assert.throws(() => loadCheckpoint(TINY_CLS, 'classification', { ...quiet, config: wide }), /bert\.encoder\.layer\.0\.intermediate\.dense\.weight has shape \[96,64\] .* needs \[100,64\]/);
    // A failed load leaves nothing allocated.
    assert.equal(tf.memory().numTensors, tensors);
  });

  test('fromPretrained: config, weights, tokenizer and new labels from a model directory', async () => {
    const { model, tokenizer, info, dir } = await fromPretrained(TINY, { task: 'classification', labels: ['negative', 'positive', 'neutral'], seed: 3, quiet: true });
    assert.ok(dir.endsWith('tiny-bert'));
    assert.deepEqual(info.missingKeys, ['classifier.weight', 'classifier.bias']);
    assert.deepEqual(model.params.get('classifier.weight').shape, [model.config.hidden_size, 3]);
    assert.deepEqual(tokenizer!.encode('i like strawberries').input_ids, [[101, 1045, 2066, 13137, 20968, 102]]);
    const saved = subdir('labels');
    await saveCheckpoint(model, saved);
    const json = JSON.parse(readFileSync(join(saved, 'config.json'), 'utf8'));
    assert.deepEqual(json.id2label, { 0: 'negative', 1: 'positive', 2: 'neutral' });
    assert.deepEqual(json.label2id, { negative: 0, positive: 1, neutral: 2 });
    model.dispose();
  });
});
