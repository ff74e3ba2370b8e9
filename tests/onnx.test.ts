/**
 * ONNX export, judged by tools nobody here wrote: ONNX Runtime (onnxruntime-node) runs every
 * exported file and must give our TensorFlow.js forward pass's outputs within 1e-4 (on the cpu and
 * wasm backends, at several batch sizes and lengths, with padding), and Debian's ONNX checker
 * (python3-onnx, `full_check`) must accept every file. The models: the tiny-bert-cls fixture
 * (transformers' head), the article's head, LoRA (folded in at export, and merged beforehand),
 * bottleneck adapters (GELU and ReLU), the encoder alone and the masked-language model; each also
 * as the int8 variant, checked against the float file. Then the
 * layout transformers.js loads, the fusions ORT applies, the errors, and `finetune-lab export`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PYTHON, requireSystem } from '../kernel-setup/system.mjs';
import { cli } from './helpers/cli.js';
import { maxAbsDiff } from './helpers/close.js';
import { injectAdapters, injectLora } from '../src/adapters/index.js';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { loadCheckpoint } from '../src/bert/checkpoint.js';
import { loadConfig } from '../src/bert/config.js';
import { setClassifierPooling } from '../src/bert/pooling.js';
import type { BertTaskModel } from '../src/bert/heads.js';
import type { BertInputs } from '../src/bert/model.js';
import { createSession, decodeModel, exportOnnx, runBert, type OnnxBatch } from '../src/onnx/index.js';
import { BertTokenizer } from '../src/tokenizer/index.js';

const FIXTURES = 'tests/fixtures/hf-reference';
const CLS = `${FIXTURES}/tiny-bert-cls`;
const TINY = `${FIXTURES}/tiny-bert`;
const fx = JSON.parse(readFileSync(`${FIXTURES}/bert-parity.json`, 'utf8'));
const TMP = mkdtempSync(join(tmpdir(), 'onnx-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => join(TMP, `export-${dirs++}`);
const quiet = { quiet: true };
let tokenizer: BertTokenizer;

/** Rows `rows` of the fixture's batch (4 x 20, padded), cut to `length` tokens. */
function cut(rows: number[], length: number): OnnxBatch {
  const pick = (m: number[][]) => rows.map((r) => m[r].slice(0, length));
  return { input_ids: pick(fx.inputs.input_ids), attention_mask: pick(fx.inputs.attention_mask), token_type_ids: pick(fx.inputs.token_type_ids) };
}

/** Batch sizes 4, 3, 1 and 2 at lengths 20, 12, 7 and 1; all but the last two have padded rows (mask zeros). */
const BATCHES: OnnxBatch[] = [cut([0, 1, 2, 3], 20), cut([1, 2, 3], 12), cut([0], 7), cut([2, 3], 1)];

const asInputs = (b: OnnxBatch): BertInputs => ({ inputIds: b.input_ids, attentionMask: b.attention_mask, tokenTypeIds: b.token_type_ids });

/** Perturbs the chosen parameters with seeded noise, as training would, so that an adapter really changes the outputs. */
function perturb(params: [string, tf.Variable][], select: (name: string) => boolean, seed: number, std = 0.05): void {
  params.filter(([n]) => select(n)).forEach(([, v], i) => tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, std, 'float32', seed + i))));
}

interface Case {
  name: string;
  build(): BertTaskModel;
  /** Our forward pass's outputs, by the exported graph's output names. */
  reference(model: BertTaskModel, batch: OnnxBatch): Record<string, tf.Tensor>;
}

const classifierLogits = (model: BertTaskModel, b: OnnxBatch) => {
  const out = (model as unknown as { forward(i: BertInputs): { logits?: tf.Tensor; logProbs?: tf.Tensor } }).forward(asInputs(b));
  return { logits: (out.logits ?? out.logProbs)! };
};
const classifier = () => loadCheckpoint(CLS, 'classification', quiet).model;

