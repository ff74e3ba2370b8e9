/**
 * AdamW against torch.optim.AdamW over several steps (tests/fixtures/adamw-torch.json, written by
 * tests/fixtures/make_adamw_reference.py): parameter groups, a learning-rate change, a parameter
 * without gradient for one step, tiny gradients (eps), and a resume from exported state.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { AdamW, trainerParamGroups, type AdamWState } from '../src/train/optimizer.js';
import { clipByGlobalNorm } from '../src/train/step.js';
import { mulberry32 } from '../src/data/random.js';

interface Step {
  lr: number;
  grads: Record<string, number[] | null>;
  params_after: Record<string, number[]>;
}
const ref = JSON.parse(readFileSync('tests/fixtures/adamw-torch.json', 'utf8')) as {
  betas: [number, number];
  eps: number;
  weight_decay: number;
  shapes: Record<string, number[]>;
  initial: Record<string, number[]>;
  steps: Step[];
  final_state: Record<string, { step: number; exp_avg: number[]; exp_avg_sq: number[] }>;
};

function makeParams(): [string, tf.Variable][] {
  return Object.entries(ref.initial).map(([name, data]) => [name, tf.variable(tf.tensor(data, ref.shapes[name]))]);
}

function makeOptimizer(params: [string, tf.Variable][]): AdamW {
  return new AdamW(trainerParamGroups(params, ref.weight_decay), { lr: ref.steps[0].lr, betas: ref.betas, eps: ref.eps });
}

/** Runs the fixture's steps [from, to) and checks the parameters after each. */
async function runSteps(optimizer: AdamW, params: [string, tf.Variable][], from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const step = ref.steps[i];
    optimizer.lr = step.lr;
    const grads = new Map<string, tf.Tensor>();
    for (const [name, g] of Object.entries(step.grads)) if (g) grads.set(name, tf.tensor(g, ref.shapes[name]));
    optimizer.applyGradients(grads);
    tf.dispose([...grads.values()]);
    for (const [name, v] of params) {
      const actual = await v.data();
      step.params_after[name].forEach((x, j) => assert.ok(Math.abs(actual[j] - x) <= 1e-6, `step ${i + 1} ${name}[${j}]: ${actual[j]} vs ${x}`));
    }
  }
}

// cpu keeps the moments in host arrays (as wasm does), webgpu as tensors: both paths are checked.
for (const backend of ['cpu', 'webgpu'] as BackendName[]) describe(`AdamW matches torch.optim.AdamW on ${backend}`, () => {
  before(async () => {
    await initBackend({ backend, quiet: true });
  });

  test("trainerParamGroups: no decay for biases and LayerNorm, as transformers' Trainer", () => {
    const params = makeParams();
    const [decay, noDecay] = trainerParamGroups(params, 0.01);
    assert.deepEqual(decay.params.map(([n]) => n), ['encoder.dense.weight']);
    assert.deepEqual(noDecay.params.map(([n]) => n), ['encoder.dense.bias', 'encoder.LayerNorm.weight']);
    assert.equal(noDecay.weightDecay, 0);
    tf.dispose(params.map(([, v]) => v));
  });

  test('six steps with groups, an lr change, a skipped gradient and tiny gradients, within 1e-6; state as torch', async () => {
    const params = makeParams();
    const optimizer = makeOptimizer(params);
    await runSteps(optimizer, params, 0, ref.steps.length);
    const state = await optimizer.exportState();
    const byName = new Map(state.tensors.map((t) => [t.name, t.data]));
    for (const [name, s] of Object.entries(ref.final_state)) {
      assert.equal(byName.get(`${name}.step`)![0], s.step, `${name} step`);
      s.exp_avg.forEach((x, j) => assert.ok(Math.abs(byName.get(`${name}.exp_avg`)![j] - x) <= 1e-7));
      s.exp_avg_sq.forEach((x, j) => assert.ok(Math.abs(byName.get(`${name}.exp_avg_sq`)![j] - x) <= 1e-9 + 1e-6 * x, `${name} exp_avg_sq[${j}]: ${byName.get(`${name}.exp_avg_sq`)![j]} vs ${x}`));
    }
    assert.equal(state.step, ref.steps.length);
    optimizer.dispose();
    tf.dispose(params.map(([, v]) => v));
  });

  test('resuming from exported state continues exactly', async () => {
    const params = makeParams();
    const first = makeOptimizer(params);
    await runSteps(first, params, 0, 3);
    const saved: AdamWState = await first.exportState();
    first.dispose();
    const resumed = makeOptimizer(params);
    resumed.importState(saved);
    assert.equal(resumed.step, 3);
    await runSteps(resumed, params, 3, ref.steps.length);
    resumed.dispose();
    tf.dispose(params.map(([, v]) => v));
  });

  test("clipByGlobalNorm over 50 gradients (more than a webgpu shader may bind) scales them as torch's clip_grad_norm_", async () => {
    const random = mulberry32(11);
    const values = Array.from({ length: 50 }, (_, i) => Array.from({ length: 3 + (i % 5) }, () => random() - 0.5));
    const norm = Math.sqrt(values.flat().reduce((sum, x) => sum + x * x, 0));
    for (const maxNorm of [0.5, 100]) {
      const clipped = clipByGlobalNorm(new Map(values.map((v, i) => [`p${i}`, tf.tensor1d(v)])), maxNorm);
      const scale = Math.min(1, maxNorm / (norm + 1e-6));
      for (const [i, v] of values.entries()) {
        const got = await clipped.get(`p${i}`)!.data();
        v.forEach((x, j) => assert.ok(Math.abs(got[j] - x * scale) <= 1e-6, `max norm ${maxNorm}, p${i}[${j}]: ${got[j]} vs ${x * scale}`));
      }
      tf.dispose([...clipped.values()]);
    }
  });

  test('a step allocates nothing that outlives it', () => {
    const params = makeParams();
    const optimizer = makeOptimizer(params);
    const grads = () => new Map(params.map(([name, v]) => [name, tf.onesLike(v)]));
    const step = () => {
      const g = grads();
      optimizer.applyGradients(g);
      tf.dispose([...g.values()]);
    };
    step(); // creates the moments
    const tensors = tf.memory().numTensors;
    step();
    assert.equal(tf.memory().numTensors, tensors);
    assert.throws(() => optimizer.applyGradients(new Map([['nope', tf.scalar(1)]])), /gradient for nope/);
    optimizer.dispose();
    tf.dispose(params.map(([, v]) => v));
  });
});
