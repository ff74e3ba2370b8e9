/**
 * LoRA and bottleneck adapters on the tiny BERT classifier (tests/fixtures/hf-reference/tiny-bert-cls):
 * exact base outputs at init, merge/unmerge, freezing and gradients, parameter counts (and the
 * bert-base fraction from config arithmetic), PEFT's file layout and key names, save/load round
 * trips, and the errors for adapters that do not fit.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { maxAbsDiff } from './helpers/close.js';
import { initBackend } from '../src/backend/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/bert/checkpoint.js';
import { BERT_DEFAULTS, bertConfig, numLabels, type BertConfig } from '../src/bert/config.js';
import { BertForSequenceClassification } from '../src/bert/heads.js';
import { readSafetensors } from '../src/safetensors/index.js';
import { AdamW, valueAndGrads } from '../src/train/optimizer.js';
import { injectAdapters, injectLora, loadAdapter, type AdapterModel, type LoraModel } from '../src/adapters/index.js';

const FIXTURES = 'tests/fixtures/hf-reference';
const CLS = `${FIXTURES}/tiny-bert-cls`;
const fx = JSON.parse(readFileSync(`${FIXTURES}/bert-parity.json`, 'utf8'));
const inputs = { inputIds: fx.inputs.input_ids, attentionMask: fx.inputs.attention_mask, tokenTypeIds: fx.inputs.token_type_ids };
const labels = [0, 1, 1, 0];
const tmp = mkdtempSync(join(tmpdir(), 'adapters-test-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const tempDir = () => join(tmp, `a${dirs++}`);

function classifier(config?: BertConfig): BertForSequenceClassification {
  return loadCheckpoint(CLS, 'classification', { quiet: true, config }).model;
}

/** Logits and last hidden state, as plain arrays. */
function outputs(model: BertForSequenceClassification, training = false): { logits: Float32Array; hidden: Float32Array } {
  return tf.tidy(() => {
    const out = model.forward(inputs, { training });
    return { logits: out.logits.dataSync() as Float32Array, hidden: out.lastHiddenState.dataSync() as Float32Array };
  });
}

/** Simulates training: replaces every `*.lora_B.weight` (or all adapter weights) with seeded noise. */
function perturb(params: [string, tf.Variable][], select: (name: string) => boolean, std: number, seed: number): void {
  params.filter(([n]) => select(n)).forEach(([, v], i) => tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, std, 'float32', seed + i))));
}

const isB = (n: string) => n.endsWith('lora_B.weight');
const LORA4 = { r: 4, lora_alpha: 8, base_model_name_or_path: 'tiny-bert-cls' };