const CASES: Case[] = [
  { name: 'tiny-bert-cls (BertForSequenceClassification)', build: classifier, reference: classifierLogits },
  {
    name: "the article's head (fc1 ReLU fc2 log-softmax)",
    build: () => {
      const { model } = loadCheckpoint(CLS, 'article', quiet);
      // Trained-sized weights: a fresh head's log-probabilities all round to log(1/2).
      perturb(model.params.named(), (n) => n.startsWith('fc'), 80, 0.5);
      return model;
    },
    reference: classifierLogits,
  },
  {
    name: "the article's head on the mean of the tokens (classifier_pooling mean)",
    build: () => {
      const config = loadConfig(CLS);
      setClassifierPooling(config, 'mean');
      const { model } = loadCheckpoint(CLS, 'article', { ...quiet, config });
      // The mean vectors spread far wider than the tanh-squashed [CLS] ones: std 0.1 gives log-probabilities of the [CLS] case's size.
      perturb(model.params.named(), (n) => n.startsWith('fc'), 81, 0.1);
      return model;
    },
    reference: classifierLogits,
  },
  {
    name: 'LoRA on query, value and the feed-forward output, folded in at export',
    build: () => {
      const model = classifier();
      const lora = injectLora(model, { r: 4, lora_alpha: 8, target_modules: ['query', 'value', 'output.dense'] }, { seed: 1 });
      perturb(lora.params.named(), (n) => n.endsWith('lora_B.weight'), 10);
      return model;
    },
    reference: classifierLogits,
  },
  {
    name: 'LoRA merged before export',
    build: () => {
      const model = classifier();
      const lora = injectLora(model, { r: 2, lora_alpha: 16 }, { seed: 2 });
      perturb(lora.params.named(), (n) => n.endsWith('lora_B.weight'), 20);
      lora.merge();
      return model;
    },
    reference: classifierLogits,
  },
  {
    name: 'bottleneck adapters (GELU)',
    build: () => {
      const model = classifier();
      perturb(injectAdapters(model, { bottleneck_size: 8 }, { seed: 3 }).params.named(), () => true, 30);
      return model;
    },
    reference: classifierLogits,
  },
  {
    name: 'bottleneck adapters (ReLU)',
    build: () => {
      const model = classifier();
      perturb(injectAdapters(model, { bottleneck_size: 4, non_linearity: 'relu' }, { seed: 4 }).params.named(), () => true, 40);
      return model;
    },
    reference: classifierLogits,
  },
  {
    name: 'the encoder alone (feature-extraction)',
    build: () => loadCheckpoint(TINY, 'base', quiet).model,
    reference: (model, b) => {
      const out = (model as unknown as { forward(i: BertInputs): { lastHiddenState: tf.Tensor; poolerOutput?: tf.Tensor } }).forward(asInputs(b));
      return { last_hidden_state: out.lastHiddenState, pooler_output: out.poolerOutput! };
    },
  },
  {
    name: 'the masked-language model (fill-mask)',
    build: () => loadCheckpoint(TINY, 'mlm', quiet).model,
    reference: (model, b) => ({ logits: (model as unknown as { forward(i: BertInputs): { logits: tf.Tensor } }).forward(asInputs(b)).logits }),
  },
];

