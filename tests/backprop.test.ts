/**
 * The memory-freeing backward pass (src/train/backprop.ts) against tfjs' own tf.variableGrads on
 * every backend: the same values and gradients for a small BERT with dropout and for graphs with
 * the awkward cases (a tensor used twice, gradients that hand back their input (Identity, Add), multi-output ops
 * with unused outputs, custom gradients, frozen and unused variables), no leaked tensors, and a
 * lower peak than tfjs' pass on a deep chain.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { engine } from '../src/backend/tfjs-internals/index.js';
import { bertConfig } from '../src/bert/config.js';
import { BertForSequenceClassification } from '../src/bert/heads.js';
import { mulberry32 } from '../src/data/random.js';
import { dropout, gelu, trainingContext } from '../src/ops.js';
import { gradientsOf } from '../src/train/backprop.js';
import { valueAndGrads } from '../src/train/optimizer.js';

const random = mulberry32(11);
const values = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);

/** Both passes on the same loss; asserts equal values and gradients, and that each variable has a gradient in both or neither. */
async function compare(loss: () => tf.Scalar, variables: tf.Variable[], tol: number, beforeEach = () => {}): Promise<number> {
  beforeEach();
  const ours = gradientsOf(loss, variables);
  beforeEach();
  const theirs = tf.variableGrads(loss, variables.filter((v) => v.trainable));
  assert.ok(Math.abs((await ours.value.data())[0] - (await theirs.value.data())[0]) <= tol, 'loss');
  let compared = 0;
  for (const v of variables) {
    const [a, b] = [ours.grads.get(v), theirs.grads[v.name]];
    assert.equal(!!a, !!b, `${v.name}: a gradient in one pass only`);
    if (!a || !b) continue;
    const [x, y] = [await a.data(), await b.data()];
    let d = 0;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
    assert.ok(d <= tol, `${v.name}: max difference ${d} > ${tol}`);
    compared++;
  }
  tf.dispose([ours.value, theirs.value, ...ours.grads.values(), ...Object.values(theirs.grads)]);
  return compared;
}

/** The most data buffers alive at once while `run` runs (the tfjs engine's own count, after each kernel). */
function peakBuffers(run: () => void): number {
  const e = engine();
  const runKernelFunc = e.runKernelFunc;
  let peak = e.state.numDataBuffers;
  e.runKernelFunc = function (this: unknown, ...args: Parameters<typeof runKernelFunc>) {
    const result = runKernelFunc.apply(this, args);
    peak = Math.max(peak, e.state.numDataBuffers);
    return result;
  };
  try {
    run();
  } finally {
    e.runKernelFunc = runKernelFunc;
  }
  return peak;
}

