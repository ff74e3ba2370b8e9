/**
 * The project's own kernels and gradients (src/backend/kernels) against reference results:
 * products and their gradients computed with plain loops here, and tfjs' stock ops on cpu.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { assertClose } from './helpers/close.js';
import { caseProducts, innerSize, PRODUCT_CASES } from './helpers/products.js';
import { requireSystem } from '../kernel-setup/system.mjs';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { ADAMW_HOST_KERNEL, ADAMW_KERNEL, adamwUpdate, hostMoments, type AdamWStep, type Moments } from '../src/backend/kernels/adamw.js';
import { assembleSimd, simdModuleSource } from '../src/backend/kernels/assemble-wat.js';
import { explicitTransposeGradient, useExplicitTransposeGradient } from '../src/backend/kernels/matmul-gradient.js';
import { mulberry32 } from '../src/data/random.js';
import { gelu, layerNorm, linear } from '../src/ops.js';
import { sparseCrossEntropy } from '../src/pretrain/objective.js';

const random = mulberry32(7);
const values = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** `op(a) @ op(b)` over leading batch axes, in float64 loops. */
function referenceProduct(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], transposeA: boolean, transposeB: boolean): Float64Array {
  const r = aShape.length;
  const [m, k] = transposeA ? [aShape[r - 1], aShape[r - 2]] : [aShape[r - 2], aShape[r - 1]];
  const n = transposeB ? bShape[r - 2] : bShape[r - 1];
  const batch = size(aShape.slice(0, -2));
  const out = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let l = 0; l < k; l++) {
          const x = a[p * m * k + (transposeA ? l * m + i : i * k + l)];
          const y = b[p * k * n + (transposeB ? j * k + l : l * n + j)];
          sum += x * y;
        }
        out[p * m * n + i * n + j] = sum;
      }
    }
  }
  return out;
}

/** Swaps the last two axes of a row-major array. */
function swapLast(x: Float32Array | Float64Array, shape: number[]): Float32Array {
  const [rows, cols] = shape.slice(-2);
  const out = new Float32Array(x.length);
  for (let p = 0; p < x.length / (rows * cols); p++) {
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[p * rows * cols + j * rows + i] = x[p * rows * cols + i * cols + j];
  }
  return out;
}

/** Shapes of a and b (untransposed layout [.., m, k] and [.., k, n]) for each case. */
const CASES: { name: string; m: number; k: number; n: number; batch: number[] }[] = [
  { name: '2-D', m: 5, k: 7, n: 3, batch: [] },
  { name: 'batched (attention-like)', m: 6, k: 4, n: 9, batch: [2, 3] },
];

