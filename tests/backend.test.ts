/**
 * The ops the model is built from, on every backend: values and gradients on wasm and webgpu
 * must agree with the cpu backend, and cpu must agree with float64 references computed here.
 *
 * Agreement measure: max |x - ref| <= TOL * max(1, max |ref|), over all elements of a tensor:
 * an absolute tolerance for values of order one, relative to the largest value otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendName, initBackend, probeBackends } from '../src/backend/index.js';
import { deriveSeed, mulberry32 } from '../src/data/random.js';
import { assertClose } from './helpers/close.js';
import { add, attentionProbs, dropout, gelu, layerNorm, linear, reshape, trainingContext } from '../src/ops.js';

const TOL = 1e-5;
const relative = { relative: true };
const ROOT = path.join(__dirname, '..');

/** Deterministic values in [lo, hi), the same on every run and backend. */
function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}

/** An op under test: a function of some inputs, with their shapes. */
interface Case {
  name: string;
  inputs: number[][];
  f: (...xs: tf.Tensor[]) => tf.Tensor;
}

const CASES: Case[] = [
  { name: 'matMul', inputs: [[8, 16], [16, 12]], f: (a, b) => tf.matMul(a, b) },
  { name: 'matMul transposeA', inputs: [[16, 8], [16, 12]], f: (a, b) => tf.matMul(a, b, true, false) },
  { name: 'matMul transposeB', inputs: [[8, 16], [12, 16]], f: (a, b) => tf.matMul(a, b, false, true) },
  { name: 'matMul both transposed', inputs: [[16, 8], [12, 16]], f: (a, b) => tf.matMul(a, b, true, true) },
  { name: 'batched matMul', inputs: [[3, 8, 16], [3, 16, 12]], f: (a, b) => tf.matMul(a, b) },
  // The attention scores q @ k^T, batch and heads in front.
  { name: 'batched matMul transposeB', inputs: [[2, 4, 8, 16], [2, 4, 8, 16]], f: (q, k) => tf.matMul(q, k, false, true) },
  { name: 'softmax', inputs: [[4, 7, 10]], f: (x) => tf.softmax(tf.mul(x, 5)) },
  { name: 'layerNorm', inputs: [[4, 6, 32], [32], [32]], f: (x, g, b) => layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-12) },
  { name: 'gelu', inputs: [[4, 250]], f: (x) => gelu(tf.mul(x, 5)) },
  { name: 'linear', inputs: [[10, 16], [16, 12], [12]], f: (x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D) },
  { name: 'add (broadcast)', inputs: [[3, 5, 8], [5, 8]], f: (a, b) => add(a, b) },
  { name: 'reshape', inputs: [[3, 5, 8]], f: (x) => tf.mul(reshape(x, [15, 8]), tf.range(1, 9)) },
  { name: 'dropout', inputs: [[6, 40]], f: (x) => dropout(x, 0.3, seeded()) },
  // Scores [batch, heads, seq, seq], the last key masked out, and dropout on the probabilities.
  { name: 'attentionProbs', inputs: [[2, 3, 5, 5]], f: (s) => attentionProbs(tf.mul(s, 4) as tf.Tensor4D, maskBias(), 0.125, 0.2, seeded()) },
];

/** A mask bias [1, 1, 1, 5] that hides the last of five keys. */
const maskBias = () => tf.tensor4d([0, 0, 0, 0, -1e4], [1, 1, 1, 5]);

/** A fresh training context, so that each call draws the same mask. */
const seeded = () => trainingContext(1, 0);

/** The seed ops.dropout draws first in a `seeded()` context (trainingContext(1, 0)). */
const FIRST_DROPOUT_SEED = Math.floor(mulberry32(deriveSeed(1, 0))() * 2 ** 31);

interface Result { value: Float32Array; grads: Float32Array[] }

/** The op's value and the gradient of sum(value * w) for a fixed random w (a plain sum would zero softmax's gradient). */
async function evaluate(c: Case, seed: number): Promise<Result> {
  const xs = c.inputs.map((shape, i) => tf.tensor(uniform(shape.reduce((a, b) => a * b, 1), seed + i), shape));
  const value = c.f(...xs);
  const w = tf.tensor(uniform(value.size, seed + 100), value.shape);
  const grads = tf.grads((...ys: tf.Tensor[]) => tf.sum(tf.mul(c.f(...ys), w)))(xs);
  const result = { value: (await value.data()) as Float32Array, grads: await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>)) };
  tf.dispose([xs, value, w, grads]);
  return result;
}

async function evaluateAll(backend: BackendName): Promise<Map<string, Result>> {
  await initBackend({ backend, quiet: true });
  assert.equal(tf.getBackend(), backend);
  const results = new Map<string, Result>();
  for (const [i, c] of CASES.entries()) results.set(c.name, await evaluate(c, 1000 * (i + 1)));
  return results;
}

let cpuResults: Map<string, Result>;

