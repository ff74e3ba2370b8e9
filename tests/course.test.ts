// The course layer: notebook 07's comparison, FAQ and charts on made-up ledgers, the method
// notebooks' recording and table helpers, and the settings reaching the library only through the
// course (the library itself reads no settings).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BaselineSummary } from '../src/baseline/index.js';
import type { Splits } from '../src/data/split.js';
import { accuracyFigure, costFigure, tradeoffFigure, trainableFigure } from '../src/course/charts.js';
import { compareMethods, comparisonTable, ledgerFor, ledgerReport, noiseMargin, settingsWarnings, type Comparison } from '../src/course/comparison.js';
import { faqAllWeights, faqBaseline, faqCost, faqPreamble, faqPrompting } from '../src/course/faq.js';
import type { MethodResult } from '../src/course/results.js';
import { readResults } from '../src/course/results.js';
import { recordRun } from '../src/course/runs.js';
import { backendOptions, loadSettings, type Settings } from '../src/course/settings.js';
import { fileRows, historyRows, predictionRows } from '../src/course/tables.js';

const ROOT = join(__dirname, '..');

/** 200 training and 100 test reviews, 60 of them positive: chance is 60%, the noise ±10 points. */
const splits: Splits = {
  train: { text: Array(200).fill('a review'), label: Array(200).fill(0), labelNames: ['negative', 'positive'] },
  validation: { text: ['a review'], label: [0], labelNames: ['negative', 'positive'] },
  test: { text: Array(100).fill('a review'), label: [...Array(60).fill(1), ...Array(40).fill(0)], labelNames: ['negative', 'positive'] },
};

const baseline = (accuracy: number): BaselineSummary => ({
  method: 'bag-of-words', vocabulary_size: 5000, trainable_params: 10_002, total_params: 10_002, train_size: 200, train_seconds: 0.5,
  train_samples_per_s: 400, peak_memory_bytes: 2 ** 20, val_accuracy: accuracy, test_size: 100, test_accuracy: accuracy, test_f1: accuracy,
});

const SIZES: Record<string, { trainable: number; seconds: number; mib: number }> = {
  frozen: { trainable: 67_074, seconds: 10, mib: 40 },
  full: { trainable: 4_386_178, seconds: 100, mib: 400 },
  adapter: { trainable: 10_018, seconds: 50, mib: 120 },
  lora: { trainable: 8_450, seconds: 40, mib: 110 },
  prompting: { trainable: 0, seconds: 0, mib: 50 },
};

function result(method: string, accuracy: number, fields: Partial<MethodResult> = {}): MethodResult {
  const size = SIZES[method] ?? SIZES.adapter;
  return {
    test_accuracy: accuracy, test_f1: accuracy, trainable_params: size.trainable, total_params: 4_394_370, train_seconds: size.seconds,
    train_samples_per_s: size.seconds > 0 ? 400 / size.seconds : 0, peak_memory_bytes: size.mib * 2 ** 20, profile: 'default',
    model: '/somewhere/models/finetune-lab-bert', backend: 'wasm', train_size: 200, test_size: 100, max_length: 128, ...fields,
  };
}

const SETTINGS = { profile: 'default', epochs: 2, maxLength: 128 } as const;

/** The comparison of `accuracies` (method: test accuracy) with a baseline of `baselineAccuracy`. */
function comparison(accuracies: Record<string, number>, baselineAccuracy = 0.8, settings: Comparison['settings'] = SETTINGS): Comparison {
  const results = Object.fromEntries(Object.entries(accuracies).map(([m, a]) => [m, result(m, a, { profile: settings.profile })]));
  return compareMethods(ledgerFor(results, settings.profile).recorded, baseline(baselineAccuracy), splits, settings);
}

