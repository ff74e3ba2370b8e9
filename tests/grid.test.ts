/**
 * The grid search on the tiny reference BERT (tests/fixtures/hf-reference/tiny-bert-cls) and a
 * small slice of IMDB: every point is scored on the validation split and the test split is never
 * read, the best point per method comes with its recipe, and a search run again continues from
 * the points it saved instead of training them again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index.js';
import { finetune, gridSearch, type GridBase, type GridPoint } from '../src/finetune/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'grid-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
before(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
});

const base: GridBase = { model: 'tests/fixtures/hf-reference/tiny-bert-cls', trainSize: 48, valSize: 32, batchSize: 16, maxLength: 24, seed: 5, backend: 'wasm', progress: false };

test('finetune with a test split of 0 scores validation only', async () => {
  const { summary, test: testEval } = await finetune({ ...base, method: 'frozen', epochs: 1, testSize: 0 });
  assert.equal(summary.test_size, 0);
  assert.ok(Number.isNaN(summary.test_accuracy) && Number.isNaN(summary.test_f1));
  assert.equal(testEval, undefined);
  assert.ok(summary.val_accuracy >= 0 && summary.val_accuracy <= 1);
});

test('a two-point search keeps every point, the better one as the best, and continues from what it saved', async () => {
  const dir = join(tmp, 'search');
  const seen: [GridPoint, boolean][] = [];
  const grid = { frozen: { lrs: [1e-4, 3e-3], epochs: [1] } };
  const tensors = tf.memory().numTensors;
  const report = await gridSearch({ base, grid, dir, onPoint: (p, cached) => seen.push([p, cached]) });
  assert.equal(tf.memory().numTensors, tensors, 'no run of the search leaves its model behind');
  assert.equal(report.complete, true);
  assert.deepEqual(report.points.map((p) => [p.method, p.lr, p.epochs]), [['frozen', 1e-4, 1], ['frozen', 3e-3, 1]]);
  assert.deepEqual(seen.map(([, cached]) => cached), [false, false]);
  const [a, b] = report.points;
  const winner = a.val_accuracy !== b.val_accuracy ? (a.val_accuracy > b.val_accuracy ? a : b) : a.val_loss <= b.val_loss ? a : b;
  assert.deepEqual(report.best, { frozen: winner });
  assert.deepEqual(report.recipes, { frozen: { lr: winner.lr, epochs: winner.epochs } });
  for (const p of report.points) assert.ok(p.steps === 3 && p.val_loss > 0 && p.val_accuracy >= 0 && p.val_accuracy <= 1, JSON.stringify(p));
  assert.notEqual(a.val_loss, b.val_loss, 'two learning rates, two results');
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'grid.json'), 'utf8')), report);
  assert.deepEqual(readdirSync(join(dir, 'points')).sort(), ['frozen-lr0.0001-epochs1.json', 'frozen-lr0.003-epochs1.json']);

  // Run again with one more point: the two saved ones are not trained again.
  seen.length = 0;
  const grown = await gridSearch({ base, grid: { frozen: { lrs: [1e-4, 3e-3], epochs: [1] }, lora: { lrs: [1e-3], epochs: [1] } }, dir, onPoint: (p, cached) => seen.push([p, cached]) });
  assert.deepEqual(seen.map(([p, cached]) => [p.method, cached]), [['frozen', true], ['frozen', true], ['lora', false]]);
  assert.deepEqual(grown.points.slice(0, 2), report.points);
  assert.deepEqual(Object.keys(grown.recipes), ['frozen', 'lora']);
});

test('a stopped search keeps what it finished; saved points of other settings are refused', async () => {
  const dir = join(tmp, 'stopped');
  const controller = new AbortController();
  const grid = { frozen: { lrs: [1e-3], epochs: [1, 2] } };
  const stopped = await gridSearch({ base, grid, dir, signal: controller.signal, onPoint: () => controller.abort() });
  assert.equal(stopped.complete, false);
  assert.equal(stopped.points.length, 1);
  assert.equal(JSON.parse(readFileSync(join(dir, 'grid.json'), 'utf8')).complete, false);
  const resumed = await gridSearch({ base, grid, dir });
  assert.equal(resumed.complete, true);
  assert.deepEqual(resumed.points[0], stopped.points[0]);
  assert.equal(resumed.points[1].epochs, 2);
  await assert.rejects(gridSearch({ base: { ...base, seed: 6 }, grid, dir }), /frozen-lr0\.001-epochs1\.json was saved by a search with other settings .*give another directory, or delete/);
  assert.ok(!existsSync(join(dir, 'run.lock')), 'the lock is given back after an error');
  await assert.rejects(gridSearch({ base, grid: { full: { lrs: [], epochs: [1] } }, dir }), /gives full no learning rates; give at least one/);
});
