/**
 * BERT against Hugging Face transformers (tests/fixtures/hf-reference/bert-parity.json, computed
 * by transformers 5.17 / torch 2.11 in fp32) on every backend: hidden states, pooler, MLM logits,
 * classification logits, loss, gradients, one AdamW step. Plus the model's own contracts: no
 * leaked tensors, dropout only in training, modules standing in for Linear modules, freezing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { assertClose, maxAbsDiff } from './helpers/close.js';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { loadCheckpoint } from '../src/bert/checkpoint.js';
import { bertConfig } from '../src/bert/config.js';
import { BertArticleClassifier, BertForSequenceClassification } from '../src/bert/heads.js';
import { WrappedLinear } from '../src/bert/modules.js';
import { toHfLayout } from '../src/bert/weights.js';
import type { ForwardContext } from '../src/ops.js';
import { AdamW, valueAndGrads } from '../src/train/optimizer.js';

const FIXTURES = 'tests/fixtures/hf-reference';
const fx = JSON.parse(readFileSync(`${FIXTURES}/bert-parity.json`, 'utf8'));
const inputs = { inputIds: fx.inputs.input_ids, attentionMask: fx.inputs.attention_mask, tokenTypeIds: fx.inputs.token_type_ids };
const quiet = { quiet: true };

/** Values of a tensor, then disposes it (asynchronously: webgpu has no synchronous reads in Node). */
async function take(t: tf.Tensor): Promise<Float32Array> {
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

function l2norm(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v * v;
  return Math.sqrt(sum);
}

function topK(row: ArrayLike<number>, k: number): number[] {
  return Array.from(row, (v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, k).map(([, i]) => i);
}

for (const backend of ['cpu', 'wasm', 'webgpu'] as BackendName[]) {
  describe(`BERT parity with transformers on ${backend}`, () => {
    before(async () => {
      await initBackend({ backend, quiet: true });
    });

    test('BertModel: last_hidden_state, pooler_output, hidden_states[0] within 1e-4', async () => {
      const { model } = loadCheckpoint(`${FIXTURES}/tiny-bert`, 'base', quiet);
      const out = model.forward(inputs, { outputHiddenStates: true });
      assert.deepEqual(out.lastHiddenState.shape, fx.last_hidden_state_shape);
      assert.equal(out.hiddenStates!.length, model.config.num_hidden_layers + 1);
      assertClose((await out.lastHiddenState.data()), fx.last_hidden_state, 1e-4, 'last_hidden_state');
      assertClose((await out.poolerOutput!.data()), fx.pooler_output, 1e-4, 'pooler_output');
      assertClose((await out.hiddenStates![0].data()), fx.hidden_states_0, 1e-4, 'hidden_states[0]');
      assert.equal(model.params.size(), fx.param_count.BertModel);
      tf.dispose(out as unknown as tf.TensorContainer);
      model.dispose();
    });

    test('BertForMaskedLM: top-10 ids identical, logits within 1e-4', async () => {
      const { model } = loadCheckpoint(`${FIXTURES}/tiny-bert`, 'mlm', quiet);
      const out = model.forward(inputs);
      const vocab = model.config.vocab_size;
      for (const ref of fx.mlm) {
        const row = await take(out.logits.slice([ref.batch, ref.pos, 0], [1, 1, vocab]));
        assert.deepEqual(topK(row, ref.top10_ids.length), ref.top10_ids, `top-10 at (${ref.batch}, ${ref.pos})`);
        assertClose(ref.top10_ids.map((i: number) => row[i]), ref.top10_logits, 1e-4, 'top-10 logits');
        assertClose(row.slice(0, ref.logits_first_64.length), ref.logits_first_64, 1e-4, 'first 64 logits');
        // A sum of 30522 float32 values: each within 1e-4, their rounding adds up to well under 1e-3.
        const sum = row.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - ref.logits_sum) < 1e-3, `sum of logits ${sum} vs ${ref.logits_sum}`);
      }
      tf.dispose(out as unknown as tf.TensorContainer);
      model.dispose();
    });

    describe('BertForSequenceClassification', () => {
      const cls = fx.classification;
      let model: BertForSequenceClassification;
      before(() => {
        model = loadCheckpoint(`${FIXTURES}/tiny-bert-cls`, 'classification', quiet).model;
      });
      after(() => model.dispose());

      test('logits within 1e-4, loss within 1e-5, parameter count', async () => {
        const out = model.forward(inputs);
        assertClose((await out.logits.data()), cls.logits, 1e-4, 'logits');
        const loss = (await take(model.loss(out.logits, cls.labels)))[0];
        assert.ok(Math.abs(loss - cls.loss) < 1e-5, `loss ${loss} vs ${cls.loss}`);
        assert.equal(model.params.size(), fx.param_count.BertForSequenceClassification);
        tf.dispose(out as unknown as tf.TensorContainer);
      });

      test('gradients within 1e-4 of their norm; one AdamW step matches torch.optim.AdamW', async () => {
        const params = model.params.named();
        const lossFn = () => model.loss(model.forward(inputs).logits, cls.labels);
        const { value, grads } = valueAndGrads(lossFn, params);
        assert.ok(Math.abs((await take(value))[0] - cls.loss) < 1e-5);
        for (const [name, ref] of Object.entries<Record<string, number[] | number>>(cls.grads)) {
          const norm = ref.norm as number;
          const g = await take(toHfLayout(model.params.parameter(name), grads.get(name)!));
          const ourNorm = l2norm(g);
          assert.ok(Math.abs(ourNorm - norm) <= 1e-4 * norm, `${name}: gradient norm ${ourNorm} vs ${norm}`);
          for (const [key, expected] of Object.entries(ref)) {
            if (key === 'norm') continue;
            // "first_32", or "row_R_first_N" for a row of an embedding matrix.
            const row = /^row_(\d+)_first_\d+$/.exec(key);
            const offset = row ? Number(row[1]) * model.params.get(name).shape[1]! : 0;
            const d = maxAbsDiff(g.slice(offset, offset + (expected as number[]).length), expected as number[]);
            assert.ok(d <= 1e-4 * norm, `${name} ${key}: max difference ${d} > 1e-4 * norm ${norm}`);
          }
        }
        // torch.optim.AdamW decays every parameter (no groups); the fixture's step did so too.
        const { lr, betas, eps, weight_decay: weightDecay } = cls.adamw;
        const optimizer = new AdamW(params, { lr, betas, eps, weightDecay });
        optimizer.applyGradients(grads);
        tf.dispose([...grads.values()]);
        for (const [name, expected] of Object.entries<number[]>(cls.params_after_one_step_first_32)) {
          assertClose((await take(toHfLayout(model.params.parameter(name), model.params.get(name)))).slice(0, expected.length), expected, 1e-6, `${name} after one AdamW step`);
        }
        const lossAfter = (await take(tf.tidy(lossFn)))[0];
        assert.ok(Math.abs(lossAfter - cls.loss_after_one_step) < 1e-5, `loss after step ${lossAfter} vs ${cls.loss_after_one_step}`);
        optimizer.dispose();
      });
    });
  });
}