test('the ledger report says when nothing is recorded, what another profile made and what is missing', () => {
  assert.deepEqual(ledgerReport(ledgerFor({}, 'ci'), '/tmp/results.json'), [
    'NO RESULTS YET: nothing is recorded for the "ci" profile in /tmp/results.json.',
    'Notebooks 03 to 06 record them: run those first, or run `npm run tutorial`, which executes every notebook in order.',
    'Until then this notebook can only show the bag-of-words baseline.',
  ]);
  const partial = ledgerFor({ frozen: result('frozen', 0.7, { profile: 'ci' }), full: result('full', 0.9), old: result('lora', 0.8, { profile: undefined }) }, 'ci');
  assert.deepEqual(partial.recorded.map(([m]) => m), ['frozen']);
  assert.deepEqual(ledgerReport(partial), [
    'Left out, recorded under another profile: full (default), old (no profile)',
    'Recorded for the "ci" profile: frozen features',
    'Not recorded: full fine-tuning (notebook 04), adapters (notebook 05), LoRA (notebook 05), cloze prompting (notebook 06)',
  ]);
  const all = Object.fromEntries(Object.keys(SIZES).map((m) => [m, result(m, 0.7)]));
  assert.deepEqual(ledgerReport(ledgerFor(all, 'default')), ['Recorded for the "default" profile: frozen features, full fine-tuning, adapters, LoRA, cloze prompting']);
});

test('results recorded with other sizes or another sequence length are flagged', () => {
  const recorded = ledgerFor({ full: result('full', 0.9, { train_size: 100, max_length: 64 }), lora: result('lora', 0.9), custom: result('x', 0.5, { train_size: undefined }) }, 'default').recorded;
  assert.deepEqual(settingsWarnings(recorded, { train_size: 200, test_size: 100, max_length: 128 }), [
    'WARNING full fine-tuning was recorded with other settings: train_size 100 (now 200), max_length 64 (now 128)',
  ]);
});

test('the comparison puts the course methods in order, unknown ones after them, the baseline last', () => {
  const c = comparison({ custom: 0.7, prompting: 0.6, lora: 0.8, frozen: 0.75 });
  assert.deepEqual(c.rows.map((r) => r.name), ['frozen features', 'LoRA', 'cloze prompting', 'custom', 'bag-of-words baseline']);
  assert.equal(c.baseline, c.rows.at(-1));
  assert.equal(c.chance, 0.6);
  assert.equal(c.margin, noiseMargin(100));
  assert.equal(c.margin, 0.1);
  assert.deepEqual([c.trainSize, c.testSize], [200, 100]);
  assert.equal(c.rows[0].model, '/somewhere/models/finetune-lab-bert');
  assert.deepEqual(comparisonTable(c.rows)[1], {
    method: 'LoRA', 'test accuracy': 80, 'test F1': 0.8, trainable: 8450, 'of all weights': '0.192%', 'training s': 40, 'reviews/s': 10, 'peak memory MiB': 110,
  });
  // A result without train_size counts the split's training reviews.
  const missing = compareMethods([['full', result('full', 0.9, { train_size: undefined })]], baseline(0.8), splits, SETTINGS);
  assert.equal(missing.rows[0].trainSize, 200);
});

test('with the baseline alone, every answer says what it still needs', () => {
  const c = comparison({});
  assert.deepEqual(c.rows.map((r) => r.method), ['bag-of-words']);
  assert.match(faqPreamble(c), /^No fine-tuning method is recorded for this profile/);
  assert.equal(faqBaseline(c), 'Not measured yet: the baseline alone scored 80.0%.');
  assert.match(faqPrompting(c), /^Prompting \(notebook 06\) is not recorded/);
  assert.match(faqAllWeights(c), /^This needs full fine-tuning \(notebook 04\)/);
  assert.equal(faqCost(c), '- **bag-of-words baseline**: 200 labelled reviews, 0.5 s of training (400.0 reviews/s), peak memory 1 MiB.');
});

test('prompting alone is reported with nothing to compare it with', () => {
  const c = comparison({ prompting: 0.75 });
  assert.equal(faqPrompting(c), 'Prompting scored 75.0% without training anything; no fine-tuned method is recorded to compare it with.');
  assert.match(faqCost(c), /- \*\*cloze prompting\*\*: no labelled training reviews, 0\.0 s of training, peak memory 50 MiB\./);
});