for (const backend of ['cpu', 'wasm', 'webgpu'] as BackendName[]) {
  describe(`custom kernels and gradients on ${backend}`, () => {
    for (const { name, m, k, n, batch } of CASES) {
      for (const [transposeA, transposeB] of [[false, false], [false, true], [true, false], [true, true]]) {
        test(`BatchMatMul ${name}, transposeA=${transposeA} transposeB=${transposeB}: product and both gradients`, async () => {
          await initBackend({ backend, quiet: true });
          const aLayout = transposeA ? [...batch, k, m] : [...batch, m, k];
          const bLayout = transposeB ? [...batch, n, k] : [...batch, k, n];
          const [a, b, dy] = [values(size(aLayout)), values(size(bLayout)), values(size([...batch, m, n]))];
          const [ta, tb, tdy] = [tf.tensor(a, aLayout), tf.tensor(b, bLayout), tf.tensor(dy, [...batch, m, n])];
          const f = (x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, transposeA, transposeB);
          const product = f(ta, tb);
          const [da, db] = tf.grads(f)([ta, tb], tdy);
          const got = await Promise.all([product, da, db].map((t) => t.data()));
          tf.dispose([ta, tb, tdy, product, da, db]);

          // Untransposed operands, then d(A@B)/dA = dY @ B^T and d/dB = A^T @ dY, laid out as the inputs.
          const [A, B] = [transposeA ? swapLast(a, aLayout) : a, transposeB ? swapLast(b, bLayout) : b];
          const [aShape, bShape, yShape] = [[...batch, m, k], [...batch, k, n], [...batch, m, n]];
          const dA = referenceProduct(dy, yShape, B, bShape, false, true);
          const dB = referenceProduct(A, aShape, dy, yShape, true, false);
          const tolerance = 1e-5 * k * 4;
          assertClose(got[0], referenceProduct(A, aShape, B, bShape, false, false), tolerance, 'product');
          assertClose(got[1], transposeA ? swapLast(dA, aShape) : dA, tolerance, 'gradient of a');
          assertClose(got[2], transposeB ? swapLast(dB, bShape) : dB, tolerance, 'gradient of b');
        });
      }
    }

    test('_FusedMatMul with a bias (2-D, batched, transposed) and with an activation matches the product plus bias', async () => {
      await initBackend({ backend, quiet: true });
      for (const [aShape, bShape, transposeA, transposeB, activation] of [
        [[5, 7], [7, 3], false, false, 'linear'],
        [[2, 7, 5], [2, 3, 7], true, true, 'linear'],
        [[5, 7], [7, 3], false, false, 'relu'], // the stock kernel's case
      ] as [number[], number[], boolean, boolean, 'linear' | 'relu'][]) {
        const [a, b, bias] = [values(size(aShape)), values(size(bShape)), values(3)];
        const y = tf.tidy(() => tf.fused.matMul({ a: tf.tensor(a, aShape) as tf.Tensor2D, b: tf.tensor(b, bShape) as tf.Tensor2D, bias: tf.tensor1d(bias), transposeA, transposeB, activation }));
        const got = await y.data();
        y.dispose();
        const expected = referenceProduct(a, aShape, b, bShape, transposeA, transposeB).map((v, i) => v + bias[i % 3]).map((v) => (activation === 'relu' ? Math.max(0, v) : v));
        assertClose(got, expected, 1e-4, `[${aShape}] @ [${bShape}] ${activation}`);
      }
    });

    test('BatchMatMul of one tensor with itself, transposed on one side only (x^T x, x x^T), on a non-square x', async () => {
      const shape = [9, 4];
      const x = values(size(shape));
      await initBackend({ backend, quiet: true });
      const t = tf.tensor2d(x, shape as [number, number]);
      const [gram, outer] = [tf.matMul(t, t, true, false), tf.matMul(t, t, false, true)];
      assert.deepEqual([gram.shape, outer.shape], [[4, 4], [9, 9]]);
      const got = await Promise.all([gram.data(), outer.data()]);
      tf.dispose([t, gram, outer]);
      assertClose(got[0], referenceProduct(x, shape, x, shape, true, false), 1e-4, 'x^T x');
      assertClose(got[1], referenceProduct(x, shape, x, shape, false, true), 1e-4, 'x x^T');
    });

    test('BatchMatMul with a broadcast batch axis matches the stock cpu kernel', async () => {
      const [aShape, bShape] = [[2, 3, 4, 5], [1, 3, 5, 6]];
      const [a, b] = [values(size(aShape)), values(size(bShape))];
      await initBackend({ backend: 'cpu', quiet: true });
      const expected = await tf.tidy(() => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape))).data();
      await initBackend({ backend, quiet: true });
      const product = tf.tidy(() => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape)));
      assert.deepEqual(product.shape, [2, 3, 4, 6]);
      assertClose(await product.data(), expected, 1e-5, 'product');
      product.dispose();
    });

    test('fused AdamW update: the same p, m, v as the update written with tfjs ops on cpu', async () => {
      const shape = [37, 5];
      const [p, m, g] = [values(185), values(185), values(185)];
      const v = values(185).map(Math.abs);
      const step: AdamWStep = { beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: 1 - 1e-3 * 0.01, stepSize: 1e-3 / (1 - 0.9 ** 3), invSqrtBias2: 1 / Math.sqrt(1 - 0.999 ** 3) };
      await initBackend({ backend: 'cpu', quiet: true });
      const expected = await Promise.all(tf.tidy(() => {
        const [tp, tm, tv, tg] = [p, m, v, g].map((x) => tf.tensor(x, shape));
        const m2 = tf.add(tf.mul(tm, step.beta1), tf.mul(tg, 1 - step.beta1));
        const v2 = tf.add(tf.mul(tv, step.beta2), tf.mul(tf.square(tg), 1 - step.beta2));
        const update = tf.div(tf.mul(m2, step.stepSize), tf.add(tf.mul(tf.sqrt(v2), step.invSqrtBias2), step.eps));
        return [tf.sub(tf.mul(tp, step.decay), update), m2, v2];
      }).map((t) => t.data()));
      await initBackend({ backend, quiet: true });
      const kernel = backend === 'webgpu' ? ADAMW_KERNEL : ADAMW_HOST_KERNEL;
      assert.ok(tf.getKernel(kernel, backend), `the fused kernel ${kernel} is registered for ${backend}`);
      assert.equal(hostMoments(), backend !== 'webgpu', 'moments in host memory on cpu and wasm only');
      const moments: Moments = hostMoments() ? { m: Float32Array.from(m), v: Float32Array.from(v) } : { m: tf.tensor(m, shape), v: tf.tensor(v, shape) };
      const [tp, tg] = [p, g].map((x) => tf.tensor(x, shape));
      const next = adamwUpdate(tp, tg, moments, step);
      assert.deepEqual(next.p.shape, shape);
      const got = [await next.p.data(), await (next.m?.data() ?? moments.m), await (next.v?.data() ?? moments.v)];
      tf.dispose([tp, tg, next.p, next.m!, next.v!, ...(moments.m instanceof Float32Array ? [] : [moments.m, moments.v as tf.Tensor])]);
      for (const [i, what] of ['p', 'm', 'v'].entries()) assertClose(got[i] as Float32Array, expected[i], 1e-6, what);
    });

    test('Transpose: matrix-like permutations (SIMD blocks on wasm) and others match the cpu kernel', async () => {
      const cases: [number[], number[]][] = [
        [[70, 45], [1, 0]], // 2-D, neither side a multiple of the tile or of 4
        [[64, 36], [1, 0]], // multiples of 4 only
        [[3, 40, 33], [0, 2, 1]], // batched matrices
        [[8, 6, 35], [2, 0, 1]], // leading axes to the end, as Sum does before reducing them
        [[4, 5, 6, 7], [2, 3, 0, 1]],
        [[2, 5, 3, 4], [0, 2, 1, 3]], // attention's head split: not matrix-like
      ];
      for (const [shape, perm] of cases) {
        const x = values(size(shape));
        await initBackend({ backend: 'cpu', quiet: true });
        const expected = await tf.tidy(() => tf.transpose(tf.tensor(x, shape), perm)).data();
        const ints = await tf.tidy(() => tf.transpose(tf.tensor(x, shape).mul(1000).toInt(), perm)).data();
        await initBackend({ backend, quiet: true });
        const [got, gotInts] = tf.tidy(() => [tf.transpose(tf.tensor(x, shape), perm), backend === 'webgpu' ? tf.zeros([0]) : tf.transpose(tf.tensor(x, shape).mul(1000).toInt(), perm)]);
        assert.deepEqual(got.shape, perm.map((a) => shape[a]));
        assert.deepEqual(await got.data(), expected, `float32 [${shape}] perm [${perm}]`);
        // tfjs-webgpu 4.22 cannot compile an int32 transpose at all (a WGSL type error in its own shader).
        if (backend !== 'webgpu') assert.deepEqual(await gotInts.data(), ints, `int32 [${shape}] perm [${perm}]`);
        tf.dispose([got, gotInts]);
      }
    });

    test('Sum over leading axes (simd.wat on wasm) and other axes match the cpu kernel', async () => {
      const cases: [number[], number[], boolean][] = [
        [[70, 45], [0], false], // a bias gradient
        [[6, 8], [0], false], // whole SIMD lanes only
        [[9, 3], [0], false], // fewer columns than lanes
        [[3, 7, 5], [0, 1], false], // a LayerNorm parameter's gradient
        [[3, 7, 5], [1, 0], true],
        [[3, 7, 5], [-1], false], // innermost: the stock kernel
        [[3, 7, 5], [0, 1, 2], false], // everything: the stock kernel
      ];
      for (const [shape, axes, keepDims] of cases) {
        const x = values(size(shape));
        await initBackend({ backend: 'cpu', quiet: true });
        const expected = await tf.tidy(() => tf.sum(tf.tensor(x, shape), axes, keepDims)).data();
        await initBackend({ backend, quiet: true });
        const before = tf.memory().numTensors;
        const got = tf.tidy(() => tf.sum(tf.tensor(x, shape), axes, keepDims));
        await initBackend({ backend: 'cpu', quiet: true });
        assert.deepEqual(got.shape, tf.tidy(() => tf.sum(tf.zeros(shape), axes, keepDims).shape));
        await initBackend({ backend, quiet: true });
        assertClose(await got.data(), expected, 1e-5, `sum of [${shape}] over [${axes}]`);
        got.dispose();
        assert.equal(tf.memory().numTensors, before);
      }
    });

    test('GatherV2 along axis 0 (row copies on wasm) and along other axes match the cpu kernel', async () => {
      const table = values(30 * 4 * 3);
      const ids = [[3, 0, 29], [29, 7, 7]];
      await initBackend({ backend: 'cpu', quiet: true });
      const expected = await Promise.all(tf.tidy(() => [tf.gather(tf.tensor(table, [30, 12]), tf.tensor2d(ids, undefined, 'int32')), tf.gather(tf.tensor(table, [30, 4, 3]), [2, 0], 1)]).map((t) => t.data()));
      await initBackend({ backend, quiet: true });
      const got = tf.tidy(() => [tf.gather(tf.tensor(table, [30, 12]), tf.tensor2d(ids, undefined, 'int32')), tf.gather(tf.tensor(table, [30, 4, 3]), [2, 0], 1)]);
      assert.deepEqual(got[0].shape, [2, 3, 12]);
      assert.deepEqual(await got[0].data(), expected[0]);
      assert.deepEqual(await got[1].data(), expected[1]);
      tf.dispose(got);
      if (backend === 'wasm') {
        const before = tf.memory().numTensors;
        assert.throws(() => tf.tidy(() => tf.gather(tf.zeros([4, 2]), tf.tensor1d([1, 4], 'int32'))), /index value 4/);
        assert.equal(tf.memory().numTensors, before);
      }
    });

    test('ScatterNd (slice additions on wasm): duplicates add up, as on cpu', async () => {
      const cases: { indices: number[][]; updateShape: number[]; shape: number[] }[] = [
        { indices: [[4], [0], [4], [2]], updateShape: [4, 3], shape: [6, 3] }, // an embedding gradient
        { indices: [[1, 2], [0, 0], [1, 2]], updateShape: [3, 5], shape: [2, 3, 5] },
        { indices: [[1, 2, 4], [0, 0, 1]], updateShape: [2], shape: [2, 3, 5] },
      ];
      for (const { indices, updateShape, shape } of cases) {
        const updates = values(size(updateShape));
        await initBackend({ backend: 'cpu', quiet: true });
        const expected = await tf.tidy(() => tf.scatterND(tf.tensor2d(indices, undefined, 'int32'), tf.tensor(updates, updateShape), shape)).data();
        await initBackend({ backend, quiet: true });
        const got = tf.tidy(() => tf.scatterND(tf.tensor2d(indices, undefined, 'int32'), tf.tensor(updates, updateShape), shape));
        assert.deepEqual(got.shape, shape);
        assertClose(await got.data(), expected, 1e-6, `scatter into [${shape}]`);
        got.dispose();
      }
    });

    test('Identity (shared memory on wasm): a clone outlives its source and frees nothing early', async () => {
      await initBackend({ backend, quiet: true });
      const before = tf.memory().numTensors;
      const x = tf.tensor([1, 2, 3, 4], [2, 2]);
      const y = tf.clone(x);
      x.dispose();
      assert.deepEqual(Array.from(await y.data()), [1, 2, 3, 4]);
      const v = tf.variable(y);
      const doubled = tf.tidy(() => tf.mul(v, 2));
      v.assign(doubled);
      assert.deepEqual(Array.from(await y.data()), [1, 2, 3, 4], 'assigning to a variable made from it leaves the clone alone');
      assert.deepEqual(Array.from(await v.data()), [2, 4, 6, 8]);
      tf.dispose([y, v, doubled]);
      assert.equal(tf.memory().numTensors, before);
    });

    test('GELU and its gradient (the SIMD kernel on wasm) match the erf formula through tfjs ops on cpu, at every length', async () => {
      for (const n of [4, 7, 4099]) {
        const x = Float32Array.from({ length: n }, (_, i) => -6 + (12 * i) / (n - 1));
        const dy = values(n);
        const [y, dx] = await geluAndGradient(backend, x, dy);
        await initBackend({ backend: 'cpu', quiet: true });
        const [yRef, dxRef] = await geluAndGradient('cpu', x, dy);
        // Both erfs are within 1.5e-7 of the true one, so the products within about x * 3e-7.
        assertClose(y.map((v, i) => (v - yRef[i]) / Math.max(1, Math.abs(x[i]))), new Float32Array(n), 4e-7, `gelu, n = ${n}`);
        assertClose(dx, dxRef, 1e-6, `gelu gradient, n = ${n}`);
      }
    });

    test('sparseCrossEntropy (the SIMD log-sum-exp and gradient kernels on wasm) matches log-softmax and a pick through tfjs ops on cpu', async () => {
      for (const cols of [4, 7, 1029]) {
        const rows = 5;
        const logits = Float32Array.from(values(rows * cols), (v) => 12 * v);
        const targets = Int32Array.from({ length: rows }, (_, r) => (r * 7 + 3) % cols);
        const [loss, grad] = await crossEntropyAndGradient(backend, logits, targets, rows, cols);
        await initBackend({ backend: 'cpu', quiet: true });
        const [lossRef, gradRef] = await tf.tidy(() => {
          const f = (x: tf.Tensor) => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(x), tf.oneHot(tf.tensor1d(targets, 'int32'), cols)), 1)));
          const x = tf.tensor2d(logits, [rows, cols]);
          return [f(x), tf.grads(f)([x], tf.scalar(0.7))[0]];
        }).map(async (t) => { const d = await t.data(); t.dispose(); return d; });
        assertClose(loss, await lossRef, 1e-5, `loss, ${cols} columns`);
        assertClose(grad, await gradRef, 1e-7, `gradient, ${cols} columns`);
      }
    });

    test('layerNorm (the SIMD kernels on wasm where the last axis is a multiple of 4): the values and three gradients of the formula in tfjs ops on cpu', async () => {
      for (const shape of [[3, 5, 8], [7, 4], [2, 6], [4, 128]]) {
        const cols = shape[shape.length - 1];
        const [x, gamma, beta, dy] = [Float32Array.from(values(size(shape)), (v) => 3 * v + 1), values(cols), values(cols), values(size(shape))];
        const run = (ours: boolean) => tf.tidy(() => {
          const inputs = [tf.tensor(x, shape), tf.tensor1d(gamma), tf.tensor1d(beta)];
          const f = (tx: tf.Tensor, tg: tf.Tensor, tb: tf.Tensor) => {
            if (ours) return layerNorm(tx, tg as tf.Tensor1D, tb as tf.Tensor1D, 1e-5);
            const centered = tf.sub(tx, tf.mean(tx, -1, true));
            return tf.add(tf.mul(tf.div(centered, tf.sqrt(tf.add(tf.mean(tf.square(centered), -1, true), 1e-5))), tg), tb);
          };
          return [f(inputs[0], inputs[1], inputs[2]), ...tf.grads(f)(inputs, tf.tensor(dy, shape))];
        });
        await initBackend({ backend, quiet: true });
        const got = await Promise.all(run(true).map(async (t) => { const d = await t.data(); t.dispose(); return d; }));
        await initBackend({ backend: 'cpu', quiet: true });
        const expected = await Promise.all(run(false).map(async (t) => { const d = await t.data(); t.dispose(); return d; }));
        ['y', 'gradient of x', 'gradient of gamma', 'gradient of beta'].forEach((what, i) => assertClose(got[i], expected[i], 2e-5, `${what}, [${shape}]`, { relative: true }));
      }
    });

    test('linear with a transposed weight [out, in]: the product plus bias and all three gradients of tfjs ops on cpu', async () => {
      const [m, k, n] = [6, 5, 9];
      const [x, w, b, dy] = [values(m * k), values(n * k), values(n), values(m * n)];
      const run = (ours: boolean) => tf.tidy(() => {
        const inputs = [tf.tensor2d(x, [m, k]), tf.tensor2d(w, [n, k]), tf.tensor1d(b)];
        const f = (tx: tf.Tensor, tw: tf.Tensor, tb: tf.Tensor) => ours
          ? linear(tx as tf.Tensor2D, tw as tf.Tensor2D, tb as tf.Tensor1D, true)
          : tf.add(tf.matMul(tx, tw, false, true), tb);
        return [f(inputs[0], inputs[1], inputs[2]), ...tf.grads(f)(inputs, tf.tensor2d(dy, [m, n]))];
      });
      await initBackend({ backend, quiet: true });
      const got = await Promise.all(run(true).map(async (t) => { const d = await t.data(); t.dispose(); return d; }));
      await initBackend({ backend: 'cpu', quiet: true });
      const expected = await Promise.all(run(false).map(async (t) => { const d = await t.data(); t.dispose(); return d; }));
      ['product', 'gradient of x', 'gradient of w', 'gradient of b'].forEach((what, i) => assertClose(got[i], expected[i], 1e-5, what));
    });

    test('a batched product leaves no tensors behind', async () => {
      await initBackend({ backend, quiet: true });
      const before = tf.memory().numTensors;
      const [a, b] = [tf.randomNormal([4, 8, 16]), tf.randomNormal([4, 16, 8])];
      const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y))([a, b]);
      tf.dispose([a, b, da, db]);
      assert.equal(tf.memory().numTensors, before);
    });
  });
}

