// Static word vectors from co-occurrences (PPMI + randomized SVD): the SVD against a dense one,
// vectors on a corpus whose answer is known, determinism and the cache, and pretrain's
// initEmbeddings option putting them into the word embeddings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { mulberry32 } from '../src/data/random.js';
import { pretrainingText } from '../src/data/split.js';
import { cachedWordVectors, nearestWords, pretrain, randomizedSvd, tokenizeCorpus, wordVectors, type CsrMatrix, type TokenizedTexts, type WordVectors } from '../src/pretrain/index.js';
import { BertTokenizer } from '../src/tokenizer/index.js';
import { cli } from './helpers/cli.js';

/** A sparse matrix from dense rows. */
function csr(dense: number[][]): CsrMatrix {
  const rowStart = new Uint32Array(dense.length + 1);
  const col: number[] = [];
  const value: number[] = [];
  dense.forEach((row, r) => {
    row.forEach((v, c) => { if (v !== 0) { col.push(c); value.push(v); } });
    rowStart[r + 1] = col.length;
  });
  return { rows: dense.length, cols: dense[0].length, rowStart, col: Uint32Array.from(col), value: Float32Array.from(value) };
}

test('randomized SVD: the leading singular values and vectors of a sparse matrix, as a dense SVD finds them', () => {
  // 60 x 40 of rank 12 (sparse factors), so oversampled power iteration recovers the top 6 to rounding.
  const random = mulberry32(1);
  const sparse = (n: number) => Array.from({ length: n }, () => (random() < 0.3 ? Math.round(8 * random()) - 4 : 0));
  const factors = Array.from({ length: 12 }, (_, i) => ({ u: sparse(60), v: sparse(40), w: 12 - i }));
  const dense = Array.from({ length: 60 }, (_, r) => Array.from({ length: 40 }, (_, c) => factors.reduce((s, f) => s + f.w * f.u[r] * f.v[c], 0)));
  const a = csr(dense);
  assert.ok(a.value.length < 0.8 * 60 * 40, `the matrix should be sparse: ${a.value.length} entries`);
  const exact = new SingularValueDecomposition(new Matrix(dense), { autoTranspose: true });
  const { u, s } = randomizedSvd(a, 6, { seed: 3 });
  assert.equal(s.length, 6);
  for (let i = 0; i < 6; i++) {
    assert.ok(Math.abs(s[i] - exact.diagonal[i]) < 1e-8 * exact.diagonal[0], `singular value ${i}: ${s[i]} vs ${exact.diagonal[i]}`);
    // The same vector up to sign.
    const dot = Array.from({ length: 60 }, (_, r) => u[r * 6 + i] * exact.leftSingularVectors.get(r, i)).reduce((x, y) => x + y, 0);
    assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-8, `left singular vector ${i}: |cos| ${Math.abs(dot)}`);
  }
  // A rank-12 matrix has 12 singular values, however many are asked for.
  assert.equal(randomizedSvd(a, 20, { seed: 3 }).s.length, 12);
});

/**
 * Texts about two topics, each with its own 10 context words: on topic A a text holds "cat" or
 * "dog" (ids 10, 11), on topic B "car" or "truck" (12, 13), among random words of its topic.
 */
function twoTopics(texts: number, seed: number): TokenizedTexts {
  const random = mulberry32(seed);
  const ids: number[] = [];
  const ends: number[] = [];
  for (let t = 0; t < texts; t++) {
    const topic = t % 2;
    const words = Array.from({ length: 12 }, () => 20 + 10 * topic + Math.floor(10 * random()));
    words[Math.floor(12 * random())] = 10 + 2 * topic + (random() < 0.5 ? 0 : 1);
    ids.push(...words);
    ends.push(ids.length);
  }
  return { ids: Uint16Array.from(ids), ends: Uint32Array.from(ends) };
}

function vectorOf(vectors: WordVectors, token: number): Float32Array {
  const i = vectors.tokens.indexOf(token);
  assert.ok(i >= 0, `token ${token} has no vector`);
  return vectors.vectors.subarray(i * vectors.dim, (i + 1) * vectors.dim);
}

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i], 0) / Math.hypot(...a) / Math.hypot(...b);

