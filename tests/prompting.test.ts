// Cloze prompting on the tiny-bert fixture (a BertForPreTraining with random weights, loaded as
// BertForMaskedLM): the mechanics, checked against a direct forward pass.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fromPretrained } from '../src/bert/pretrained.js';
import type { BertForMaskedLM } from '../src/bert/heads.js';
import { BertTokenizer } from '../src/tokenizer/index.js';
import {
  buildPrompt, calibrate, chooseTemplate, classLogProbs, clozeScores, CONTENT_FREE_INPUTS, contentFreePrior, evaluateTemplate, fillMask,
  SENTIMENT_TEMPLATES, SENTIMENT_VERBALIZER, verbalizerIds,
} from '../src/prompting/index.js';

const FIXTURE = 'tests/fixtures/hf-reference/tiny-bert';
let model: BertForMaskedLM;
let tokenizer: BertTokenizer;

before(async () => {
  const loaded = await fromPretrained(FIXTURE, { task: 'mlm', backend: 'cpu', quiet: true });
  model = loaded.model;
  tokenizer = loaded.tokenizer!;
});

const LONG_REVIEW = Array.from({ length: 80 }, (_, i) => `sentence ${i} of a very long review about the plot and the acting.`).join(' ');

test('the prompt keeps the whole template and its [MASK]; only the review is cut', () => {
  for (const template of SENTIMENT_TEMPLATES) {
    const prompt = buildPrompt(tokenizer, template, LONG_REVIEW, 64);
    assert.equal(prompt.inputIds.length, 64, template.name);
    assert.equal(prompt.inputIds[prompt.maskPosition], tokenizer.maskTokenId, template.name);
    assert.equal(prompt.inputIds.filter((id) => id === tokenizer.maskTokenId).length, 1);
    assert.ok(prompt.droppedTokens > 0);
    const text = tokenizer.decode(prompt.inputIds, { skipSpecialTokens: false });
    const [before, after] = template.text.split('{review}');
    // The template's words survive at both ends (decode puts spaces around [MASK] and before punctuation).
    const squash = (s: string) => s.replace(/\s+/g, '').toLowerCase();
    assert.ok(squash(text).startsWith(squash(`[CLS]${before}`)), `${template.name}: ${text}`);
    assert.ok(squash(text).endsWith(squash(`${after}[SEP]`)), `${template.name}: ${text}`);
  }
  const short = buildPrompt(tokenizer, SENTIMENT_TEMPLATES[0], 'A fine film.', 64);
  assert.equal(short.droppedTokens, 0);
  assert.deepEqual(tokenizer.convertIdsToTokens(short.inputIds), ['[CLS]', 'a', 'fine', 'film', '.', 'overall', ',', 'the', 'movie', 'was', '[MASK]', '.', '[SEP]']);
  // head+tail cuts the review in its middle: its start and its end stay next to the template.
  const words = tokenizer.convertTokensToIds(tokenizer.tokenize(LONG_REVIEW));
  const template = SENTIMENT_TEMPLATES[0];
  const headTail = buildPrompt(tokenizer, template, LONG_REVIEW, 64, { truncation: 'head+tail', headTokens: 10 });
  const after = tokenizer.convertTokensToIds(tokenizer.tokenize(' Overall, the movie was [MASK].'));
  const budget = 64 - 2 - after.length;
  assert.deepEqual(headTail.inputIds, [tokenizer.clsTokenId, ...words.slice(0, 10), ...words.slice(words.length - (budget - 10)), ...after, tokenizer.sepTokenId]);
  assert.equal(headTail.inputIds[headTail.maskPosition], tokenizer.maskTokenId);
  assert.equal(headTail.droppedTokens, words.length - budget);
  assert.throws(() => buildPrompt(tokenizer, SENTIMENT_TEMPLATES[4], 'x', 12), /no room for the review/);
  assert.throws(() => buildPrompt(tokenizer, { name: 'bad', text: '{review} no blank' }, 'x', 64), /\[MASK\] once/);
  assert.throws(() => verbalizerIds(tokenizer, [['unbelievably']]), /one token/);
});

test('cloze scores are the log of the summed probabilities of the class words at [MASK], as a direct forward pass gives', async () => {
  const reviews = ['A fine film.', LONG_REVIEW, 'Dull. I left early.'];
  const template = SENTIMENT_TEMPLATES[0];
  const scores = await clozeScores(model, tokenizer, reviews, template, SENTIMENT_VERBALIZER, { maxLength: 64, batchSize: 2 });
  const ids = verbalizerIds(tokenizer, SENTIMENT_VERBALIZER);
  for (const [i, review] of reviews.entries()) {
    const prompt = buildPrompt(tokenizer, template, review, 64);
    const out = model.forward({ inputIds: [prompt.inputIds] });
    const logProbs = (await tf.logSoftmax(out.logits.slice([0, prompt.maskPosition, 0], [1, 1, -1]).reshape([-1])).array()) as number[];
    tf.dispose([out.logits, out.lastHiddenState]);
    const expected = ids.map((words) => Math.log(words.reduce((sum, id) => sum + Math.exp(logProbs[id]), 0)));
    scores[i].forEach((s, c) => {
      assert.ok(Number.isFinite(s));
      assert.ok(Math.abs(s - expected[c]) < 1e-4, `review ${i} class ${c}: ${s} vs ${expected[c]}`);
    });
  }
});