test("the BatchMatMul gradient override turns off and back on: tfjs' own gradient gives the same values with transposed products", async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  const [aShape, bShape] = [[2, 7, 5], [2, 3, 7]];
  const [a, b, dy] = [values(size(aShape)), values(size(bShape)), values(2 * 5 * 3)];
  /** Both gradients of a^T b^T, and the kernels that computing them ran. */
  const gradients = async () => {
    const [ta, tb, tdy] = [tf.tensor(a, aShape), tf.tensor(b, bShape), tf.tensor(dy, [2, 5, 3])];
    let grads: tf.Tensor[] = [];
    const profile = await tf.profile(() => {
      grads = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, true, true))([ta, tb], tdy);
    });
    const data = await Promise.all(grads.map((g) => g.data()));
    tf.dispose([ta, tb, tdy, ...grads]);
    return { data, kernels: profile.kernelNames };
  };
  assert.ok(explicitTransposeGradient(), 'initBackend turned the override on');
  const ours = await gradients();
  useExplicitTransposeGradient(false);
  try {
    assert.ok(!explicitTransposeGradient());
    const theirs = await gradients();
    assert.ok(ours.kernels.includes('Transpose'), `ours transposes explicitly: ${ours.kernels}`);
    assert.ok(!theirs.kernels.includes('Transpose'), `tfjs' own multiplies with transposed operands: ${theirs.kernels}`);
    ours.data.forEach((g, i) => assertClose(g, theirs.data[i], 1e-5, `gradient ${i}`));
  } finally {
    useExplicitTransposeGradient(true);
  }
  assert.ok(explicitTransposeGradient());
  assert.ok((await gradients()).kernels.includes('Transpose'), 'back on');
});