/** Scalar parameters of a BertForSequenceClassification, from its config alone. */
function bertClassifierSize(c: BertConfig): number {
  const h = c.hidden_size;
  const ff = c.intermediate_size;
  const linear = (i: number, o: number) => i * o + o;
  const embeddings = (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * h + 2 * h;
  const layer = 4 * linear(h, h) + linear(h, ff) + linear(ff, h) + 2 * 2 * h;
  return embeddings + c.num_hidden_layers * layer + linear(h, h) + linear(h, numLabels(c));
}

/** LoRA's scalar parameters on query and value of every layer. */
const loraQvSize = (c: BertConfig, r: number) => c.num_hidden_layers * 2 * r * (c.hidden_size + c.hidden_size);

before(async () => {
  await initBackend({ backend: 'cpu', quiet: true });
});

describe('LoRA', () => {
  test('before training the model computes exactly the base outputs (bit-identical)', () => {
    const model = classifier();
    const base = outputs(model);
    const lora = injectLora(model, LORA4, { seed: 1 });
    assert.deepEqual(lora.targets, [0, 1].flatMap((i) => ['query', 'value'].map((m) => `bert.encoder.layer.${i}.attention.self.${m}`)));
    const after = outputs(model);
    assert.deepEqual(after.logits, base.logits);
    assert.deepEqual(after.hidden, base.hidden);
    // A is really there (nn.Linear's kaiming-uniform, |A| <= 1/sqrt(in)); B is zero.
    const a = lora.params.get('bert.encoder.layer.0.attention.self.query.lora_A.weight').dataSync();
    const bound = 1 / Math.sqrt(64);
    assert.ok(a.every((v) => Math.abs(v) <= bound) && a.some((v) => Math.abs(v) > bound / 2), 'lora_A uniform in ±1/sqrt(in)');
    assert.ok(lora.params.get('bert.encoder.layer.0.attention.self.query.lora_B.weight').dataSync().every((v) => v === 0));
    model.dispose();
    lora.unload();
  });

  test('merge() gives the unmerged outputs within 1e-5; unmerge() restores W within 1e-6', () => {
    const model = classifier();
    const base = outputs(model);
    const lora = injectLora(model, LORA4, { seed: 2 });
    const weights = lora.targets.map((n) => model.params.get(`${n}.weight`).dataSync().slice());
    perturb(lora.params.named(), isB, 0.1, 10);
    const unmerged = outputs(model);
    const change = maxAbsDiff(unmerged.hidden, base.hidden);
    assert.ok(change > 1e-2, `the perturbed adapter changes the hidden states (by ${change})`);
    lora.merge();
    assert.ok(lora.isMerged);
    const merged = outputs(model);
    assert.ok(maxAbsDiff(merged.logits, unmerged.logits) <= 1e-5, `merged logits differ by ${maxAbsDiff(merged.logits, unmerged.logits)}`);
    assert.ok(maxAbsDiff(merged.hidden, unmerged.hidden) <= 1e-5, `merged hidden states differ by ${maxAbsDiff(merged.hidden, unmerged.hidden)}`);
    assert.throws(() => lora.merge(), /already merged/);
    lora.unmerge();
    lora.targets.forEach((n, i) => {
      const d = maxAbsDiff(model.params.get(`${n}.weight`).dataSync(), weights[i]);
      assert.ok(d <= 1e-6, `${n}.weight differs by ${d} after unmerge`);
    });
    assert.ok(maxAbsDiff(outputs(model).logits, unmerged.logits) <= 1e-5);
    lora.unload();
    model.dispose();
  });

  test('only LoRA and modules_to_save train; counts as PEFT; bert-base fraction < 1% from config arithmetic', (t) => {
    const model = classifier();
    const lora = injectLora(model, LORA4, { seed: 3 });
    const expected = [
      ...lora.targets.flatMap((n) => [`${n}.lora_A.weight`, `${n}.lora_B.weight`]),
      'classifier.weight', 'classifier.bias',
    ];
    assert.deepEqual(lora.trainableParameters().map(([n]) => n).sort(), expected.sort());
    assert.deepEqual(model.params.trainable().map(([n]) => n), ['classifier.weight', 'classifier.bias']);

    const { trainable, total } = lora.countParameters();
    assert.equal(trainable, loraQvSize(model.config, 4) + 64 * 2 + 2);
    assert.equal(lora.params.size(), loraQvSize(model.config, 4));
    assert.equal(total, bertClassifierSize(model.config) + loraQvSize(model.config, 4));
    assert.equal(model.params.size(), bertClassifierSize(model.config), 'the size formula is the model');
    assert.match(lora.describeParameters(), /^trainable params: 2,178 \|\| all params: [\d,]+ \|\| trainable%: 0\.\d{4}$/);
    t.diagnostic(`tiny-bert-cls, LoRA r=4 on query,value: ${lora.describeParameters()}`);

    const bertBase = bertConfig({ ...BERT_DEFAULTS, num_labels: 2 });
    const baseTrainable = loraQvSize(bertBase, 8) + 768 * 2 + 2;
    const baseTotal = bertClassifierSize(bertBase) + loraQvSize(bertBase, 8);
    const fraction = baseTrainable / baseTotal;
    t.diagnostic(`bert-base-uncased, LoRA r=8 on query,value: trainable ${baseTrainable} of ${baseTotal} (${(100 * fraction).toFixed(4)}%)`);
    assert.ok(fraction < 0.01, `bert-base LoRA fraction ${fraction}`);
    lora.unload();
    model.dispose();
  });

  test('lora_dropout acts in training only', () => {
    const config = bertConfig({ ...JSON.parse(readFileSync(`${CLS}/config.json`, 'utf8')), hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 });
    const model = classifier(config);
    const lora = injectLora(model, { ...LORA4, lora_dropout: 0.5 }, { seed: 5 });
    perturb(lora.params.named(), isB, 0.1, 20);
    const evalOut = outputs(model).logits;
    assert.deepEqual(outputs(model).logits, evalOut, 'eval is deterministic');
    assert.ok(maxAbsDiff(outputs(model, true).logits, evalOut) > 1e-4, 'training applies dropout to the LoRA input');
    lora.unload();
    const plain = injectLora(model, LORA4, { seed: 5 });
    perturb(plain.params.named(), isB, 0.1, 20);
    assert.deepEqual(outputs(model, true).logits, outputs(model).logits, 'no dropout anywhere: training equals eval');
    plain.unload();
    model.dispose();
  });

  test('saves adapter_config.json and adapter_model.safetensors with PEFT keys, shapes and config', async () => {
    const model = classifier();
    const lora = injectLora(model, { ...LORA4, lora_dropout: 0.1 }, { seed: 6 });
    perturb(lora.params.named(), isB, 0.1, 30);
    const dir = tempDir();
    await lora.save(dir);

    const file = readSafetensors(join(dir, 'adapter_model.safetensors'));
    const shapes = Object.fromEntries(file.names().map((k) => [k, [...file.info(k).shape]]));
    const expected: Record<string, number[]> = { 'base_model.model.classifier.weight': [2, 64], 'base_model.model.classifier.bias': [2] };
    for (const i of [0, 1]) {
      for (const m of ['query', 'value']) {
        expected[`base_model.model.bert.encoder.layer.${i}.attention.self.${m}.lora_A.weight`] = [4, 64];
        expected[`base_model.model.bert.encoder.layer.${i}.attention.self.${m}.lora_B.weight`] = [64, 4];
      }
    }
    assert.deepEqual(shapes, Object.fromEntries(Object.keys(shapes).sort().map((k) => [k, expected[k]])));
    assert.deepEqual(Object.keys(shapes).sort(), Object.keys(expected).sort());
    assert.deepEqual(file.metadata, { format: 'pt' });
    // PyTorch layout: the file's lora_A [r, in] is the transpose of the stored [in, r].
    const stored = lora.params.get('bert.encoder.layer.1.attention.self.value.lora_A.weight');
    assert.deepEqual(file.readFloat32('base_model.model.bert.encoder.layer.1.attention.self.value.lora_A.weight'), tf.tidy(() => tf.transpose(stored).dataSync()));
    file.close();

    const text = readFileSync(join(dir, 'adapter_config.json'), 'utf8');
    const json = JSON.parse(text);
    assert.deepEqual(Object.keys(json), Object.keys(json).sort(), 'keys sorted as json.dumps(sort_keys=True)');
    assert.equal(json.peft_type, 'LORA');
    assert.equal(json.task_type, 'SEQ_CLS');
    assert.equal(json.r, 4);
    assert.equal(json.lora_alpha, 8);
    assert.equal(json.lora_dropout, 0.1);
    assert.deepEqual([...json.target_modules].sort(), ['query', 'value']);
    assert.equal(json.bias, 'none');
    assert.deepEqual(json.modules_to_save, ['classifier', 'score']);
    assert.equal(json.fan_in_fan_out, false);
    assert.equal(json.use_dora, false);
    assert.equal(json.use_rslora, false);
    assert.equal(json.base_model_name_or_path, 'tiny-bert-cls');
    assert.equal(typeof json.inference_mode, 'boolean');
    lora.unload();
    model.dispose();
  });

  test('loads an adapter_config.json as PEFT 0.17 writes it (all its fields)', async () => {
    const model = classifier();
    const lora = injectLora(model, LORA4, { seed: 11 });
    perturb(lora.params.named(), isB, 0.1, 90);
    const trained = outputs(model);
    const dir = tempDir();
    await lora.save(dir);
    lora.unload();
    model.dispose();
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({
      alora_invocation_tokens: null, alpha_pattern: {}, arrow_config: null, auto_mapping: null, base_model_name_or_path: 'tiny-bert-cls',
      bias: 'none', corda_config: null, ensure_weight_tying: false, eva_config: null, exclude_modules: null, fan_in_fan_out: false,
      inference_mode: true, init_lora_weights: true, layer_replication: null, layers_pattern: null, layers_to_transform: null,
      loftq_config: {}, lora_alpha: 8, lora_bias: false, lora_dropout: 0.0, megatron_config: null, megatron_core: 'megatron.core',
      modules_to_save: ['classifier', 'score'], peft_type: 'LORA', peft_version: '0.17.1', qalora_group_size: 16, r: 4, rank_pattern: {},
      revision: null, target_modules: ['value', 'query'], target_parameters: null, task_type: 'SEQ_CLS', trainable_token_indices: null,
      use_dora: false, use_qalora: false, use_rslora: false,
    }, null, 2));
    const fresh = classifier();
    const loaded = loadAdapter(fresh, dir) as LoraModel;
    assert.deepEqual(outputs(fresh).logits, trained.logits);
    assert.equal(loaded.config.inference_mode, true);
    loaded.unload();
    fresh.dispose();
  });

  test('target_modules: suffix list, full-match regex, errors for no match and unsupported options', () => {
    const model = classifier();
    const dense = injectLora(model, { target_modules: ['dense'] });
    assert.deepEqual(dense.targets, model.bert.linearNames().filter((n) => n.endsWith('.dense')));
    dense.unload();
    const regex = injectLora(model, { target_modules: 'bert\\.encoder\\.layer\\.0\\.attention\\.self\\.(query|key)' });
    assert.deepEqual(regex.targets, ['bert.encoder.layer.0.attention.self.query', 'bert.encoder.layer.0.attention.self.key']);
    assert.throws(() => injectLora(model), /already has an adapter/);
    regex.unload();
    assert.throws(() => injectLora(model, { target_modules: ['q_proj'] }), /match no Linear module/);
    assert.throws(() => injectLora(model, { use_dora: true } as never), /use_dora/);
    assert.throws(() => injectLora(model, { modules_to_save: ['clasifier'] }), /"clasifier" names no module/);
    // The failed attempts left the model untouched: everything trainable again, no hooks.
    assert.ok(model.params.named().every(([, v]) => v.trainable));
    model.dispose();
  });

  test('the article classifier trains its fc1, fc2 head with LoRA and round-trips', async () => {
    const { model } = loadCheckpoint(CLS, 'article', { quiet: true, seed: 1 });
    const lora = injectLora(model, LORA4, { seed: 8 });
    assert.equal(lora.config.task_type, null);
    assert.deepEqual(lora.config.modules_to_save, ['fc1', 'fc2']);
    assert.deepEqual(model.params.trainable().map(([n]) => n), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    perturb(lora.params.named(), isB, 0.1, 60);
    const trained = tf.tidy(() => model.forward(inputs).logProbs.dataSync());
    const dir = tempDir();
    await lora.save(dir);
    lora.unload();
    model.dispose();
    const fresh = loadCheckpoint(CLS, 'article', { quiet: true, seed: 2 }).model;
    const loaded = loadAdapter(fresh, dir);
    assert.deepEqual(tf.tidy(() => fresh.forward(inputs).logProbs.dataSync()), trained);
    loaded.unload();
    fresh.dispose();
  });
});

describe('bottleneck adapters', () => {
  test('at init they change the outputs by less than 1e-3, but not by zero', () => {
    const model = classifier();
    const base = outputs(model);
    const adapters = injectAdapters(model, { bottleneck_size: 16 }, { seed: 1 });
    const after = outputs(model);
    const dLogits = maxAbsDiff(after.logits, base.logits);
    const dHidden = maxAbsDiff(after.hidden, base.hidden);
    assert.ok(dLogits > 0 && dLogits < 1e-3, `logits change ${dLogits}`);
    assert.ok(dHidden > 0 && dHidden < 1e-3, `hidden states change ${dHidden}`);
    assert.deepEqual(adapters.targets, ['bert.encoder.layer.0.attention.output.dense', 'bert.encoder.layer.0.output.dense', 'bert.encoder.layer.1.attention.output.dense', 'bert.encoder.layer.1.output.dense']);
    adapters.unload();
    assert.deepEqual(outputs(model).logits, base.logits, 'unload() restores the base model');
    model.dispose();
  });

  test('names, defaults, trainable set (adapters, layer norms, head) and counts', () => {
    const model = classifier();
    const adapters = injectAdapters(model);
    assert.equal(adapters.config.bottleneck_size, 4, 'hidden_size / 16');
    const own = adapters.params.names();
    assert.deepEqual(own.slice(0, 4), ['down.weight', 'down.bias', 'up.weight', 'up.bias'].map((p) => `bert.encoder.layer.0.attention.output.adapter.${p}`));
    assert.ok(own.includes('bert.encoder.layer.1.output.adapter.up.weight'));
    assert.deepEqual(adapters.params.parameter('bert.encoder.layer.0.output.adapter.down.weight').shape, [64, 4]);
    const layerNorms = [0, 1].flatMap((i) => ['attention.output', 'output'].flatMap((m) => ['weight', 'bias'].map((p) => `bert.encoder.layer.${i}.${m}.LayerNorm.${p}`)));
    assert.deepEqual(model.params.trainable().map(([n]) => n).sort(), ['classifier.weight', 'classifier.bias', ...layerNorms].sort());
    const perAdapter = 64 * 4 + 4 + 4 * 64 + 64;
    assert.deepEqual(adapters.countParameters(), { trainable: 4 * perAdapter + layerNorms.length * 64 + 130, total: model.params.size() + 4 * perAdapter });
    adapters.unload();
    const frozenNorms = injectAdapters(model, { train_layer_norms: false, non_linearity: 'relu' });
    assert.deepEqual(model.params.trainable().map(([n]) => n), ['classifier.weight', 'classifier.bias']);
    frozenNorms.unload();
    model.dispose();
  });

});

/** Each kind of adapter in the shared contract below: how it is made and trained, and what else its files and its loaded copy show. */
interface AdapterKind {
  name: string;
  /** As made for training. */
  fresh(model: BertForSequenceClassification): AdapterModel;
  /** Parameters whose gradient is not zero from the start, and that one AdamW step changes. */
  learning: string[];
  /** As made for the save / load round trip. */
  inject(model: BertForSequenceClassification): AdapterModel;
  /** Simulated training: the adapter's weights and the modules saved with it. */
  train(adapter: AdapterModel, model: BertForSequenceClassification): void;
  checkDirectory(dir: string): void;
  checkLoaded(loaded: AdapterModel): void;
}

const KINDS: AdapterKind[] = [
  {
    name: 'LoRA',
    fresh: (model) => injectLora(model, LORA4, { seed: 4 }),
    learning: ['bert.encoder.layer.0.attention.self.query.lora_B.weight', 'bert.encoder.layer.1.attention.self.value.lora_B.weight', 'classifier.weight'],
    inject: (model) => injectLora(model, { ...LORA4, lora_dropout: 0.1 }, { seed: 7 }),
    train: (lora, model) => {
      perturb(lora.params.named(), isB, 0.1, 40);
      perturb(model.params.named(), (n) => n.startsWith('classifier.'), 0.5, 50);
    },
    checkDirectory: () => {},
    checkLoaded: (adapter) => {
      const loaded = adapter as LoraModel;
      assert.equal(loaded.config.lora_dropout, 0.1);
      assert.equal(loaded.scaling, 2);
      assert.equal(loaded.countParameters().trainable, 2178);
    },
  },
  {
    name: 'bottleneck adapters (with the layer norms and head)',
    fresh: (model) => injectAdapters(model, {}, { seed: 3 }),
    learning: ['bert.encoder.layer.0.attention.output.adapter.down.weight', 'bert.encoder.layer.1.output.adapter.up.weight', 'bert.encoder.layer.0.output.LayerNorm.weight', 'classifier.weight'],
    inject: (model) => injectAdapters(model, { bottleneck_size: 8, non_linearity: 'relu' }, { seed: 2 }),
    train: (adapters, model) => {
      perturb(adapters.params.named(), () => true, 0.05, 70);
      perturb(model.params.trainable(), (n) => n.includes('LayerNorm') || n.startsWith('classifier.'), 0.3, 80);
    },
    checkDirectory: (dir) => {
      const json = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
      assert.deepEqual(json, {
        base_model_name_or_path: null, bottleneck_size: 8, inference_mode: false, init_scale: 1e-3, modules_to_save: ['classifier', 'score'],
        non_linearity: 'relu', peft_type: 'BOTTLENECK', task_type: 'SEQ_CLS', train_layer_norms: true,
      });
      const file = readSafetensors(join(dir, 'adapter_model.safetensors'));
      assert.deepEqual([...file.info('base_model.model.bert.encoder.layer.1.attention.output.adapter.down.weight').shape], [8, 64]);
      assert.ok(file.tensors.has('base_model.model.bert.encoder.layer.1.output.LayerNorm.weight'));
      assert.equal(file.names().length, 16 + 8 + 2);
      file.close();
    },
    checkLoaded: () => {},
  },
];

describe('the adapter contract, for each kind', () => {
  for (const kind of KINDS) {
    test(`${kind.name}: gradients reach only trainable parameters; an AdamW step leaves the base weights unchanged`, () => {
      const model = classifier();
      const adapter = kind.fresh(model);
      const trainable = new Map(adapter.trainableParameters());
      const byId = new Map([...trainable].map(([n, v]) => [v.name, n]));
      // Over every trainable variable that exists (no list given): frozen ones must not appear.
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => model.loss(model.forward(inputs, { training: true }).logits, labels)));
      assert.ok(Number.isFinite(value.dataSync()[0]));
      const named = Object.entries(grads).map(([id, g]) => [byId.get(id), g] as const);
      assert.ok(named.every(([n]) => n !== undefined), 'a gradient for a variable outside trainableParameters()');
      assert.deepEqual(named.map(([n]) => n).sort(), [...trainable.keys()].sort());
      const norm = (n: string) => Math.hypot(...named.find(([m]) => m === n)![1].dataSync());
      for (const n of kind.learning) assert.ok(norm(n) > 0, `${n} has no gradient`);
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());

      const frozen = model.params.named().filter(([, v]) => !v.trainable).map(([n, v]) => [n, v.dataSync().slice()] as const);
      const before = new Map([...trainable].map(([n, v]) => [n, v.dataSync().slice()]));
      const optimizer = new AdamW(adapter.trainableParameters(), { lr: 1e-2 });
      const step = valueAndGrads(() => model.loss(model.forward(inputs, { training: true }).logits, labels), adapter.trainableParameters());
      optimizer.applyGradients(step.grads);
      step.value.dispose();
      step.grads.forEach((g) => g.dispose());
      for (const [n, data] of frozen) assert.deepEqual(model.params.get(n).dataSync(), data, `${n} changed`);
      for (const n of kind.learning) assert.ok(maxAbsDiff(trainable.get(n)!.dataSync(), before.get(n)!) > 0, `${n} did not change`);
      optimizer.dispose();
      adapter.unload();
      model.dispose();
    });

    test(`${kind.name}: save -> loadAdapter into a fresh base model restores the outputs exactly`, async () => {
      const model = classifier();
      const adapter = kind.inject(model);
      kind.train(adapter, model);
      const trained = outputs(model);
      const dir = tempDir();
      await adapter.save(dir);
      adapter.unload();
      model.dispose();
      kind.checkDirectory(dir);

      const fresh = classifier();
      const loaded = loadAdapter(fresh, dir);
      assert.deepEqual(outputs(fresh).logits, trained.logits);
      assert.deepEqual(outputs(fresh).hidden, trained.hidden);
      kind.checkLoaded(loaded);
      loaded.unload();
      fresh.dispose();
    });
  }
});