test('cpu backend: gelu and layerNorm match float64 references', async () => {
  cpuResults = await evaluateAll('cpu');

  const x = Array.from(uniform(1000, 1000 * 9), (v) => 5 * v);
  const geluCase = cpuResults.get('gelu')!;
  assertClose(geluCase.value, x.map((v) => 0.5 * v * (1 + erf64(v / Math.SQRT2))), TOL, 'gelu value', relative);
  const w = uniform(1000, 1000 * 9 + 100);
  // d/dx gelu(5u) = 5 (Phi(5u) + 5u phi(5u)), chained with the weights w.
  const dGelu = x.map((v, i) => 5 * w[i] * (0.5 * (1 + erf64(v / Math.SQRT2)) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI)));
  assertClose(geluCase.grads[0], dGelu, TOL, 'gelu gradient', relative);

  const [xs, gs, bs] = [uniform(4 * 6 * 32, 8000), uniform(32, 8001), uniform(32, 8002)];
  const ln = cpuResults.get('layerNorm')!;
  assertClose(ln.value, layerNorm64(xs, gs, bs, 32), TOL, 'layerNorm value', relative);
  // Gradient with respect to x by central differences of the float64 layer norm.
  const wl = uniform(xs.length, 8100);
  const loss = (v: ArrayLike<number>) => layerNorm64(v, gs, bs, 32).reduce((s, y, i) => s + y * wl[i], 0);
  const numeric = Array.from(xs, (_, i) => {
    const h = 1e-6, up = Float64Array.from(xs), down = Float64Array.from(xs);
    up[i] += h; down[i] -= h;
    return (loss(up) - loss(down)) / (2 * h);
  });
  assertClose(ln.grads[0], numeric, 1e-4, 'layerNorm gradient', relative);
});

test('cpu backend: the ops with written-out gradients match their formulas through tfjs ops and autodiff', async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  // The same formulas as plain tfjs ops, whose gradients tfjs derives; dropout draws the same mask as tf.dropout for the same seed.
  const plain: Record<string, (...xs: tf.Tensor[]) => tf.Tensor> = {
    linear: (x, w, b) => tf.add(tf.matMul(x, w), b),
    'add (broadcast)': (a, b) => tf.add(a, b),
    reshape: (x) => tf.mul(tf.reshape(x, [15, 8]), tf.range(1, 9)),
    dropout: (x) => tf.dropout(x, 0.3, undefined, FIRST_DROPOUT_SEED),
    attentionProbs: (s) => tf.dropout(tf.softmax(tf.add(tf.mul(tf.mul(s, 4), 0.125), maskBias())), 0.2, undefined, FIRST_DROPOUT_SEED),
  };
  for (const [i, c] of CASES.entries()) {
    if (!plain[c.name]) continue;
    const [ours, reference] = [await evaluate(c, 1000 * (i + 1)), await evaluate({ ...c, f: plain[c.name] }, 1000 * (i + 1))];
    assertClose(ours.value, reference.value, TOL, `${c.name} value`, relative);
    ours.grads.forEach((g, j) => assertClose(g, reference.grads[j], TOL, `${c.name} gradient ${j}`, relative));
  }
});

for (const backend of ['wasm', 'webgpu'] as const) {
  test(`${backend} backend agrees with cpu on values and gradients`, async () => {
    assert.ok(cpuResults, 'the cpu test runs first');
    const probe = (await probeBackends())[backend];
    // Without an adapter, the reason names the driver to install.
    assert.ok(probe.available, `${backend} is unavailable: ${probe.reason}`);
    const results = await evaluateAll(backend);
    for (const c of CASES) {
      const [got, ref] = [results.get(c.name)!, cpuResults.get(c.name)!];
      assertClose(got.value, ref.value, TOL, `${backend} ${c.name} value`, relative);
      got.grads.forEach((g, i) => assertClose(g, ref.grads[i], TOL, `${backend} ${c.name} gradient ${i}`, relative));
    }
  });
}

test('initBackend switches between forced backends and is idempotent', async () => {
  const first = await initBackend({ backend: 'wasm', quiet: true });
  assert.equal(await initBackend({ backend: 'wasm', quiet: true }), first);
  assert.equal((await initBackend({ backend: 'cpu', quiet: true })).name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  await assert.rejects(initBackend({ backend: 'tensorflow', quiet: true }), /tensorflow backend was forced.*unavailable/);
});

test('finetune-lab env reports cpu, wasm and webgpu available', () => {
  const main = path.join(ROOT, 'dist', 'cli', 'main.js');
  const sources = ['src/backend/index.ts', 'src/backend/select.ts', 'src/backend/webgpu.ts', 'src/backend/environment.ts', 'src/cli/env.ts'];
  const stale = sources.filter((s) => !fs.existsSync(main) || fs.statSync(path.join(ROOT, s)).mtimeMs > fs.statSync(main.replace(/cli[/\\]main\.js$/, s.slice(4).replace(/\.ts$/, '.js'))).mtimeMs);
  assert.deepEqual(stale, [], 'dist/ is older than the sources: run npm run build');

  const env = { ...process.env };
  delete env.FINETUNE_LAB_BACKEND;
  const out = spawnSync(process.execPath, [main, 'env'], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(out.status, 0, out.stderr);
  const report = JSON.parse(out.stdout);
  for (const name of ['cpu', 'wasm', 'webgpu']) assert.equal(report.backends[name].available, true, `${name}: ${report.backends[name].reason}`);
  assert.equal(report.packages['@tensorflow/tfjs'], require('@tensorflow/tfjs/package.json').version);
  assert.equal(report.node, process.version);
  // With only a software GPU adapter, automatic selection must prefer wasm over it.
  if (report.backends.webgpu.software) assert.equal(report.selected.name, 'wasm');
  else assert.equal(report.selected.name, report.backends.tensorflow.available ? 'tensorflow' : 'webgpu');
});

/** erf in float64 by its Taylor series: exact to about 1e-9 for |x| <= 4. */
function erf64(x: number): number {
  if (Math.abs(x) > 4) return Math.sign(x);
  let term = x, sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

function layerNorm64(x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length; r += width) {
    let mean = 0, variance = 0;
    for (let i = 0; i < width; i++) mean += x[r + i] / width;
    for (let i = 0; i < width; i++) variance += (x[r + i] - mean) ** 2 / width;
    for (let i = 0; i < width; i++) out.push(((x[r + i] - mean) / Math.sqrt(variance + 1e-12)) * gamma[i] + beta[i]);
  }
  return out;
}