/** The mean cross-entropy of `logits` `[rows, cols]` against `targets` and its gradient for dy = 0.7, through sparseCrossEntropy on `backend`. */
async function crossEntropyAndGradient(backend: BackendName, logits: Float32Array, targets: Int32Array, rows: number, cols: number): Promise<[Float32Array, Float32Array]> {
  await initBackend({ backend, quiet: true });
  const [x, t] = [tf.tensor2d(logits, [rows, cols]), tf.tensor1d(targets, 'int32')];
  const loss = sparseCrossEntropy(x, t);
  const [grad] = tf.grads((l: tf.Tensor) => sparseCrossEntropy(l as tf.Tensor2D, t))([x], tf.scalar(0.7));
  const got = (await Promise.all([loss.data(), grad.data()])) as [Float32Array, Float32Array];
  tf.dispose([x, t, loss, grad]);
  return got;
}

/** gelu(x) and dy * gelu'(x) through ops.gelu on `backend`. */
async function geluAndGradient(backend: BackendName, x: Float32Array, dy: Float32Array): Promise<[Float32Array, Float32Array]> {
  await initBackend({ backend, quiet: true });
  const [tx, tdy] = [tf.tensor1d(x), tf.tensor1d(dy)];
  const y = gelu(tx);
  const [dx] = tf.grads((t: tf.Tensor) => gelu(t))([tx], tdy);
  const got = (await Promise.all([y.data(), dx.data()])) as [Float32Array, Float32Array];
  tf.dispose([tx, tdy, y, dx]);
  return got;
}