describe("a base checkpoint without a pooler (a masked-LM's): the new pooler trains with the classifier", () => {
  let base: string;
  before(async () => {
    base = tempDir();
    const { model } = loadCheckpoint(CLS, 'mlm', { quiet: true });
    await saveCheckpoint(model, base);
    model.dispose();
  });
  const noPooler = (seed: number) => loadCheckpoint(base, 'classification', { quiet: true, seed }).model;
  const POOLER = ['bert.pooler.dense.weight', 'bert.pooler.dense.bias'];

  for (const kind of KINDS) {
    test(`${kind.name}: modules_to_save gains the pooler, which trains, is saved, and is restored into another fresh base`, async () => {
      const model = noPooler(1);
      const adapter = kind.inject(model);
      assert.ok(adapter.config.modules_to_save.includes('pooler'), JSON.stringify(adapter.config.modules_to_save));
      const trainable = new Map(adapter.trainableParameters());
      for (const name of POOLER) assert.ok(trainable.has(name), `${name} does not train`);
      kind.train(adapter, model);
      perturb(model.params.named(), (n) => n.startsWith('bert.pooler.'), 0.3, 90);
      const trained = outputs(model);
      const dir = tempDir();
      await adapter.save(dir);
      adapter.unload();
      model.dispose();
      const file = readSafetensors(join(dir, 'adapter_model.safetensors'));
      assert.ok(file.names().some((n) => n.includes('bert.pooler.')), file.names().join(' '));
      file.close();
      const other = noPooler(2);
      const loaded = loadAdapter(other, dir);
      assert.deepEqual(outputs(other).logits, trained.logits);
      loaded.unload();
      other.dispose();
    });
  }

  test('a pooler the checkpoint has stays frozen, and a modules_to_save given explicitly is kept as given', () => {
    const withPooler = classifier();
    const lora = injectLora(withPooler, LORA4, { seed: 1 });
    assert.ok(!lora.config.modules_to_save.includes('pooler'));
    lora.unload();
    withPooler.dispose();
    const model = noPooler(3);
    const given = injectLora(model, { ...LORA4, modules_to_save: [] }, { seed: 1 });
    assert.ok(!given.config.modules_to_save.includes('pooler'));
    assert.ok(!new Map(given.trainableParameters()).has(POOLER[0]));
    given.unload();
    model.dispose();
  });
});