test('when no method beats chance by more than the noise, the answers say so instead of ranking noise', () => {
  const c = comparison({ full: 0.62, lora: 0.61, prompting: 0.58 }, 0.8, { profile: 'ci', epochs: 1, maxLength: 64 });
  assert.equal(faqPreamble(c), '**Read with care:** no BERT method beat chance (60.0%) by more than the noise on this run (best: full fine-tuning, 62.0%). ' +
    'With the "ci" profile (200 training reviews, 1 epoch, maxLength 64) there is too little training for the methods to differ; run the `default` profile for numbers that mean something.');
  assert.match(faqPrompting(c), /^Not answerable from this run: neither prompting \(58\.0%\) nor the best fine-tuned method \(full fine-tuning, 62\.0%\)/);
  assert.match(faqAllWeights(c), /^Not answerable from this run: full fine-tuning itself scored 62\.0%/);
  assert.match(faqBaseline(c), /No BERT method clearly beat the baseline on this run\..*this run's: finetune-lab-bert, 4,394,370 weights/);
});

test('a run where fine-tuning learnt: the best method, what beat the baseline, what labels bought, the cheapest match for full', () => {
  const c = comparison({ frozen: 0.75, full: 0.92, adapter: 0.9, lora: 0.88, prompting: 0.65 });
  assert.equal(faqPreamble(c), 'All numbers below come from the "default" profile: 200 training reviews, 100 test reviews.');
  assert.equal(faqBaseline(c).split('\n\n')[0], 'The best BERT method here, **full fine-tuning**, scored 92.0%: 12.0 points better than the bag-of-words baseline (80.0%), which trained in 0.5 s against 100.0 s.');
  assert.match(faqBaseline(c), /Methods that clearly beat the baseline: full fine-tuning\. /);
  const prompting = faqPrompting(c).split('\n\n');
  assert.equal(prompting[0], 'Cloze prompting trained 0 weights and needed no labelled training reviews; it scored 65.0%, within the noise of (5.0 points from) chance and 15.0 points worse than the bag-of-words baseline.');
  assert.equal(prompting[2], 'So: **fine-tune when you have labelled examples** (here 200 of them bought 27.0 points). Prompt when you have none, or need an answer before any training.');
  const weights = faqAllWeights(c).split('\n');
  assert.deepEqual(weights.filter((l) => l.startsWith('- ')).map((l) => l.match(/\*\*(.*?)\*\*/)![1]), ['frozen features', 'adapters', 'LoRA']);
  assert.match(weights[0], /trained 1\.5% of the weights \(67,074\) and scored 75\.0%, 17\.0 points worse than full fine-tuning; training took 10\.0 s \(full: 100\.0 s\) and peaked at 40 MiB \(full: 400 MiB\)/);
  // Adapters and LoRA are both within the noise of full fine-tuning; LoRA trains fewer weights.
  assert.match(weights.at(-1)!, /^So: \*\*no\.\*\* LoRA matched full fine-tuning \(within the noise\) while training 0\.19% of the weights\./);
  const cost = faqCost(c).split('\n');
  assert.ok(cost.includes('The slowest, full fine-tuning, took 200 times as long as the fastest, bag-of-words baseline. Memory ranged from 1 MiB to 400 MiB.'), cost.join('\n'));
  assert.ok(cost.some((l) => l.startsWith('Full fine-tuning needed the most memory (400 MiB)')));
  assert.equal(cost.at(-1), 'Measured on the wasm backend: times change with the hardware, accuracies should not.');
});

test('a run where prompting is as good and nothing that trains less matches full fine-tuning', () => {
  const c = comparison({ frozen: 0.7, full: 0.9, prompting: 0.85 }, 0.88);
  assert.match(faqPrompting(c), /Here fine-tuning did not pay for itself: prompting was as good without any labelled data\./);
  assert.match(faqPrompting(c), /to score 90\.0%: within the noise of \(5\.0 points from\) prompting\./);
  assert.match(faqBaseline(c), /No BERT method clearly beat the baseline on this run\./);
  assert.match(faqAllWeights(c), /\n\nHere, yes: full fine-tuning \(90\.0%\) beat every method that trains fewer weights by more than the noise\.$/);
});

test('the charts mark chance and the baseline, show the noise, and label what trains nothing', () => {
  const c = comparison({ full: 0.9, prompting: 0.7 });
  const accuracy = accuracyFigure(c) as { data: { y: number[]; error_y: { value: number } }[]; layout: { shapes: { y0: number }[]; title: { text: string } } };
  assert.deepEqual(accuracy.data[0].y, [0.9, 0.7, 0.8]);
  assert.equal(accuracy.data[0].error_y.value, 0.1);
  assert.deepEqual(accuracy.layout.shapes.map((s) => s.y0), [0.6, 0.8]);
  assert.equal(accuracy.layout.title.text, 'Test accuracy (100 test reviews, ±10.0 points noise)');
  const trainable = trainableFigure(c) as { data: { y: (number | null)[] }[]; layout: { annotations: { x: string; text: string }[] } };
  assert.deepEqual(trainable.data[0].y, [4_386_178, null, 10_002]);
  assert.deepEqual(trainable.layout.annotations.map((a) => [a.x, a.text]), [['cloze prompting', '0: nothing trained']]);
  const cost = costFigure(c) as { data: { y: number[] }[] };
  assert.deepEqual(cost.data[0].y, [100, 0.01, 0.5], 'a log axis cannot show 0 s');
  const tradeoff = tradeoffFigure(c) as { data: { name: string; x: number[]; y: number[] }[] };
  assert.deepEqual(tradeoff.data.map((d) => [d.name, d.x[0], d.y[0]]), [['full fine-tuning', 100, 0.9], ['cloze prompting', 0.01, 0.7], ['bag-of-words baseline', 0.5, 0.8]]);
});

test('recordRun stores the seven figures with the settings and returns the entry', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'course-')), 'results.json');
  const settings = loadSettings({ FINETUNE_LAB_PROFILE: 'ci' });
  const fit = { history: [{ epoch: 1 }, { epoch: 2 }] as never, trainSeconds: 4, trainSamplesPerSecond: 128 };
  const run = { settings, model: 'models/x', lr: 1e-3, counts: { trainable: 10, total: 100 }, fit, test: { accuracy: 0.75, f1: 0.7 }, peakBytes: 2048, trainSize: 256, testSize: 128 };
  const entry = recordRun('full', run, file);
  // No backend was chosen in this process: the entry has none.
  assert.deepEqual({ ...entry, recorded_at: undefined }, {
    test_accuracy: 0.75, test_f1: 0.7, trainable_params: 10, total_params: 100, train_seconds: 4, train_samples_per_s: 128, peak_memory_bytes: 2048,
    profile: 'ci', model: 'models/x', epochs: 2, train_size: 256, test_size: 128, max_length: 64, lr: 1e-3, recorded_at: undefined,
  });
  assert.deepEqual(readResults(file).full, entry);
  // Frozen features add BERT's pass to the time; the throughput follows from it.
  const frozen = recordRun('frozen', { ...run, trainSeconds: 8 }, file);
  assert.deepEqual([frozen.train_seconds, frozen.train_samples_per_s], [8, (2 * 256) / 8]);
  assert.deepEqual(Object.keys(readResults(file)), ['full', 'frozen']);
});

