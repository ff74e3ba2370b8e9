/**
 * The bag-of-words baseline: the vectorizer learns its vocabulary from the training texts only,
 * logistic regression fits two- and three-class problems, training is deterministic, and on the
 * default profile's IMDB split it reaches the accuracy that makes it a real yardstick.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BagOfWords, BagOfWordsClassifier, LogisticRegression, trainBaseline } from '../src/baseline/index.js';
import { loadImdb, splitDataset } from '../src/data/index.js';

test('the vocabulary comes from the training texts: words and word pairs seen in minDf texts', () => {
  const texts = ['The film was great', 'the film was dull', 'A great cast', 'x'];
  const bow = BagOfWords.fit(texts, { minDf: 2 });
  // "x" is one letter (not a word); "a", "cast", "dull" and most pairs occur once.
  assert.deepEqual([...bow.vocabulary].sort(), ['film', 'film was', 'great', 'the', 'the film', 'was']);
  const row = bow.transform('THE film, the FILM! unseen words');
  const terms = [...row.indices].map((i) => bow.vocabulary[i]);
  assert.deepEqual(terms.sort(), ['film', 'the', 'the film']);
  assert.ok(Math.abs(row.values.reduce((s, v) => s + v * v, 0) - 1) < 1e-12, 'rows are L2-normalised');
  assert.deepEqual(bow.transform('nothing known here'), { indices: new Int32Array(0), values: new Float64Array(0) });
});

test('tf-idf weighs rarer terms higher; binary weighting does not', () => {
  const texts = ['good good movie', 'good plot', 'movie plot', 'good movie'];
  const tfidf = BagOfWords.fit(texts, { ngrams: 1, minDf: 1 });
  const weight = (bow: BagOfWords, text: string, term: string) => {
    const row = bow.transform(text);
    return row.values[[...row.indices].indexOf(bow.vocabulary.indexOf(term))];
  };
  // "good" is in 3 texts, "plot" in 2.
  assert.ok(weight(tfidf, 'good plot', 'plot') > weight(tfidf, 'good plot', 'good'));
  const binary = BagOfWords.fit(texts, { ngrams: 1, minDf: 1, weighting: 'binary' });
  assert.equal(weight(binary, 'good plot', 'plot'), weight(binary, 'good plot', 'good'));
});

test('logistic regression separates three classes, and its objective only goes down', () => {
  const texts = ['red apple', 'red cherry', 'ripe red', 'green leaf', 'green grass', 'fresh green', 'blue sky', 'blue sea', 'deep blue'];
  const labels = [0, 0, 0, 1, 1, 1, 2, 2, 2];
  const bow = BagOfWords.fit(texts, { ngrams: 1, minDf: 1 });
  const model = LogisticRegression.fit(texts.map((t) => bow.transform(t)), labels, bow.size, 3, { l2: 1e-3 });
  assert.deepEqual(texts.map((t) => model.predict(bow.transform(t))), labels);
  assert.equal(model.predict(bow.transform('a red rose')), 0);
  assert.equal(model.predict(bow.transform('the blue whale')), 2);
  const p = model.probabilities(bow.transform('green'));
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.ok(p[1] > 0.5, `P(green class | "green") = ${p[1]}`);
  const h = model.lossHistory;
  assert.ok(h.length > 2);
  for (let i = 1; i < h.length; i++) assert.ok(h[i] < h[i - 1], `objective rose at iteration ${i}: ${h[i - 1]} -> ${h[i]}`);
  assert.equal(model.parameterCount, bow.size * 3 + 3);
  // At least the parameters, their gradient and the features; at most 25 parameter-sized vectors (10 steps remembered).
  const features = texts.reduce((sum, t) => sum + bow.transform(t).indices.length, 0) * 12;
  assert.ok(model.trainingBytes >= 16 * model.parameterCount + features && model.trainingBytes <= 25 * 8 * model.parameterCount + features, `${model.trainingBytes} bytes`);
});

test('bad inputs are refused with a reason', () => {
  assert.throws(() => BagOfWords.fit([]), /at least one training text/);
  assert.throws(() => BagOfWords.fit(['a b c'], { minDf: 2 }), /lower minDf/);
  assert.throws(() => LogisticRegression.fit([], [], 3, 2), /at least one row/);
  const row = { indices: Int32Array.of(0), values: Float64Array.of(1) };
  assert.throws(() => LogisticRegression.fit([row], [0], 1, 2, { l2: 0 }), /l2 must be above 0/);
});

const imdb = loadImdb();

test('training twice on the same split gives the same weights', () => {
  const { train } = splitDataset(imdb, { trainSize: 400, valSize: 0, testSize: 0, seed: 7 });
  const [a, b] = [BagOfWordsClassifier.fit(train), BagOfWordsClassifier.fit(train)];
  assert.deepEqual(a.vectorizer.vocabulary, b.vectorizer.vocabulary);
  assert.deepEqual(a.model.weights, b.model.weights);
  assert.deepEqual(a.model.bias, b.model.bias);
});

test('on the default profile split (4000 training reviews) it beats 85% on 2000 test reviews', () => {
  const splits = splitDataset(imdb, { trainSize: 4000, valSize: 500, testSize: 2000, seed: 42 });
  const { summary, classifier, test: report } = trainBaseline(splits);
  console.log(`bag-of-words baseline: ${JSON.stringify(summary)}`);
  assert.equal(summary.train_size, 4000);
  assert.equal(summary.test_size, 2000);
  assert.ok(summary.test_accuracy > 0.85, `test accuracy ${summary.test_accuracy}`);
  assert.ok(summary.val_accuracy > 0.85, `validation accuracy ${summary.val_accuracy}`);
  assert.equal(report.confusion.flat().reduce((a, b) => a + b, 0), 2000);
  assert.equal(summary.trainable_params, 2 * (summary.vocabulary_size + 1));
  // What it learnt reads as sentiment.
  const positive = classifier.topTerms(1, 20).map((t) => t.term);
  const negative = classifier.topTerms(0, 20).map((t) => t.term);
  assert.ok(positive.includes('great') || positive.includes('excellent'), positive.join(', '));
  assert.ok(negative.includes('worst') || negative.includes('bad'), negative.join(', '));
});