test('the single-threaded wasm build (its own unshared memory) runs the GELU kernels too', () => {
  const script = `
    const tf = require('@tensorflow/tfjs');
    const { initBackend } = require('./src/backend/index.ts');
    const { gelu } = require('./src/ops.ts');
    (async () => {
      await initBackend({ backend: 'wasm', quiet: true, threads: 1 });
      const x = tf.linspace(-6, 6, 4099);
      const y = await gelu(x).data();
      await initBackend({ backend: 'cpu', quiet: true });
      const ref = await gelu(tf.linspace(-6, 6, 4099)).data();
      const worst = Math.max(...y.map((v, i) => Math.abs(v - ref[i]) / Math.max(1, Math.abs(-6 + (12 * i) / 4098))));
      console.log(JSON.stringify({ threads: require('@tensorflow/tfjs-backend-wasm').getThreadsCount(), worst }));
    })();`;
  const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' }).trim().split('\n').pop()!);
  assert.equal(out.threads, 1);
  assert.ok(out.worst <= 4e-7, `worst difference (relative to max(1, |x|)) ${out.worst}`);
});

test('the committed SIMD binaries are simd.wat assembled', async () => {
  const committed = readFileSync('src/backend/kernels/simd-binaries.ts', 'utf8');
  assert.equal(committed, simdModuleSource(await assembleSimd()), 'run npx tsx src/backend/kernels/assemble-wat.ts after editing simd.wat');
});

