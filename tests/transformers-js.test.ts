/**
 * transformers.js (@huggingface/transformers, which runs ONNX Runtime) loads what `exportOnnx`
 * writes, from local files only, and computes what our TensorFlow.js forward pass computes: the
 * same logits on our tokenizer's ids, and in its text-classification pipeline the same labels and
 * scores, within 1e-4. One known difference: when it truncates, transformers.js drops the final
 * [SEP] (Python and our tokenizer keep it); on a long review that is the whole difference.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { assertClose } from './helpers/close.js';
import { exportSentiment, LABELS, sentimentModel, softmax, type SentimentModel } from './helpers/sentiment-model.js';
import { SAMPLE_REVIEWS } from '../src/course/reviews.js';

const transformers = require('@huggingface/transformers') as typeof import('@huggingface/transformers');
const { AutoModelForSequenceClassification, AutoTokenizer, env, pipeline } = transformers;

const TMP = mkdtempSync(join(tmpdir(), 'transformers-js-'));
after(() => rmSync(TMP, { recursive: true, force: true }));
const DIR = join(TMP, 'sentiment');
let ours: SentimentModel;

/** The reviews: the course's samples and a few more, short enough not to be truncated. */
const REVIEWS = [...SAMPLE_REVIEWS, 'great', 'the worst film i have ever seen', 'A masterpiece.'];
/** A review longer than the model's 512 positions. */
const LONG = Array.from({ length: 60 }, (_, i) => `Scene ${i} was long, slow and rather dull, yet the music was lovely.`).join(' ');

before(async () => {
  ours = await sentimentModel();
  await exportSentiment(ours, DIR);
  // Local files only: the model id is the directory's name under localModelPath.
  env.allowRemoteModels = false;
  env.localModelPath = dirname(DIR) + '/';
});
after(() => ours?.model.dispose());

const MODEL_ID = basename(DIR);

describe('transformers.js on the exported directory', () => {
  test('AutoModelForSequenceClassification: the logits of our forward pass on our tokenizer\'s ids, within 1e-4', async () => {
    const model = await AutoModelForSequenceClassification.from_pretrained(MODEL_ID);
    const batch = ours.tokenizer.encode(REVIEWS, { padding: 'longest' });
    const toTensor = (rows: number[][]) => new transformers.Tensor('int64', BigInt64Array.from(rows.flat(), BigInt), [rows.length, rows[0].length]);
    const { logits } = await model({ input_ids: toTensor(batch.input_ids), attention_mask: toTensor(batch.attention_mask), token_type_ids: toTensor(batch.token_type_ids) });
    assert.deepEqual(logits.dims, [REVIEWS.length, LABELS.length]);
    // Each row alone, unpadded: the padded batch must not change a row's logits.
    const expected = REVIEWS.flatMap((review) => ours.logits(ours.tokenizer.encode(review).input_ids)[0]);
    assertClose(Array.from(logits.data as Float32Array), expected, 1e-4, 'logits');
    await model.dispose();
  });

  test('the text-classification pipeline: our labels and probabilities, within 1e-4', async () => {
    const classify = await pipeline('text-classification', MODEL_ID);
    const results = (await classify(REVIEWS, { top_k: null })) as { label: string; score: number }[][];
    const labelsSeen = new Set<string>();
    REVIEWS.forEach((review, i) => {
      const probabilities = softmax(ours.logits(ours.tokenizer.encode(review).input_ids)[0]);
      const best = probabilities.indexOf(Math.max(...probabilities));
      assert.equal(results[i][0].label, LABELS[best], review);
      labelsSeen.add(LABELS[best]);
      const scores = LABELS.map((label) => results[i].find((r) => r.label === label)!.score);
      assertClose(scores, probabilities, 1e-4, review);
    });
    assert.equal(labelsSeen.size, 2, 'the reviews should get both labels, else the labels compared say little');
    await classify.dispose();
  });

  test('on a long review, truncation drops the final [SEP]: the ids and scores differ by exactly that', async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(MODEL_ID);
    const theirs = (tokenizer(LONG, { truncation: true }).input_ids.tolist() as bigint[][])[0].map(Number);
    const mine = ours.tokenizer.encode(LONG).input_ids[0];
    const sep = ours.tokenizer.sepTokenId;
    assert.equal(mine.length, 512);
    assert.equal(theirs.length, 512);
    assert.deepEqual(theirs.slice(0, 511), mine.slice(0, 511), 'the first 511 ids agree');
    assert.equal(mine[511], sep, 'ours (as Python) ends with [SEP]');
    assert.notEqual(theirs[511], sep, 'transformers.js ends with the next word piece instead');
    assert.equal(theirs[511], ours.tokenizer.encode(LONG, { maxLength: 513 }).input_ids[0][511], 'that piece is the review\'s 511th');
    // The pipeline's scores are our forward pass's on its ids, not on ours.
    const classify = await pipeline('text-classification', MODEL_ID);
    const [result] = (await classify([LONG], { top_k: null })) as { label: string; score: number }[][];
    const scores = LABELS.map((label) => result.find((r) => r.label === label)!.score);
    assertClose(scores, softmax(ours.logits([theirs])[0]), 1e-4, 'scores on its ids');
    assert.ok(Math.max(...scores.map((s, i) => Math.abs(s - softmax(ours.logits([mine])[0])[i]))) > 1e-6, 'the [SEP] changes the scores');
    await classify.dispose();
  });
});
