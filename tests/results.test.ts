// The comparison's record of results, the peak-memory measure the method notebooks report, and the
// PCA used to look at [CLS] features.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readResults, recordResult, RESULTS_FILE, type MethodResult } from '../src/results.js';
import { PROJECT_ROOT } from '../src/models.js';
import { measurePeakMemory } from '../src/finetune/memory.js';
import { pca2 } from '../src/finetune/projection.js';
import { initBackend } from '../src/backend/index.js';

// The tensors these tests make run on the cpu backend, chosen as the library's users choose one
// (tfjs' implicit choice would print its banner telling Node users to install tfjs-node).
before(() => initBackend({ backend: 'cpu', quiet: true }));

const result = (accuracy: number): MethodResult => ({
  test_accuracy: accuracy, test_f1: accuracy, trainable_params: 10, total_params: 100,
  train_seconds: 1.5, train_samples_per_s: 20, peak_memory_bytes: 4096, profile: 'ci',
});

test('results live in build/results.json under the project root', () => {
  assert.equal(RESULTS_FILE, join(PROJECT_ROOT, 'build', 'results.json'));
});

test('recordResult adds one method at a time and replaces only that method', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'results-')), 'sub', 'results.json');
  assert.deepEqual(readResults(file), {});
  recordResult('full', result(0.8), file);
  recordResult('lora', result(0.7), file);
  recordResult('full', result(0.9), file);
  const results = readResults(file);
  assert.deepEqual(Object.keys(results).sort(), ['full', 'lora']);
  assert.equal(results.full.test_accuracy, 0.9);
  assert.equal(results.lora.test_accuracy, 0.7);
  assert.equal(results.lora.profile, 'ci');
  assert.ok(!Number.isNaN(Date.parse(results.full.recorded_at as string)));
  assert.deepEqual(readdirSync(join(file, '..')), ['results.json'], 'no temporary file is left behind');
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), results);
});

test('a damaged results file is named, with the fix', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'results-')), 'results.json');
  writeFileSync(file, '{"full": ');
  assert.throws(() => readResults(file), (err: Error) => err.message.includes(file) && /delete it/.test(err.message));
  assert.throws(() => recordResult('', result(0.5), file), /method name/);
});

test('measurePeakMemory sees the largest allocation even when it is freed before the end', async () => {
  const kept = tf.zeros([1000]); // 4,000 bytes held throughout
  const before = tf.memory().numBytes;
  const { result: value, peakBytes } = await measurePeakMemory(async () => {
    tf.tidy(() => { tf.ones([250_000]).sum(); }); // 1,000,000 bytes for a moment, and the 4-byte sum made while they exist
    await tf.nextFrame();
    return 7;
  });
  assert.equal(value, 7);
  assert.equal(peakBytes, before + 1_000_004);
  assert.equal(tf.memory().numBytes, before, 'the byte count is still tracked after measuring');
  const extra = tf.zeros([10]);
  assert.equal(tf.memory().numBytes, before + 40);
  tf.dispose([kept, extra]);
});

test('measurePeakMemory nests: the outer measurement also sees the inner peak', async () => {
  const before = tf.memory().numBytes;
  const outer = await measurePeakMemory(async () => {
    const inner = await measurePeakMemory(async () => { tf.tidy(() => { tf.zeros([1000]); }); });
    tf.tidy(() => { tf.zeros([10]); });
    return inner.peakBytes;
  });
  assert.equal(outer.result, before + 4000);
  assert.equal(outer.peakBytes, before + 4000);
  const extra = tf.zeros([10]);
  assert.equal(tf.memory().numBytes, before + 40, 'the byte count is a plain field again');
  extra.dispose();
  assert.equal(Object.getOwnPropertyDescriptor(tf.engine().state, 'numBytes')?.writable, true);
});

test('pca2 finds the principal directions and explained variance of data built with known ones', async () => {
  const [n, d] = [200, 6];
  const stds = [5, 3, 1, 0.5, 0.2, 0.1];
  // Columns of z: centred and orthonormal; r: a rotation. Then x = z diag(s) r^T has covariance
  // r diag(s^2) r^T / (n - 1): principal directions r's columns, variances in s^2's ratios.
  const [x, r] = tf.tidy(() => {
    const raw = tf.randomNormal([n, d], 0, 1, 'float32', 3);
    const z = tf.linalg.gramSchmidt(tf.sub(raw, tf.mean(raw, 0)).transpose() as tf.Tensor2D).transpose() as tf.Tensor2D;
    const rotation = tf.linalg.gramSchmidt(tf.randomNormal([d, d], 0, 1, 'float32', 4) as tf.Tensor2D).transpose() as tf.Tensor2D;
    return [tf.add(tf.matMul(tf.mul(z, tf.tensor1d(stds)), rotation, false, true), 10), rotation];
  });
  const { points, explainedVarianceRatio, components } = await pca2(x as tf.Tensor2D);
  const total = stds.reduce((s, v) => s + v * v, 0);
  assert.ok(Math.abs(explainedVarianceRatio[0] - 25 / total) < 1e-4, `ratio ${explainedVarianceRatio[0]}`);
  assert.ok(Math.abs(explainedVarianceRatio[1] - 9 / total) < 1e-4, `ratio ${explainedVarianceRatio[1]}`);
  const rows = (await r.array()) as number[][];
  for (const k of [0, 1]) {
    const expected = rows.map((row) => row[k]);
    const dot = expected.reduce((s, v, i) => s + v * components[k][i], 0);
    assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-4, `component ${k} is off the true direction (|cos| = ${Math.abs(dot)})`);
    const largest = components[k].reduce((b, v) => (Math.abs(v) > Math.abs(b) ? v : b), 0);
    assert.ok(largest > 0, 'the largest loading is positive');
  }
  assert.equal(points.length, n);
  const variance = (k: number) => points.reduce((s, p) => s + p[k] * p[k], 0) / (n - 1);
  assert.ok(Math.abs(variance(0) - 25 / (n - 1)) < 1e-3 && Math.abs(variance(1) - 9 / (n - 1)) < 1e-3);
  tf.dispose([x, r]);
  await assert.rejects(pca2(tf.zeros([1, 3]) as tf.Tensor2D), /at least 2 rows/);
});
