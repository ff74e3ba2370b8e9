/**
 * The pretraining curve (`finetune-lab curve`) on a tiny pretraining run with a snapshot every
 * two steps: one point per model the run kept, oldest first, each figure the same as a direct
 * course run of that model gives, saved as it is measured and not measured again, and a curve
 * file of other settings refused, but a method given another recipe measured again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { pretrain } from '../src/pretrain/index.js';
import { pretrainingText } from '../src/data/split.js';
import { finetune } from '../src/finetune/index.js';
import { accuracyAt, lastDoublings, pretrainingCurve, runModels, type Curve, type CurveMethod, type CurvePoint } from '../src/course/curve.js';
import { courseFinetuneOptions } from '../src/course/runs.js';
import { clozeSentiment } from '../src/course/prompting.js';
import { loadSettings, type Settings } from '../src/course/settings.js';

const tmp = mkdtempSync(join(tmpdir(), 'curve-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const run = join(tmp, 'run');
const env = { FINETUNE_LAB_PROFILE: 'ci', FINETUNE_LAB_TRAIN_SIZE: '32', FINETUNE_LAB_VAL_SIZE: '16', FINETUNE_LAB_TEST_SIZE: '16', FINETUNE_LAB_MAX_LENGTH: '32' };
const settings = loadSettings(env);

const PRETRAIN = {
  size: 'L1-H32-A2', steps: 6, seqLength: 32, batchSize: 4, lr: 2e-3, evalEvery: 2, saveEvery: 1, snapshotEvery: 2, logEvery: 2,
  heldOutTexts: 20, evalSequences: 16, cacheDir: join(tmp, 'cache'), outputDir: run, backend: 'wasm' as const, log: null,
};

before(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  const { model } = await pretrain({ ...PRETRAIN, texts: pretrainingText().slice(0, 120), maxSteps: 5 });
  model.dispose();
});

test('the models of a run: its snapshots oldest first, and its latest model where no snapshot is it', () => {
  assert.deepEqual(runModels(run).map((m) => [m.model, m.steps]), [['snapshots/step-2', 2], ['snapshots/step-4', 4], ['model', 5]]);
  for (const m of runModels(run)) assert.ok(m.hours > 0 && m.mlm_accuracy >= 0 && m.mlm_accuracy <= 1, JSON.stringify(m));
  assert.throws(() => runModels(tmp), /has no model with a pretraining\.json.*--output directory of a finetune-lab pretrain run/);
});

test('each figure is what a course run of that model gives; saved figures are not measured again', async () => {
  const file = join(tmp, 'curve.json');
  const seen: [string, CurveMethod, boolean][] = [];
  const onFigure = (p: CurvePoint, m: CurveMethod, saved: boolean) => seen.push([p.model, m, saved]);
  const tensors = tf.memory().numTensors;
  const curve = await pretrainingCurve({ run, settings, methods: ['frozen', 'prompting'], file, onFigure });
  assert.equal(tf.memory().numTensors, tensors, 'no run leaves its model behind');
  assert.equal(curve.complete, true);
  assert.deepEqual(seen, ['snapshots/step-2', 'snapshots/step-4', 'model'].flatMap((m) => [[m, 'frozen', false], [m, 'prompting', false]]));
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), curve);

  const latest = join(run, 'model');
  const direct = await finetune({ ...courseFinetuneOptions(settings, 'frozen'), model: latest, progress: false });
  direct.model.dispose();
  assert.equal(curve.points[2].test_accuracy.frozen, direct.summary.test_accuracy);
  assert.equal(curve.points[2].test_accuracy.prompting, (await clozeSentiment(settings, { model: latest })).test_accuracy);

  // Again with one more method: only its figures are measured.
  seen.length = 0;
  const grown = await pretrainingCurve({ run, settings, methods: ['frozen', 'prompting', 'lora'], file, onFigure });
  assert.deepEqual(seen.map(([, m, saved]) => [m, saved]), [1, 2, 3].flatMap(() => [['frozen', true], ['prompting', true], ['lora', false]]));
  assert.deepEqual(grown.points.map((p) => p.test_accuracy.frozen), curve.points.map((p) => p.test_accuracy.frozen));

  // Another recipe for one method: only that method is measured again.
  seen.length = 0;
  const recipe = { lr: 3e-3, epochs: 2 };
  const other = { ...settings, recipes: { ...settings.recipes, frozen: recipe } };
  const remeasured = await pretrainingCurve({ run, settings: other, methods: ['frozen', 'prompting', 'lora'], file, onFigure });
  assert.deepEqual(seen.map(([, m, saved]) => [m, saved]), [1, 2, 3].flatMap(() => [['frozen', false], ['prompting', true], ['lora', true]]));
  assert.deepEqual((remeasured.settings.recipes as Settings['recipes']).frozen, recipe);
  const again = await finetune({ ...courseFinetuneOptions(other, 'frozen'), model: latest, progress: false });
  again.model.dispose();
  assert.equal(remeasured.points[2].test_accuracy.frozen, again.summary.test_accuracy);
  await pretrainingCurve({ run, settings, methods: ['frozen', 'prompting', 'lora'], file });

  await assert.rejects(pretrainingCurve({ run, settings: loadSettings({ ...env, FINETUNE_LAB_SEED: '7' }), methods: ['frozen'], file }),
    /curve\.json was measured with other settings.*give another file, or the same settings to continue it/);
  const broken = join(tmp, 'broken.json');
  writeFileSync(broken, '{"settings": ');
  await assert.rejects(pretrainingCurve({ run, settings, methods: ['frozen'], file: broken }), /broken\.json is not valid JSON.*delete it to measure the curve afresh/);
});

test('a stopped curve keeps the figures it finished', async () => {
  const file = join(tmp, 'stopped.json');
  const controller = new AbortController();
  const curve = await pretrainingCurve({ run, settings, methods: ['frozen'], file, signal: controller.signal, onFigure: () => controller.abort() });
  assert.equal(curve.complete, false);
  assert.deepEqual(curve.points.map((p) => p.test_accuracy.frozen === undefined), [false, true, true]);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), curve);
});

test('after more pretraining, the curve measures the run\'s new models and keeps what it measured', async () => {
  const file = join(tmp, 'curve.json');
  const { model } = await pretrain({ ...PRETRAIN, texts: pretrainingText().slice(0, 120), resume: true });
  model.dispose();
  const seen: [string, boolean][] = [];
  const curve = await pretrainingCurve({ run, settings, methods: ['frozen'], file, onFigure: (p, _m, saved) => seen.push([p.model, saved]) });
  // The run's last step is a snapshot too, so its model is not measured twice; the model of step 5 is gone.
  assert.deepEqual(seen, [['snapshots/step-2', true], ['snapshots/step-4', true], ['snapshots/step-6', false]]);
  assert.deepEqual(curve.points.map((p) => p.steps), [2, 4, 6]);
  assert.ok(curve.points[2].hours > curve.points[1].hours);
});

test('a model gone since keeps the figures measured on it; the curve goes on with the others', async () => {
  const file = join(tmp, 'curve.json');
  const before = JSON.parse(readFileSync(file, 'utf8')) as Curve;
  renameSync(join(run, 'snapshots', 'step-2'), join(tmp, 'step-2'));
  try {
    const seen: string[] = [];
    const curve = await pretrainingCurve({ run, settings, methods: ['frozen'], file, onFigure: (p) => seen.push(p.model) });
    assert.deepEqual(seen, ['snapshots/step-4', 'snapshots/step-6']);
    assert.deepEqual(curve.points, before.points);
  } finally {
    renameSync(join(tmp, 'step-2'), join(run, 'snapshots', 'step-2'));
  }
});

test('the last two doublings: accuracy read between the models around each time, and what each doubling gained', () => {
  const point = (hours: number, test_accuracy: CurvePoint['test_accuracy']): CurvePoint => ({ model: `h${hours}`, steps: hours * 100, hours, mlm_accuracy: 0.3, test_accuracy });
  const curve: Curve = {
    settings: {},
    complete: false,
    points: [point(1, { full: 0.7, lora: 0.6 }), point(2, { full: 0.8 }), point(4, { full: 0.84, lora: 0.7 }), point(8, { full: 0.86, lora: 0.74 })],
  };
  const close = (x: number | undefined, y: number, why?: string) => assert.ok(x !== undefined && Math.abs(x - y) < 1e-12, why ?? `${x} is not ${y}`);
  close(accuracyAt(curve, 'full', 3), 0.82);
  assert.equal(accuracyAt(curve, 'full', 0.5), 0.7, 'before the first model: its figure');
  assert.equal(accuracyAt(curve, 'full', 9), 0.86, 'after the last model: its figure');
  close(accuracyAt(curve, 'lora', 2), 0.6 + 0.1 / 3, 'a model that lacks the method is passed over');
  assert.equal(accuracyAt(curve, 'prompting', 2), undefined);

  const { hours, methods } = lastDoublings(curve);
  assert.deepEqual(hours, [2, 4, 8]);
  assert.deepEqual(Object.keys(methods), ['full', 'lora'], 'only the methods measured');
  assert.deepEqual(methods.full?.accuracy, [0.8, 0.84, 0.86]);
  close(methods.full?.gains[0], 0.04);
  close(methods.full?.gains[1], 0.02);
  assert.throws(() => lastDoublings({ settings: {}, complete: true, points: [] }), /no models yet; measure it with finetune-lab curve/);
});