test('words that share their contexts get near-identical vectors, words of other contexts unrelated ones', () => {
  // 30,000 texts, so that sampling noise (which the dimensions beyond the 4 of the two topics' signal keep) is small.
  const vectors = wordVectors(twoTopics(30000, 5), 100, { dim: 8 });
  assert.deepEqual([...vectors.tokens], [10, 11, 12, 13, ...Array.from({ length: 20 }, (_, i) => 20 + i)], 'exactly the tokens that occur');
  assert.equal(vectors.vectors.length, 24 * 8);
  for (let i = 0; i < 24; i++) assert.ok(Math.abs(Math.hypot(...vectors.vectors.subarray(8 * i, 8 * i + 8)) - 1) < 1e-6, 'unit length');
  const v = (token: number) => vectorOf(vectors, token);
  assert.ok(cosine(v(10), v(11)) > 0.98, `cat ~ dog: ${cosine(v(10), v(11))}`);
  assert.ok(cosine(v(12), v(13)) > 0.98, `car ~ truck: ${cosine(v(12), v(13))}`);
  // No text mixes the topics: the PPMI matrix is block-diagonal, and so are the vectors.
  for (const [a, b] of [[10, 12], [10, 13], [11, 12], [11, 13], [10, 30], [20, 30]]) assert.ok(Math.abs(cosine(v(a), v(b))) < 0.05, `${a} vs ${b}: ${cosine(v(a), v(b))}`);
  // A topic's context words are alike, and the nouns that stand among them have a direction of their own.
  assert.ok(cosine(v(20), v(25)) > 0.98, `context words of one topic: ${cosine(v(20), v(25))}`);
  assert.ok(cosine(v(10), v(20)) < 0.8, `a noun and a context word of its topic: ${cosine(v(10), v(20))}`);
});

test('word vectors are a function of the corpus and the seed; the cache returns them, keyed by tokens and settings', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'finetune-lab-word-vectors-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const corpus = twoTopics(400, 7);
  const first = wordVectors(corpus, 100, { dim: 6 });
  assert.deepEqual(wordVectors(corpus, 100, { dim: 6 }), first);
  const cached = cachedWordVectors(corpus, 100, { dim: 6 }, root);
  assert.deepEqual(cached, first);
  assert.equal(readdirSync(root).length, 1);
  assert.deepEqual(cachedWordVectors(corpus, 100, { dim: 6 }, root), first, 'read back from the cache');
  assert.equal(readdirSync(root).length, 1);
  cachedWordVectors(corpus, 100, { dim: 5 }, root);
  cachedWordVectors(twoTopics(400, 8), 100, { dim: 6 }, root);
  cachedWordVectors(corpus, 100, { dim: 6, window: 2 }, root);
  assert.equal(readdirSync(root).length, 4, 'another width, corpus or window is another entry');
  // Another seed of the SVD's test matrix finds the same 4-dimensional signal (the two topics' nouns and contexts), so the same similarities.
  const larger = twoTopics(3000, 7);
  const [seed0, seed9] = [0, 9].map((seed) => wordVectors(larger, 100, { dim: 4, seed }));
  assert.notDeepEqual(seed9.vectors, seed0.vectors);
  const sim = (w: WordVectors, a: number, b: number) => cosine(vectorOf(w, a), vectorOf(w, b));
  for (const [a, b] of [[10, 11], [10, 12], [10, 20], [20, 25]]) assert.ok(Math.abs(sim(seed9, a, b) - sim(seed0, a, b)) < 1e-6, `${a} vs ${b}: ${sim(seed9, a, b)} vs ${sim(seed0, a, b)}`);
});

const RUN = {
  size: 'L1-H32-A2',
  steps: 8,
  maxSteps: 0,
  seqLength: 32,
  batchSize: 4,
  heldOutTexts: 20,
  evalSequences: 16,
  backend: 'wasm' as const,
};