test('the multi-threaded wasm build runs a BERT training step with the threads asked for', () => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'bench', '--size', 'bert-tiny', '--batch', '2', '--seq', '16', '--steps', '1', '--backend', 'wasm', '--threads', '2'], { encoding: 'utf8' });
  const result = JSON.parse(out.trim().split('\n').pop()!);
  // tfjs alone would cap the pool at logical cores / 2 (1 on a 2-core machine): see src/backend/wasm-threads.ts.
  assert.equal(result.threads, 2);
  assert.ok(result.train_samples_per_s > 0 && result.forward_samples_per_s > 0);
});

test('the wasm backend runs XNNPACK on the threads asked for', async () => {
  await initBackend({ backend: 'wasm', quiet: true, threads: os.cpus().length });
  const wasm: typeof import('@tensorflow/tfjs-backend-wasm') = require('@tensorflow/tfjs-backend-wasm');
  // tfjs alone would cap the pool at logical cores / 2 (1 on a 2-core machine): see src/backend/wasm-threads.ts.
  // The first initBackend of this process fixed the count: one per core, as none here asked for another.
  assert.equal(wasm.getThreadsCount(), Math.min(os.availableParallelism(), 8));
});

describe('matrix products on OpenBLAS (wasm)', () => {
  test('the wasm backend multiplies on OpenBLAS (libopenblas0-pthread), and its line says so', async () => {
    requireSystem('openblas');
    const info = await initBackend({ backend: 'wasm', quiet: true });
    assert.match(info.device, /matrix products on OpenBLAS \d/);
  });

  test('OpenBLAS products (transposed, batched, with a bias, sizes not a multiple of 4) match the stock tfjs products on cpu', async () => {
    await initBackend({ backend: 'cpu', quiet: true });
    const expected = await caseProducts();
    const info = await initBackend({ backend: 'wasm', quiet: true });
    assert.match(info.device, /OpenBLAS/, 'the products under test are OpenBLAS\'s');
    const got = await caseProducts();
    PRODUCT_CASES.forEach((c, i) => assertClose(got[i], expected[i], 1e-6 * innerSize(c) * 4, `[${c.a}]${c.transposeA ? '^T' : ''} @ [${c.b}]${c.transposeB ? '^T' : ''}${c.bias ? ' + bias' : ''}`));
  });

  /** The products in a new process with `threads` threads and the `blas` option: its backend's device, a hash of their bytes, and their largest difference from cpu's. */
  const productsIn = (threads: number, blas: string | null | undefined): { device: string; hash: string; worst: number } => {
    const script = `
      const { createHash } = require('node:crypto');
      const { initBackend } = require('./src/backend/index.ts');
      const { caseProducts } = require('./tests/helpers/products.ts');
      (async () => {
        const { device } = await initBackend({ backend: 'wasm', quiet: true, threads: ${threads}, blas: ${JSON.stringify(blas)} });
        const got = await caseProducts();
        await initBackend({ backend: 'cpu', quiet: true });
        const expected = await caseProducts();
        const hash = createHash('sha256');
        for (const g of got) hash.update(new Uint8Array(g.buffer, g.byteOffset, g.byteLength));
        const worst = got.reduce((w, g, i) => g.reduce((x, v, j) => Math.max(x, Math.abs(v - expected[i][j])), w), 0);
        console.log(JSON.stringify({ device, hash: hash.digest('hex'), worst }));
      })();`;
    return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' }).trim().split('\n').pop()!);
  };

  test('OpenBLAS products are bit-identical from run to run on 1 and 2 threads (exact resume depends on it)', () => {
    requireSystem('openblas');
    for (const threads of [1, 2]) {
      const [first, second] = [productsIn(threads, undefined), productsIn(threads, undefined)];
      assert.match(first.device, new RegExp(`OpenBLAS .*${threads === 1 ? '1 thread' : `${threads} threads`}\\)`));
      assert.equal(second.hash, first.hash, `${threads} threads`);
    }
  });

  test('where OpenBLAS cannot be loaded, the products run on XNNPACK, and the line says why and how to install it', () => {
    const missing = productsIn(1, '/nonexistent/libopenblas.so.0');
    assert.match(missing.device, /matrix products on XNNPACK: OpenBLAS could not be loaded from \/nonexistent\/libopenblas\.so\.0 .*apt-get install libopenblas0-pthread/);
    assert.ok(missing.worst <= 1e-3, `largest difference from cpu ${missing.worst}`);
    assert.match(productsIn(1, null).device, /matrix products on XNNPACK \(OpenBLAS turned off\)/);
  });
});
