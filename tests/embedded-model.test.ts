/**
 * The embedded model (models/finetune-lab-bert), which every notebook and command uses when no
 * other model is named: it loads offline as a masked-language model with no missing weights, and
 * its model card's figures are reproduced from the committed files: the held-out MLM figures
 * (recorded in pretraining.json by `finetune-lab pretrain`), and the test accuracies of every
 * fine-tuning method and of cloze prompting with the default settings (recorded in
 * finetuning-results.json by `npm run tutorial`, which ran the notebooks with them).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { fromPretrained } from '../src/bert/pretrained.js';
import { EMBEDDED_MODEL } from '../src/package/root.js';
import { heldOutMlm } from '../src/pretrain/index.js';
import { evaluateTemplate, fillMask, SENTIMENT_TEMPLATES, SENTIMENT_VERBALIZER } from '../src/prompting/index.js';
import { finetune, METHODS } from '../src/finetune/index.js';
import { loadImdb } from '../src/data/imdb.js';
import { splitDataset } from '../src/data/split.js';
import { readResults } from '../src/course/results.js';
import { loadSettings } from '../src/course/settings.js';
import { courseFinetuneOptions } from '../src/course/runs.js';
import { curveSettings, type Curve } from '../src/course/curve.js';

const readJson = (file: string) => JSON.parse(readFileSync(join(EMBEDDED_MODEL, file), 'utf8'));
/** A test accuracy as `finetune`'s summary rounds it. */
const fourPlaces = (x: number) => Math.round(x * 1e4) / 1e4;
const record = readJson('pretraining.json');
const results = readResults(join(EMBEDDED_MODEL, 'finetuning-results.json'));
/** The default profile, whatever the environment of the test run says. */
const settings = loadSettings({});

before(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
});

test('the embedded model is small enough to ship', () => {
  const bytes = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']
    .reduce((sum, file) => sum + statSync(join(EMBEDDED_MODEL, file)).size, 0);
  assert.ok(bytes < 25e6, `${bytes} bytes`);
});

test('it loads as a masked-language model with every weight, and reproduces its recorded held-out MLM loss and accuracy', async () => {
  const { model, tokenizer, info } = await fromPretrained(EMBEDDED_MODEL, { task: 'mlm', quiet: true });
  assert.deepEqual(info.missingKeys, []);
  assert.ok(tokenizer, 'the embedded model ships its tokenizer');
  const { options, summary } = record;
  const measured = await heldOutMlm(model, tokenizer!, { seqLength: options.seqLength, heldOutTexts: options.heldOutTexts, sequences: options.evalSequences, masking: options.masking });
  assert.equal(measured.tokens, summary.eval_masked_tokens);
  assert.ok(Math.abs(measured.loss - summary.mlm_loss) < 1e-3, `held-out MLM loss ${measured.loss}, card ${summary.mlm_loss}`);
  assert.ok(Math.abs(measured.accuracy - summary.mlm_accuracy) < 1e-3, `held-out MLM accuracy ${measured.accuracy}, card ${summary.mlm_accuracy}`);
  // Well above what guessing the most common token would give (under 5% of masked tokens).
  assert.ok(measured.accuracy > 0.1, `accuracy ${measured.accuracy}`);

  const [fills] = await fillMask(model, tokenizer!, 'this movie was [MASK] and i loved every minute of it.', { topK: 5 });
  assert.equal(fills.length, 5);
  for (const fill of fills) assert.doesNotMatch(fill.token, /^\[.*\]$/, 'a special token as a fill');
  model.dispose();
});

test('as a classifier it lacks what masked-language pretraining never trains: the pooler and the classifier', async () => {
  const { model, info } = await fromPretrained(EMBEDDED_MODEL, { task: 'classification', quiet: true });
  model.dispose();
  assert.deepEqual(info.missingKeys, ['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias']);
});

test("the card's pretraining curve: every snapshot measured with the default settings, its last point the model itself", () => {
  const curve: Curve = readJson('pretraining-curve.json');
  assert.ok(curve.complete, 'every method measured on every snapshot');
  assert.deepEqual(curve.settings, curveSettings(settings), 'measured with the default profile as it is now');
  const last = curve.points[curve.points.length - 1];
  assert.deepEqual([last.steps, last.mlm_accuracy], [record.summary.steps, record.summary.mlm_accuracy]);
  for (const method of METHODS) assert.equal(last.test_accuracy[method], fourPlaces(results[method].test_accuracy), method);
  assert.equal(last.test_accuracy.prompting, results.prompting.test_accuracy);
});

test("the default profile takes the grid's recipes and the choices that won on validation", () => {
  const grid = readJson('finetuning-grid.json');
  assert.ok(grid.complete, 'every point of the grid measured');
  assert.deepEqual(settings.recipes, grid.recipes);
  const { chosen } = readJson('finetuning-choices.json');
  assert.deepEqual({ truncation: settings.truncation, pooling: settings.pooling, adapterSize: settings.adapterSize }, chosen);
});

// Each method as its notebook trained it for `npm run tutorial`, through `finetune`: the same loaders, seeds and steps.
for (const method of METHODS) {
  test(`${method} with the default settings reproduces the test accuracy on the card`, async () => {
    const card = results[method];
    assert.equal(card.profile, 'default');
    assert.equal(card.test_size, settings.testSize);
    const course = courseFinetuneOptions(settings, method);
    assert.deepEqual([card.lr, card.epochs], [course.lr, course.epochs], "the card was made with the profile's recipe");
    const { summary, model } = await finetune({ ...course, model: EMBEDDED_MODEL, backend: 'wasm', progress: false });
    model.dispose();
    assert.equal(summary.test_accuracy, fourPlaces(card.test_accuracy));
    assert.equal(summary.trainable_params, card.trainable_params);
  });
}

test('cloze prompting with the template the card names reproduces its test accuracy', async () => {
  const card = results.prompting;
  assert.equal(card.profile, 'default');
  const template = SENTIMENT_TEMPLATES.find((t) => t.name === card.template);
  assert.ok(template, `template ${card.template}`);
  const { model, tokenizer } = await fromPretrained(EMBEDDED_MODEL, { task: 'mlm', quiet: true });
  const { test: testSplit } = splitDataset(loadImdb(), settings);
  const { maxLength, truncation, headTokens, batchSize } = settings;
  const evaluation = await evaluateTemplate(model, tokenizer!, testSplit, template, SENTIMENT_VERBALIZER, { maxLength, truncation, headTokens, batchSize });
  model.dispose();
  assert.equal(card.test_size, testSplit.text.length);
  assert.equal(card.calibrated ? evaluation.calibratedAccuracy : evaluation.accuracy, card.test_accuracy);
});