/** Debian's ONNX checker (python3-onnx) with full_check on each file; a missing checker fails with its install command. */
function checkOnnx(files: string[]): void {
  requireSystem('onnx-checker');
  const script = 'import onnx, sys\nfor f in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(f), full_check=True)\nprint(len(sys.argv) - 1)';
  assert.equal(execFileSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8' }).trim(), String(files.length));
}

/** Exports `model`, runs the file in ONNX Runtime on every batch, and returns the worst difference per output. */
async function exportAndCompare(model: BertTaskModel, c: Case, dir: string): Promise<{ file: string; worst: Record<string, number> }> {
  const result = await exportOnnx(model, dir, { tokenizer });
  const session = await createSession(result.model, { threads: 1 });
  const worst: Record<string, number> = {};
  for (const batch of BATCHES) {
    const onnx = await runBert(session, batch);
    const reference = c.reference(model, batch);
    assert.deepEqual(Object.keys(onnx).sort(), Object.keys(reference).sort(), 'output names');
    for (const [name, tensor] of Object.entries(reference)) {
      assert.deepEqual(onnx[name].dims, tensor.shape, `${name}'s shape`);
      worst[name] = Math.max(worst[name] ?? 0, maxAbsDiff(onnx[name].data, (await tensor.data()) as Float32Array));
    }
    tf.dispose(Object.values(reference));
  }
  await session.release();
  return { file: result.model, worst };
}

before(async () => {
  tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
});

for (const backend of ['cpu', 'wasm'] as BackendName[]) {
  describe(`ONNX Runtime agrees with the ${backend} backend within 1e-4`, () => {
    const files: string[] = [];
    before(async () => {
      await initBackend({ backend, quiet: true });
    });

    for (const c of CASES) {
      test(c.name, async (t) => {
        const model = c.build();
        try {
          const { file, worst } = await exportAndCompare(model, c, newDir());
          files.push(file);
          t.diagnostic(`max |diff| ${JSON.stringify(worst)}`);
          for (const [name, d] of Object.entries(worst)) assert.ok(d <= 1e-4, `${name}: max |ONNX Runtime - tfjs| ${d} exceeds 1e-4`);
        } finally {
          model.dispose();
        }
      });
    }

    test("Debian's ONNX checker (full_check) accepts every exported file", () => {
      assert.equal(files.length, CASES.length, 'a case above failed before writing its file');
      checkOnnx(files);
    });
  });
}

/** The smallest cosine similarity between matching rows (vectors along the last axis) of two outputs. */
function minRowCosine(a: Float32Array, b: Float32Array, width: number): number {
  let worst = 1;
  for (let start = 0; start < a.length; start += width) {
    let [ab, aa, bb] = [0, 0, 0];
    for (let i = start; i < start + width; i++) [ab, aa, bb] = [ab + a[i] * b[i], aa + a[i] * a[i], bb + b[i] * b[i]];
    worst = Math.min(worst, ab / Math.sqrt(aa * bb));
  }
  return worst;
}

// 8-bit weights round each to 1/254 of its row's or column's range: the outputs differ from the
// float model's in the third decimal, so the measure is direction (cosine), not a small difference.
describe('the int8 variant (onnx/model_quantized.onnx)', () => {
  const files: string[] = [];
  before(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
  });

  for (const c of CASES) {
    test(`${c.name}: every weight table int8, outputs within cosine 0.999 of the float model's`, async (t) => {
      const model = c.build();
      try {
        const result = await exportOnnx(model, newDir(), { tokenizer, quantize: true });
        const quantized = result.quantized!;
        files.push(quantized.model);
        assert.ok(quantized.bytes < 0.3 * result.bytes, `${quantized.bytes} bytes against ${result.bytes}`);
        const graph = (decodeModel(readFileSync(quantized.model)) as any).graph;
        const floatTables = graph.initializer.filter((w: any) => w.dims?.length === 2 && w.dataType !== 2).map((w: any) => w.name);
        assert.deepEqual(floatTables, [], '2-D weights not stored as uint8');
        const [float, int8] = [await createSession(result.model, { threads: 1 }), await createSession(quantized.model, { threads: 1 })];
        let worst = 1;
        for (const batch of BATCHES.slice(0, 2)) {
          const [f, q] = [await runBert(float, batch), await runBert(int8, batch)];
          for (const name of Object.keys(f)) worst = Math.min(worst, minRowCosine(f[name].data, q[name].data, f[name].dims.at(-1)!));
        }
        await Promise.all([float.release(), int8.release()]);
        t.diagnostic(`${quantized.bytes} bytes (float ${result.bytes}), min cosine ${worst}`);
        assert.ok(worst >= 0.999, `cosine ${worst}`);
      } finally {
        model.dispose();
      }
    });
  }

  test("Debian's ONNX checker (full_check) accepts every int8 file", () => {
    assert.equal(files.length, CASES.length, 'a case above failed before writing its file');
    checkOnnx(files);
  });
});