describe('BERT model contracts (cpu)', () => {
  before(async () => {
    await initBackend({ backend: 'cpu', quiet: true });
  });
  const config = bertConfig({ vocab_size: 50, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 24, max_position_embeddings: 12 });
  const batch = { inputIds: [[2, 5, 7, 9, 0], [3, 4, 0, 0, 0]], attentionMask: [[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]] };

  test('forward and a training step leave no tensors behind', async () => {
    const model = new BertForSequenceClassification(config, { seed: 1 });
    const optimizer = new AdamW(model.params.named(), { lr: 1e-3 });
    const step = () => {
      const { value, grads } = valueAndGrads(() => model.loss(model.forward(batch, { training: true }).logits, [0, 1]), model.params.named());
      optimizer.applyGradients(grads);
      tf.dispose([value, ...grads.values()]);
    };
    step(); // creates the optimizer's moments
    const before = tf.memory().numTensors;
    const out = model.forward(batch, { outputHiddenStates: true, outputAttentions: true });
    tf.dispose(out as unknown as tf.TensorContainer);
    step();
    assert.equal(tf.memory().numTensors, before);
    optimizer.dispose();
    model.dispose();
  });

  test('attention maps: one per layer, rows sum to 1, no weight on padding', async () => {
    const model = new BertForSequenceClassification(config, { seed: 1 });
    const out = model.forward(batch, { outputAttentions: true });
    assert.equal(out.attentions!.length, config.num_hidden_layers);
    const probs = await out.attentions![0].array();
    assert.deepEqual(out.attentions![0].shape, [2, config.num_attention_heads, 5, 5]);
    for (const row of probs[1][0]) {
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-6);
      assert.deepEqual(row.slice(2), [0, 0, 0]);
    }
    tf.dispose(out as unknown as tf.TensorContainer);
    model.dispose();
  });

  test('inputs as int32 tensors give the same outputs as nested arrays', async () => {
    const model = new BertForSequenceClassification(config, { seed: 1 });
    const tensors = { inputIds: tf.tensor2d(batch.inputIds, undefined, 'int32'), attentionMask: tf.tensor2d(batch.attentionMask, undefined, 'int32') };
    assert.deepEqual(await take(model.forward(tensors).logits), await take(model.forward(batch).logits));
    tf.dispose(Object.values(tensors));
    model.dispose();
  });

  test('dropout only in training mode', async () => {
    const model = new BertForSequenceClassification(config, { seed: 1 });
    const logits = (training: boolean) => take(model.forward(batch, { training }).logits);
    assert.deepEqual(await logits(false), await logits(false));
    assert.notDeepEqual(await logits(true), await logits(false));
    model.dispose();
  });

  test('a module standing in for a Linear module changes that module only; freezing removes gradients', async () => {
    const model = new BertForSequenceClassification(config, { seed: 1 });
    const name = 'bert.encoder.layer.0.attention.self.query';
    assert.ok(model.bert.linearNames().includes(name));
    const base = await take(model.forward(batch).logits);
    class Doubled extends WrappedLinear {
      forward(x: tf.Tensor, context: ForwardContext): tf.Tensor {
        return tf.mul(this.base.forward(x, context), 2);
      }
    }
    const doubled = model.replaceLinear(name, (query) => new Doubled(query));
    assert.notDeepEqual(await take(model.forward(batch).logits), base);
    model.replaceLinear(name, () => doubled.base);
    assert.deepEqual(await take(model.forward(batch).logits), base);
    assert.throws(() => model.replaceLinear('bert.encoder.layer.0.nope', (m) => m), /no Linear module/);

    const frozen = model.params.setTrainable((n) => n.startsWith('bert.'), false);
    assert.equal(frozen, model.params.names().length - 2);
    const { value, grads } = valueAndGrads(() => model.loss(model.forward(batch).logits, [0, 1]), model.params.named());
    assert.deepEqual([...grads.keys()], ['classifier.weight', 'classifier.bias']);
    tf.dispose([value, ...grads.values()]);
    model.dispose();
  });

  test("the article's classifier: fc1 -> ReLU -> dropout -> fc2 -> log-softmax, NLL loss", async () => {
    const model = new BertArticleClassifier(config, { seed: 1 });
    assert.deepEqual(model.params.names().slice(-4), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    assert.deepEqual(model.params.get('fc1.weight').shape, [config.hidden_size, BertArticleClassifier.HIDDEN]);
    const out = model.forward(batch);
    const logProbs = await out.logProbs.array();
    for (const row of logProbs) assert.ok(Math.abs(Math.exp(row[0]) + Math.exp(row[1]) - 1) < 1e-6);
    const loss = (await take(model.loss(out.logProbs, [1, 0])))[0];
    assert.ok(Math.abs(loss - -(logProbs[0][1] + logProbs[1][0]) / 2) < 1e-6);
    tf.dispose(out as unknown as tf.TensorContainer);
    model.dispose();
  });
});

test('finetune-lab forward on tiny-bert-cls writes the outputs transformers computes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'finetune-lab-forward-'));
  try {
    const input = join(dir, 'input.json');
    const output = join(dir, 'output.json');
    writeFileSync(input, JSON.stringify(fx.inputs));
    execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'forward', '--model', `${FIXTURES}/tiny-bert-cls`, '--input', input, '--output', output, '--backend', 'wasm'], { stdio: 'pipe' });
    const out = JSON.parse(readFileSync(output, 'utf8'));
    assert.deepEqual(Object.keys(out).sort(), ['last_hidden_state', 'logits', 'pooler_output']);
    assert.deepEqual(out.last_hidden_state.shape, fx.last_hidden_state_shape);
    assertClose(out.last_hidden_state.data, fx.last_hidden_state, 1e-4, 'last_hidden_state');
    assertClose(out.pooler_output.data, fx.pooler_output, 1e-4, 'pooler_output');
    assert.deepEqual(out.logits.shape, [fx.inputs.input_ids.length, fx.classification.logits.length / fx.inputs.input_ids.length]);
    assertClose(out.logits.data, fx.classification.logits, 1e-4, 'logits');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