describe('loading errors', () => {
  let dir: string;
  before(async () => {
    const model = classifier();
    const lora = injectLora(model, LORA4, { seed: 9 });
    dir = tempDir();
    await lora.save(dir);
    lora.unload();
    model.dispose();
  });
  const small = { vocab_size: 99, hidden_size: 32, num_attention_heads: 4, intermediate_size: 48, num_hidden_layers: 2, max_position_embeddings: 32 };

  test('into a base model with another hidden size: shape error, model left unchanged', () => {
    const model = new BertForSequenceClassification(bertConfig(small), { seed: 1 });
    assert.throws(() => loadAdapter(model, dir), /lora_A\.weight has shape \[4,64\] but this model needs \[4,32\]/);
    assert.ok(model.params.named().every(([, v]) => v.trainable), 'trainable flags restored');
    injectLora(model).unload(); // no adapter left attached
    model.dispose();
  });

  test('into a base model with another layer count: missing keys named', () => {
    const model = new BertForSequenceClassification(bertConfig({ ...small, hidden_size: 64, num_hidden_layers: 3 }), { seed: 1 });
    assert.throws(() => loadAdapter(model, dir), /missing keys 4 \(base_model\.model\.bert\.encoder\.layer\.2\.attention\.self\.query\.lora_A\.weight/);
    model.dispose();
  });

  test('missing directory, missing weights file, unknown or unsupported config', () => {
    const model = classifier();
    const config = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    const withConfig = (json: object) => {
      const d = tempDir();
      mkdirSync(d);
      writeFileSync(join(d, 'adapter_config.json'), JSON.stringify(json));
      return d;
    };
    assert.throws(() => loadAdapter(model, join(tmp, 'nowhere')), /nowhere has no adapter_config\.json/);
    assert.throws(() => loadAdapter(model, withConfig(config)), /has no adapter_model\.safetensors/);
    assert.throws(() => loadAdapter(model, withConfig({ ...config, peft_type: 'IA3' })), /peft_type "IA3"; finetune-lab loads "LORA" and "BOTTLENECK"/);
    assert.throws(() => loadAdapter(model, withConfig({ ...config, use_dora: true })), /use_dora=true/);
    assert.ok(model.params.named().every(([, v]) => v.trainable));
    model.dispose();
  });
});

after(() => {
  assert.equal(tf.memory().numTensors, 0, 'tensors leaked');
});