test('the method notebooks\' table rows', () => {
  const epoch = { epoch: 1, trainLoss: 0.693147, valLoss: 0.68412, valAccuracy: 0.54687, valF1: 0.58011, lr: 1e-4, seconds: 12.345, samplesPerSecond: 20.74 };
  assert.deepEqual(historyRows([epoch]), [{ epoch: 1, 'train loss': 0.6931, 'val loss': 0.6841, 'val accuracy': 0.547, 'val F1': 0.58, seconds: 12.3, 'samples/s': 20.7 }]);
  const text = 'An absolute delight from start to finish. The cast is wonderful and the story moved me to tears.';
  assert.deepEqual(predictionRows([{ text, label: 1, labelName: 'positive', probabilities: [0.1234, 0.8766] }]), [
    { review: `${text.slice(0, 70)}…`, prediction: 'positive', 'P(positive)': 0.877 },
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'course-files-'));
  writeFileSync(join(dir, 'config.json'), 'x'.repeat(1536));
  assert.deepEqual(fileRows(dir), [{ file: 'config.json', kB: 1.5 }]);
});

test('the settings: truncation and head tokens, and each method\'s learning rate and epochs', () => {
  const ci = loadSettings({ FINETUNE_LAB_PROFILE: 'ci' });
  assert.deepEqual([ci.truncation, ci.headTokens], ['head', undefined]);
  assert.deepEqual(ci.recipes, { frozen: { lr: 1e-3, epochs: 1 }, full: { lr: 5e-4, epochs: 1 }, adapter: { lr: 1e-3, epochs: 1 }, lora: { lr: 1e-3, epochs: 1 } }, "the methods' own learning rates, the profile's epochs");
  const article = loadSettings({ FINETUNE_LAB_PROFILE: 'article' });
  assert.deepEqual(article.recipes.full, { lr: 1e-5, epochs: 5 }, "a profile's learningRate is every method's");
  const forced = loadSettings({ FINETUNE_LAB_TRUNCATION: 'head+tail', FINETUNE_LAB_HEAD_TOKENS: '16', FINETUNE_LAB_LR: '3e-4', FINETUNE_LAB_EPOCHS: '3' });
  assert.deepEqual([forced.truncation, forced.headTokens, forced.learningRate, forced.epochs], ['head+tail', 16, 3e-4, 3]);
  assert.deepEqual(new Set(Object.values(forced.recipes).map((r) => JSON.stringify(r))), new Set([JSON.stringify({ lr: 3e-4, epochs: 3 })]), 'the variables override every method');
  assert.throws(() => loadSettings({ FINETUNE_LAB_TRUNCATION: 'tail' }), /FINETUNE_LAB_TRUNCATION="tail" is not a truncation; use one of head, head\+tail or unset it/);
  assert.equal(ci.pooling, 'cls');
  assert.equal(ci.adapterSize, undefined, "the library's default size");
  assert.equal(loadSettings({ FINETUNE_LAB_ADAPTER_SIZE: '32' }).adapterSize, 32);
  assert.equal(loadSettings({ FINETUNE_LAB_POOLING: 'mean' }).pooling, 'mean');
  assert.throws(() => loadSettings({ FINETUNE_LAB_POOLING: 'max' }), /FINETUNE_LAB_POOLING="max" is not a pooling; use one of cls, mean or unset it/);
});