for (const backend of ['cpu', 'wasm', 'webgpu'] as BackendName[]) {
  describe(`gradientsOf on ${backend}`, () => {
    test("dropout's masks: exactly tf.dropout's for the same seed (its uniform draws, floor(u + keep) / keep in float32)", async () => {
      await initBackend({ backend, quiet: true });
      for (const [rate, shape] of [[0.1, [3, 50, 7]], [0.5, [1001]], [0.37, [16, 64]]] as [number, number[]][]) {
        const x = tf.fill(shape, 2);
        const ours = dropout(x, rate, trainingContext(5, 2));
        const seed = Math.floor(trainingContext(5, 2).dropoutSeeds!() * 2 ** 31);
        const theirs = tf.tidy(() => tf.mul(x, tf.div(tf.floor(tf.add(tf.randomUniform(shape, 0, 1, 'float32', seed), 1 - rate)), 1 - rate)));
        const [a, b] = [await ours.data(), await theirs.data()];
        assert.deepEqual(a, b, `rate ${rate}, shape [${shape}]`);
        const dropped = a.filter((v) => v === 0).length / a.length;
        assert.ok(Math.abs(dropped - rate) < 0.06, `rate ${rate}: dropped ${dropped}`);
        tf.dispose([x, ours, theirs]);
      }
    });

    test('a small BERT with dropout and a frozen embedding: the same loss and gradients as tf.variableGrads, nothing leaked', async () => {
      await initBackend({ backend, quiet: true });
      const config = bertConfig({ vocab_size: 50, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16 });
      const model = new BertForSequenceClassification(config, { seed: 3 });
      const named = model.params.named();
      for (const [name, v] of named) if (name.includes('word_embeddings')) v.trainable = false;
      const inputIds = tf.tensor2d([[2, 7, 9, 4, 3, 0], [2, 11, 5, 3, 0, 0]], [2, 6], 'int32');
      const attentionMask = tf.tensor2d([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 0]], [2, 6], 'int32');
      const labels = tf.tensor1d([1, 0], 'int32');
      let context = trainingContext(5, 0);
      const loss = () => model.loss(model.forward({ inputIds, attentionMask }, context).logits, labels);
      const before = tf.memory().numTensors;
      const compared = await compare(loss, named.map(([, v]) => v), 1e-5, () => { context = trainingContext(5, 0); });
      assert.equal(compared, named.length - 1, 'every trainable parameter compared');
      assert.equal(tf.memory().numTensors, before, 'no tensor outlives the passes');
      model.dispose();
      tf.dispose([inputIds, attentionMask, labels]);
    });

    test('awkward graphs: a tensor used twice, identity gradients, unused outputs of split, a custom gradient, an unused variable', async () => {
      await initBackend({ backend, quiet: true });
      const w = tf.variable(tf.tensor2d(values(12), [3, 4]));
      const b = tf.variable(tf.tensor1d(values(4)));
      const unused = tf.variable(tf.tensor1d(values(3)));
      const x = tf.tensor2d(values(6), [2, 3]);
      const loss = () => {
        const h = tf.add(tf.matMul(x, w), b);
        const twice = tf.add(h, h); // Add's gradient hands back dy for both inputs
        const [left] = tf.split(gelu(twice), 2, 1); // the right half is unused
        return tf.sum(tf.mul(tf.reshape(left, [-1]), tf.reshape(tf.clone(left), [-1])));
      };
      const before = tf.memory().numTensors;
      assert.equal(await compare(loss, [w, b, unused], 1e-5), 2);
      assert.equal(tf.memory().numTensors, before, 'no tensor outlives the passes');
      tf.dispose([w, b, unused, x]);
    });
  });
}

describe('gradientsOf frees as it goes', () => {
  test('a deep chain holds far fewer buffers at its peak than tf.variableGrads, which keeps every intermediate gradient to the end', async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    // Square matrices throughout, so that counting buffers counts bytes.
    const weights = Array.from({ length: 24 }, () => tf.variable(tf.tensor2d(values(64 * 64), [64, 64])));
    const x = tf.tensor2d(values(64 * 64), [64, 64]);
    // A scope per layer, as the encoder has: the forward pass keeps only what backpropagation saves.
    const loss = () => tf.sum(weights.reduce((h: tf.Tensor, w) => tf.tidy(() => tf.tanh(tf.mul(tf.matMul(h, w), 0.1))), x)) as tf.Scalar;
    const ours = peakBuffers(() => {
      const r = gradientsOf(loss, weights);
      tf.dispose([r.value, ...r.grads.values()]);
    });
    const theirs = peakBuffers(() => {
      const r = tf.variableGrads(loss, weights);
      tf.dispose([r.value, ...Object.values(r.grads)]);
    });
    assert.ok(ours < 0.7 * theirs, `${ours} buffers at the peak against tf.variableGrads' ${theirs}`);
    tf.dispose([...weights, x]);
  });

  test('a loss that is not a scalar, or nothing trainable, is an error that says so', async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    const w = tf.variable(tf.ones([2]));
    const before = tf.memory().numTensors;
    assert.throws(() => gradientsOf(() => tf.mul(w, 2) as unknown as tf.Scalar, [w]), /the loss must be a scalar, but it has shape \[2\]/);
    assert.equal(tf.memory().numTensors, before, 'nothing leaked by the failed pass');
    w.trainable = false;
    assert.throws(() => gradientsOf(() => tf.sum(w), [w]), /none of the 1 variables is trainable/);
    w.dispose();
  });

  test('a wasm abort in a training step (its memory ran out) becomes an error that names the fix; other errors pass unchanged', async () => {
    const w = tf.variable(tf.ones([2]));
    const abort = () => {
      throw new WebAssembly.RuntimeError('Aborted()');
    };
    await initBackend({ backend: 'wasm', quiet: true });
    assert.throws(() => valueAndGrads(abort, [['w', w]]), (err: Error) => /wasm backend aborted during a training step \(Aborted\(\)\), most likely out of memory/.test(err.message) && /--micro-batch N/.test(err.message) && err.cause instanceof WebAssembly.RuntimeError);
    assert.throws(() => valueAndGrads(() => { throw new Error('something else'); }, [['w', w]]), /^Error: something else$/);
    w.dispose();
  });
});