test('contextual calibration divides the class probabilities by the content-free ones', async () => {
  const template = SENTIMENT_TEMPLATES[1];
  const prior = await contentFreePrior(model, tokenizer, template, SENTIMENT_VERBALIZER, { maxLength: 64 });
  const free = await clozeScores(model, tokenizer, CONTENT_FREE_INPUTS, template, SENTIMENT_VERBALIZER, { maxLength: 64 });
  const mean = [0, 1].map((c) => free.reduce((sum, row) => sum + Math.exp(classLogProbs(row)[c]), 0) / free.length);
  prior.forEach((p, c) => assert.ok(Math.abs(p - mean[c]) < 1e-12));
  assert.ok(Math.abs(prior[0] + prior[1] - 1) < 1e-12);

  const scores = [[-3, -5], [-7, -6.5]];
  const calibrated = calibrate(scores, [0.9, 0.1]);
  scores.forEach((row, i) => {
    const p = classLogProbs(row).map(Math.exp);
    assert.ok(Math.abs(calibrated[i][0] - Math.log(p[0] / 0.9)) < 1e-12);
    assert.ok(Math.abs(calibrated[i][1] - Math.log(p[1] / 0.1)) < 1e-12);
  });
  // A prior that favours class 0 moves the first review to class 1: p = (0.88, 0.12) / (0.9, 0.1).
  assert.deepEqual(calibrated.map((row) => row.indexOf(Math.max(...row))), [1, 1]);
  // A uniform prior changes nothing but the normalisation.
  assert.deepEqual(calibrate(scores, [0.5, 0.5]).map((row) => row.map((s) => s + Math.log(0.5))), scores.map(classLogProbs));
});

test('a template is scored on a labelled set, raw and calibrated', async () => {
  const dataset = { text: ['A fine film.', 'Dull. I left early.', LONG_REVIEW, 'Wonderful acting.'], label: [1, 0, 0, 1], labelNames: ['negative', 'positive'] };
  const result = await evaluateTemplate(model, tokenizer, dataset, SENTIMENT_TEMPLATES[0], SENTIMENT_VERBALIZER, { maxLength: 64 });
  const raw = result.scores.map((row) => row.indexOf(Math.max(...row)));
  assert.deepEqual(result.predictions, raw);
  assert.equal(result.accuracy, raw.filter((p, i) => p === dataset.label[i]).length / 4);
  const calibrated = calibrate(result.scores, result.prior).map((row) => row.indexOf(Math.max(...row)));
  assert.deepEqual(result.calibratedPredictions, calibrated);
  assert.equal(result.calibratedShares[0] + result.calibratedShares[1], 1);
  await assert.rejects(evaluateTemplate(model, tokenizer, { ...dataset, labelNames: ['a', 'b', 'c'] }, SENTIMENT_TEMPLATES[0], SENTIMENT_VERBALIZER), /3/);
});

test('fillMask gives the top-k tokens and probabilities of each blank', async () => {
  const fillings = await fillMask(model, tokenizer, 'the [MASK] was [MASK] .', { topK: 3 });
  assert.equal(fillings.length, 2);
  const ids = tokenizer.encode('the [MASK] was [MASK] .').input_ids[0];
  const out = model.forward({ inputIds: [ids] });
  const probs = (await tf.softmax(out.logits.slice([0, 2, 0], [1, 1, -1]).reshape([-1])).array()) as number[];
  tf.dispose([out.logits, out.lastHiddenState]);
  const best = probs.map((p, id) => [p, id]).sort((a, b) => b[0] - a[0]).slice(0, 3);
  assert.deepEqual(fillings[0].map((f) => f.token), tokenizer.convertIdsToTokens(best.map(([, id]) => id)));
  fillings[0].forEach((f, k) => assert.ok(Math.abs(f.probability - best[k][0]) < 1e-6));
  await assert.rejects(fillMask(model, tokenizer, 'no blank here'), /no \[MASK\]/);
});

test('the template to ship is chosen on validation accuracy, with its test figures', () => {
  const evaluation = (name: string, accuracy: number, calibratedAccuracy: number) => ({
    template: { name, text: `{review} ${name} [MASK].` }, accuracy, calibratedAccuracy, prior: [0.5, 0.5], predictedShares: [], calibratedShares: [],
    scores: [], predictions: [name.length], calibratedPredictions: [-name.length],
  });
  const runs = [
    { validation: evaluation('a', 0.6, 0.7), test: evaluation('a', 0.9, 0.65) },
    { validation: evaluation('bb', 0.72, 0.5), test: evaluation('bb', 0.6, 0.95) },
  ];
  const chosen = chooseTemplate(runs);
  assert.deepEqual({ ...chosen, template: chosen.template.name }, { template: 'bb', calibrated: false, validationAccuracy: 0.72, testAccuracy: 0.6, predictions: [2] });
  assert.throws(() => chooseTemplate([]), /no templates/);
});

test('finetune-lab prompt --fill prints the candidates of each blank as JSON', async () => {
  const { spawnSync } = await import('node:child_process');
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'prompt', '--model', FIXTURE, '--fill', 'the [MASK] was [MASK] .', '--top-k', '2'], {
    cwd: join(__dirname, '..'), encoding: 'utf8', env: { ...process.env, FINETUNE_LAB_BACKEND: 'cpu' },
  });
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
  const direct = await fillMask(model, tokenizer, 'the [MASK] was [MASK] .', { topK: 2 });
  assert.deepEqual(out.fillings.map((f: { token: string }[]) => f.map((x) => x.token)), direct.map((f) => f.map((x) => x.token)));
});