describe('the export directory, the graph and the errors', () => {
  before(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
  });

  test("transformers.js' layout: onnx/model.onnx, config.json with labels, the tokenizer files", async () => {
    const { model } = loadCheckpoint(CLS, 'classification', { ...quiet, config: { ...loadConfig(CLS), id2label: { 0: 'negative', 1: 'positive' } } });
    const dir = newDir();
    const result = await exportOnnx(model, dir, { tokenizer });
    assert.deepEqual(result.outputs, ['logits']);
    for (const file of ['onnx/model.onnx', 'config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) assert.ok(existsSync(join(dir, file)), `${file} is missing`);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(config.model_type, 'bert');
    assert.deepEqual(config.architectures, ['BertForSequenceClassification']);
    assert.deepEqual(config.id2label, { 0: 'negative', 1: 'positive' });
    assert.deepEqual(config.label2id, { negative: 0, positive: 1 });
    assert.equal(config.hidden_size, 64);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')).model.vocab['[CLS]'], 101);

    const onnx = decodeModel(readFileSync(result.model)) as any;
    assert.equal(onnx.irVersion, 8);
    assert.deepEqual(onnx.opsetImport, [{ domain: '', version: 17 }]);
    const dims = (v: any) => v.type.tensorType.shape.dim.map((d: any) => d.dimParam ?? d.dimValue);
    assert.deepEqual(onnx.graph.input.map((v: any) => [v.name, v.type.tensorType.elemType, dims(v)]),
      ['input_ids', 'attention_mask', 'token_type_ids'].map((n) => [n, 7, ['batch_size', 'sequence_length']]));
    assert.deepEqual(onnx.graph.output.map((v: any) => [v.name, dims(v)]), [['logits', ['batch_size', 2]]]);
    // Every parameter once, as float32 raw_data: the tied MLM decoder aside, exactly the model's parameters.
    const floats = onnx.graph.initializer.filter((t: any) => t.dataType === 1 && t.dims?.length);
    assert.equal(floats.reduce((n: number, t: any) => n + t.rawData.length / 4, 0), fx.param_count.BertForSequenceClassification);
    model.dispose();
  });

  test('the tied MLM decoder is stored once; fill-mask outputs vocabulary logits', async () => {
    const { model } = loadCheckpoint(TINY, 'mlm', quiet);
    const result = await exportOnnx(model, newDir(), { tokenizer });
    const onnx = decodeModel(readFileSync(result.model)) as any;
    const names = onnx.graph.initializer.map((t: any) => t.name);
    assert.ok(names.includes('bert.embeddings.word_embeddings.weight'));
    assert.ok(!names.some((n: string) => n.includes('decoder')), 'the decoder weight is the word embeddings');
    const vocab = onnx.graph.output[0].type.tensorType.shape.dim.map((d: any) => d.dimParam ?? d.dimValue);
    assert.deepEqual(vocab, ['batch_size', 'sequence_length', 30522]);
    model.dispose();
  });

  test("ONNX Runtime's optimizer recognises the graph's GELU (BiasGelu) and scaled attention scores (FusedMatMul)", async () => {
    const model = classifier();
    const result = await exportOnnx(model, newDir(), { tokenizer });
    model.dispose();
    const optimized = join(TMP, 'optimized.onnx');
    const session = await createSession(result.model, { threads: 1, graphOptimizationLevel: 'extended', optimizedModelPath: optimized });
    await session.release();
    const ops = (decodeModel(readFileSync(optimized)) as any).graph.node.map((n: any) => `${n.domain ?? ''}:${n.opType}`);
    const count = (op: string) => ops.filter((o: string) => o === op).length;
    assert.equal(count('com.microsoft:BiasGelu'), 2, 'one fused GELU per layer');
    assert.equal(count(':Erf'), 0);
    assert.equal(count('com.microsoft:FusedMatMul'), 2, 'q k^T / sqrt(d) fused per layer');
  });

  test('exporting leaves the model as it was: LoRA unmerged, its base weights untouched', async () => {
    const model = classifier();
    const lora = injectLora(model, { r: 4 }, { seed: 5 });
    perturb(lora.params.named(), (n) => n.endsWith('lora_B.weight'), 50);
    const weight = model.params.get('bert.encoder.layer.0.attention.self.query.weight');
    const before = weight.dataSync().slice();
    const tensors = tf.memory().numTensors;
    await exportOnnx(model, newDir(), { tokenizer });
    assert.equal(lora.isMerged, false);
    assert.deepEqual(weight.dataSync(), before);
    assert.equal(tf.memory().numTensors, tensors, 'the merged weights computed for the file are freed');
    model.dispose();
  });

  test('errors name the problem and the fix', async () => {
    const cls = classifier();
    const base = loadCheckpoint(TINY, 'base', quiet).model;
    await assert.rejects(exportOnnx(cls, newDir(), { tokenizer, task: 'fill-mask' }), /BertForSequenceClassification has no masked-language-model head.*load the checkpoint as task 'mlm', or export task 'feature-extraction'/);
    await assert.rejects(exportOnnx(base, newDir(), { tokenizer, task: 'sequence-classification' }), /BertModel is not a classifier.*choose task 'feature-extraction'/);
    const full = newDir();
    mkdirSync(full);
    writeFileSync(join(full, 'notes.txt'), 'mine');
    await assert.rejects(exportOnnx(cls, full, { tokenizer }), /exists and is not empty; choose a new output directory, empty this one, or pass overwrite/);
    assert.equal(readFileSync(join(full, 'notes.txt'), 'utf8'), 'mine');
    await exportOnnx(cls, full, { tokenizer, overwrite: true });
    assert.ok(existsSync(join(full, 'onnx', 'model.onnx')) && !existsSync(join(full, 'notes.txt')));
    cls.dispose();
    base.dispose();
  });
});

describe('finetune-lab export', () => {
  test('a LoRA run (base model + adapter directory) exports what the model with its adapter computes', async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    const model = classifier();
    const lora = injectLora(model, { r: 4 }, { seed: 6 });
    perturb(lora.params.named(), (n) => n.endsWith('lora_B.weight'), 60);
    perturb(model.params.named(), (n) => n.startsWith('classifier.'), 70);
    const adapterDir = newDir();
    await lora.save(adapterDir);
    const out = newDir();
    const r = await cli(['export', '--model', CLS, '--adapter', adapterDir, '--labels', 'neg,pos', '--quantize', '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(summary.task, 'sequence-classification');
    assert.equal(summary.quantized.model, join(out, 'onnx', 'model_quantized.onnx'));
    assert.ok(existsSync(summary.quantized.model));
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).id2label, { 0: 'neg', 1: 'pos' });
    const session = await createSession(summary.model, { threads: 1 });
    const onnx = await runBert(session, BATCHES[0]);
    const ours = classifierLogits(model, BATCHES[0]).logits;
    assert.ok(maxAbsDiff(onnx.logits.data, ours.dataSync()) <= 1e-4);
    assert.ok(maxAbsDiff(onnx.logits.data, classifierLogits(classifier(), BATCHES[0]).logits.dataSync()) > 1e-3, 'the adapter changed nothing');
    await session.release();
    model.dispose();
  });

  test('bad input: an adapter directory as --model (exit 2), a checkpoint that is no classifier (exit 1)', async () => {
    const adapterDir = newDir();
    const model = classifier();
    await injectLora(model, { r: 2 }).save(adapterDir);
    model.dispose();
    const swapped = await cli(['export', '--model', adapterDir, '--output', newDir()]);
    assert.equal(swapped.code, 2);
    assert.match(swapped.stderr, /is an adapter directory \(adapter_config\.json\); pass it as --adapter/);
    const mlm = await cli(['export', '--model', TINY, '--task', 'sequence-classification', '--output', newDir()]);
    assert.equal(mlm.code, 1);
    assert.match(mlm.stderr, /is a BertForPreTraining checkpoint, not a classifier.*fine-tune it first \(finetune-lab train\)/);
  });
});