test('pretrain initEmbeddings: co-occurrence vectors of the training texts in bert.embeddings.word_embeddings.weight, kept in the run settings', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'finetune-lab-init-embeddings-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const texts = pretrainingText().slice(0, 120);
  const cacheDir = join(root, 'cache');
  const lines: string[] = [];
  const run = await pretrain({ ...RUN, texts, cacheDir, outputDir: join(root, 'run'), initEmbeddings: 'cooccurrence', log: (line) => lines.push(line) });
  const plain = await pretrain({ ...RUN, texts, cacheDir: null, outputDir: join(root, 'plain'), log: null });
  const weights = run.model.params.get('bert.embeddings.word_embeddings.weight').dataSync();
  const random = plain.model.params.get('bert.embeddings.word_embeddings.weight').dataSync();
  run.model.dispose();
  plain.model.dispose();
  assert.ok(lines.some((l) => /^word embeddings: co-occurrence vectors \(PPMI, SVD\) of \d+ of 30522 tokens/.test(l)), lines.join('\n'));

  // The vectors of the 100 training texts (not the 20 held out), each at a random row's norm 0.02 * sqrt(32).
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const tokenized = tokenizeCorpus(texts, tokenizer, null);
  const expected = wordVectors({ ids: tokenized.ids.subarray(0, tokenized.ends[99]), ends: tokenized.ends.subarray(0, 100) }, 30522, { dim: 32 });
  assert.ok(expected.tokens.length > 1000, `${expected.tokens.length} tokens with vectors`);
  const scale = 0.02 * Math.sqrt(32);
  let gap = 0;
  expected.tokens.forEach((token, i) => {
    for (let j = 0; j < 32; j++) gap = Math.max(gap, Math.abs(weights[token * 32 + j] - scale * expected.vectors[i * 32 + j]));
  });
  assert.ok(gap < 1e-6, `the embedding rows differ from the vectors by ${gap}`);
  // Every other token (unseen words, [CLS], [SEP], [MASK], [PAD]'s zero row) keeps the random initialisation.
  const seen = new Set(expected.tokens);
  const unchanged = Array.from({ length: 30522 }, (_, token) => token).filter((token) => !seen.has(token));
  assert.equal(unchanged.length, 30522 - expected.tokens.length);
  assert.ok(unchanged.every((token) => random.subarray(token * 32, token * 32 + 32).every((x, j) => x === weights[token * 32 + j])), 'the other rows are the random ones');
  assert.ok(!seen.has(tokenizer.clsTokenId) && !seen.has(tokenizer.padTokenId));
  // The random rows have that norm too (on average), so the first MLM loss is a fresh model's, near ln 30522 = 10.3.
  const norms = unchanged.slice(1000, 3000).map((token) => Math.hypot(...random.subarray(token * 32, token * 32 + 32)));
  assert.ok(Math.abs(norms.reduce((s, x) => s + x, 0) / norms.length - scale) < 0.02 * scale, 'random rows average 0.02 sqrt(H)');
  assert.ok(Math.abs(run.history[0].evalLoss! - Math.log(30522)) < 0.5, `first held-out loss ${run.history[0].evalLoss}`);

  // Cached beside the tokens; recorded in the run's settings, so a resume must keep it.
  assert.equal(readdirSync(cacheDir).filter((f) => f.startsWith('word-vectors-')).length, 1);
  assert.equal(JSON.parse(readFileSync(join(root, 'run', 'last', 'trainer_state.json'), 'utf8')).fingerprint.initEmbeddings, 'cooccurrence');
  await assert.rejects(pretrain({ ...RUN, texts, cacheDir, outputDir: join(root, 'run'), resume: true, log: null }), /cannot resume/);
  await assert.rejects(
    pretrain({ ...RUN, texts, cacheDir, outputDir: join(root, 'other'), init: join(root, 'run', 'model'), initEmbeddings: 'cooccurrence', log: null }),
    /applies only to a run from random weights/,
  );
  // The command line passes --init-embeddings to pretrain, and refuses other values.
  const refused = await cli(['pretrain', '--init', join(root, 'run', 'model'), '--init-embeddings', 'cooccurrence', '--steps', '1', '--backend', 'wasm', '--output', join(root, 'cli')]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /applies only to a run from random weights/);
  const unknown = await cli(['pretrain', '--init-embeddings', 'glove', '--steps', '1']);
  assert.match(unknown.stderr, /--init-embeddings: unknown init-embeddings "glove"; use one of cooccurrence/);
});

test('nearestWords: co-occurrence vectors of 3,000 IMDB reviews put words used alike together, opposites too; a word with no vector is an error that says why', async () => {
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  const vectors = wordVectors(tokenizeCorpus(pretrainingText().slice(0, 3000), tokenizer, null), tokenizer.vocabSize, { dim: 64 });
  const near = (word: string) => nearestWords(vectors, tokenizer, word, 10).map((n) => n.word);
  const excellent = near('excellent');
  const worst = near('worst');
  assert.ok(excellent.some((w) => ['superb', 'great', 'wonderful', 'outstanding', 'fantastic', 'brilliant', 'terrific', 'fine', 'good'].includes(w)), excellent.join(' '));
  // "the worst film ever", "the best film ever": the contexts, hence the vectors, of opposites are alike.
  assert.ok(worst.some((w) => ['best', 'greatest'].includes(w)), worst.join(' '));
  assert.ok(!excellent.includes('excellent') && excellent.every((w) => !w.startsWith('##') && !w.startsWith('[')), 'itself, word pieces and special tokens are left out');
  const cosines = nearestWords(vectors, tokenizer, 'excellent', 10).map((n) => n.cosine);
  assert.deepEqual(cosines, [...cosines].sort((a, b) => b - a), 'closest first');
  assert.throws(() => nearestWords(vectors, tokenizer, 'qwertyuiop'), /"qwertyuiop" has no vector: it is not a single token of the vocabulary/);
});