test('the course hands its backend settings to initBackend; an explicit choice wins', () => {
  const settings: Settings = { ...loadSettings({}), backend: 'cpu', threads: 1 };
  assert.deepEqual(backendOptions(settings), { backend: 'cpu', forcedBy: 'FINETUNE_LAB_BACKEND', threads: 1 });
  assert.deepEqual(backendOptions(settings, { backend: 'wasm', quiet: true }), { backend: 'wasm', forcedBy: undefined, threads: 1, quiet: true });
  assert.deepEqual(backendOptions(loadSettings({}), { threads: 2 }), { backend: undefined, forcedBy: undefined, threads: 2 });
  assert.equal(loadSettings({ FINETUNE_LAB_BACKEND: 'webgpu' }).backend, 'webgpu');
  assert.throws(() => loadSettings({ FINETUNE_LAB_BACKEND: 'nope' }), /FINETUNE_LAB_BACKEND="nope" is not a backend; use one of tensorflow, webgpu, wasm, cpu/);
});

test('the library ignores FINETUNE_LAB_BACKEND; the course passes it on', () => {
  const script = `
    const { initBackend } = require('./src/backend/index.ts');
    const { backendOptions, loadSettings } = require('./src/course/settings.ts');
    (async () => {
      const library = await initBackend({ quiet: true });
      const course = await initBackend(backendOptions(loadSettings(), { quiet: true }));
      console.log(JSON.stringify({ library: library.reason, course: [course.name, course.reason] }));
    })();`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FINETUNE_LAB_BACKEND: 'cpu' } });
  const seen = JSON.parse(out.trim().split('\n').pop()!);
  assert.match(seen.library, /^chosen automatically/);
  assert.deepEqual(seen.course, ['cpu', 'forced by FINETUNE_LAB_BACKEND']);
});
