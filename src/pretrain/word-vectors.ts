/**
 * Static word vectors from co-occurrence counts, to start a BERT's word embeddings from them
 * instead of random numbers: the embedded model's mean static word embedding is its best frozen
 * feature, so an embedding layer that starts with distributional meaning may give the encoder a
 * head start.
 *
 * The recipe of Levy, Goldberg and Dagan (2015), "Improving Distributional Similarity with Lessons
 * Learned from Word Embeddings": co-occurrences within ±5 tokens, weighted 1/distance as GloVe
 * weights them; positive PMI with the context distribution smoothed by α = 0.75; a truncated SVD
 * (randomized, never the dense vocabulary x vocabulary matrix) to the model's width; vectors
 * U S^(1/2). Over the ~11 M training tokens of the IMDB corpus this takes minutes on one core, so
 * the vectors are cached beside the tokens, keyed by the tokens and the settings.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BertTaskModel } from '../bert/heads.js';
import { writeFileAtomic } from '../files/atomic.js';
import { formatDuration, wholeNumber } from '../numbers.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import { TOKEN_CACHE_DIR, tokenizeCorpus, type TokenizedTexts } from './corpus.js';
import { randomizedSvd, type CsrMatrix } from './randomized-svd.js';

/** How a run from random weights may start its word embeddings instead of BERT's random normal ones. */
export const EMBEDDING_INITS = ['cooccurrence'] as const;
export type EmbeddingInit = (typeof EMBEDDING_INITS)[number];

export interface WordVectorOptions {
  /** Width of the vectors: the model's hidden size. */
  dim: number;
  /** Context tokens on either side. Default 5. */
  window?: number;
  /** Contexts' counts are raised to this power in PMI's denominator (context-distribution smoothing). Default 0.75. */
  alpha?: number;
  /** Passes of the randomized SVD's power iteration. Default 3. */
  powerIterations?: number;
  /** Seed of the randomized SVD. Default 0: the vectors depend on the corpus alone, so one cached copy serves runs of every seed. */
  seed?: number;
}

/** The settings that decide the vectors, defaults filled in. */
function settingsOf(options: WordVectorOptions): Required<WordVectorOptions> {
  return { dim: options.dim, window: options.window ?? 5, alpha: options.alpha ?? 0.75, powerIterations: options.powerIterations ?? 3, seed: options.seed ?? 0 };
}

/** One vector for each token that occurs in the corpus with some positive PMI. */
export interface WordVectors {
  dim: number;
  /** The token ids that have a vector, ascending. */
  tokens: Uint32Array;
  /** Row-major `tokens.length x dim`: row i is token `tokens[i]`'s, of unit length. */
  vectors: Float32Array;
}

/** Unordered token pairs `min * vocabSize + max`, ascending, with their summed weights. */
interface PairWeights {
  keys: Uint32Array;
  weights: Float64Array;
}

/** The distinct keys of a sorted array, each with `weight` times its count. */
function runLengths(sorted: Uint32Array, weight: number): PairWeights {
  const keys = new Uint32Array(sorted.length);
  const weights = new Float64Array(sorted.length);
  let n = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (n < 0 || keys[n] !== sorted[i]) keys[++n] = sorted[i];
    weights[n] += weight;
  }
  return { keys: keys.slice(0, n + 1), weights: weights.slice(0, n + 1) };
}

/** The union of two key lists, the weights of keys in both added. */
function mergePairs(a: PairWeights, b: PairWeights): PairWeights {
  const keys = new Uint32Array(a.keys.length + b.keys.length);
  const weights = new Float64Array(keys.length);
  let i = 0;
  let j = 0;
  let n = 0;
  for (; i < a.keys.length || j < b.keys.length; n++) {
    const fromA = j === b.keys.length || (i < a.keys.length && a.keys[i] <= b.keys[j]);
    const fromB = i === a.keys.length || (j < b.keys.length && b.keys[j] <= a.keys[i]);
    keys[n] = fromA ? a.keys[i] : b.keys[j];
    if (fromA) weights[n] += a.weights[i++];
    if (fromB) weights[n] += b.weights[j++];
  }
  return { keys: keys.slice(0, n), weights: weights.slice(0, n) };
}

/**
 * The co-occurrence weights of every unordered pair of tokens at most `window` apart within one
 * text, 1/distance for each. One distance at a time: its pairs are sorted and counted (a typed
 * array sort of ~11 M keys), then merged into the sum, so memory stays a few times the corpus.
 */
function cooccurrences(texts: TokenizedTexts, vocabSize: number, window: number): PairWeights {
  let sum: PairWeights = { keys: new Uint32Array(0), weights: new Float64Array(0) };
  for (let d = 1; d <= window; d++) {
    let total = 0;
    for (let t = 0, start = 0; t < texts.ends.length; start = texts.ends[t++]) total += Math.max(0, texts.ends[t] - start - d);
    const keys = new Uint32Array(total);
    let n = 0;
    for (let t = 0, start = 0; t < texts.ends.length; start = texts.ends[t++]) {
      for (let i = start; i + d < texts.ends[t]; i++) {
        const a = texts.ids[i];
        const b = texts.ids[i + d];
        keys[n++] = a < b ? a * vocabSize + b : b * vocabSize + a;
      }
    }
    sum = mergePairs(sum, runLengths(keys.sort(), 1 / d));
  }
  return sum;
}

/**
 * The positive PMI matrix of the tokens that occur, PPMI(w, c) = max(0, log(X_wc S / (X_w X_c^α)))
 * with X_w the row sums of the symmetric co-occurrence matrix and S the sum of X_c^α, and the
 * token id of each of its rows and columns.
 */
function ppmiMatrix(pairs: PairWeights, vocabSize: number, alpha: number): { matrix: CsrMatrix; tokens: Uint32Array } {
  const rowSum = new Float64Array(vocabSize);
  const { keys, weights } = pairs;
  const split = (key: number): [number, number] => [Math.floor(key / vocabSize), key % vocabSize];
  for (let e = 0; e < keys.length; e++) {
    const [a, b] = split(keys[e]);
    // A pair (a, b) is a context of a and of b: a pair of one token counts twice on the diagonal.
    rowSum[a] += weights[e];
    rowSum[b] += weights[e];
  }
  const tokens = Uint32Array.from(rowSum.keys()).filter((t) => rowSum[t] > 0);
  const index = new Int32Array(vocabSize).fill(-1);
  tokens.forEach((t, i) => { index[t] = i; });
  const logRow = Float64Array.from(rowSum, (x) => (x > 0 ? Math.log(x) : 0));
  const logS = Math.log(tokens.reduce((s, t) => s + rowSum[t] ** alpha, 0));
  const ppmi = (w: number, c: number, x: number) => Math.max(0, Math.log(x) + logS - logRow[w] - alpha * logRow[c]);

  // Each pair fills (a, b) and (b, a); scanning pairs in key order fills every row in column order.
  const rowStart = new Uint32Array(tokens.length + 1);
  const visit = (cell: (w: number, c: number, x: number) => void) => {
    for (let e = 0; e < keys.length; e++) {
      const [a, b] = split(keys[e]);
      if (a === b) cell(a, a, 2 * weights[e]);
      else {
        cell(a, b, weights[e]);
        cell(b, a, weights[e]);
      }
    }
  };
  visit((w, c, x) => { if (ppmi(w, c, x) > 0) rowStart[index[w] + 1]++; });
  for (let r = 0; r < tokens.length; r++) rowStart[r + 1] += rowStart[r];
  const nnz = rowStart[tokens.length];
  const col = new Uint32Array(nnz);
  const value = new Float32Array(nnz);
  const next = rowStart.slice(0, tokens.length);
  visit((w, c, x) => {
    const v = ppmi(w, c, x);
    if (v <= 0) return;
    const at = next[index[w]]++;
    col[at] = index[c];
    value[at] = v;
  });
  return { matrix: { rows: tokens.length, cols: tokens.length, rowStart, col, value }, tokens };
}

/**
 * Word vectors of `texts` (token ids below `vocabSize`): the rows of U S^(1/2) from the PPMI
 * matrix's truncated SVD, each scaled to unit length. The square root splits the singular values
 * between word and context vectors, a weighting Levy et al. found better than U S itself; unit
 * length because cosine is what these vectors measure (their norms mostly track frequency).
 * Tokens whose every PPMI is zero get none.
 */
export function wordVectors(texts: TokenizedTexts, vocabSize: number, options: WordVectorOptions): WordVectors {
  const { dim, window, alpha, powerIterations, seed } = settingsOf(options);
  wholeNumber('dim', dim);
  wholeNumber('window', window);
  if (vocabSize > 65536) throw new Error(`a vocabulary of ${vocabSize} tokens is too large for 32-bit token pairs (at most 65536)`);
  const { matrix, tokens } = ppmiMatrix(cooccurrences(texts, vocabSize, window), vocabSize, alpha);
  if (matrix.value.length === 0) throw new Error(`the texts have no two tokens within ${window} of each other, so there is nothing to learn word vectors from; use more text`);
  const { u, s } = randomizedSvd(matrix, dim, { powerIterations, seed });
  const k = s.length;
  const kept: number[] = [];
  const rows: Float32Array[] = [];
  for (let r = 0; r < tokens.length; r++) {
    const row = new Float32Array(dim);
    for (let j = 0; j < k; j++) row[j] = u[r * k + j] * Math.sqrt(s[j]);
    const norm = Math.hypot(...row);
    if (norm === 0) continue;
    kept.push(tokens[r]);
    rows.push(row.map((v) => v / norm));
  }
  const vectors = new Float32Array(kept.length * dim);
  rows.forEach((row, i) => vectors.set(row, i * dim));
  return { dim, tokens: Uint32Array.from(kept), vectors };
}

/** Bump when the vectors computed for the same input change, so that old cached copies are not read. */
const RECIPE = 'ppmi-svd-1';

/** `wordVectors`, from the cache in `cacheDir` when it has them for these tokens and settings, else computed and written there. */
export function cachedWordVectors(texts: TokenizedTexts, vocabSize: number, options: WordVectorOptions, cacheDir: string | null = TOKEN_CACHE_DIR): WordVectors {
  if (cacheDir === null) return wordVectors(texts, vocabSize, options);
  const hash = createHash('sha256').update(JSON.stringify({ recipe: RECIPE, vocabSize, ...settingsOf(options) }));
  hash.update(new Uint8Array(texts.ends.buffer, texts.ends.byteOffset, texts.ends.byteLength));
  hash.update(new Uint8Array(texts.ids.buffer, texts.ids.byteOffset, texts.ids.byteLength));
  const file = join(cacheDir, `word-vectors-${hash.digest('hex').slice(0, 24)}.bin`);
  // The file: the count n and dim as two uint32, n token ids (uint32), then n x dim float32.
  if (existsSync(file)) {
    const buffer = readFileSync(file);
    const [n, dim] = [buffer.readUInt32LE(0), buffer.readUInt32LE(4)];
    if (dim === options.dim && buffer.length === 8 + 4 * n + 4 * n * dim) {
      const words = new Uint32Array(buffer.buffer.slice(buffer.byteOffset + 8, buffer.byteOffset + 8 + 4 * n));
      const vectors = new Float32Array(buffer.buffer.slice(buffer.byteOffset + 8 + 4 * n, buffer.byteOffset + buffer.length));
      return { dim, tokens: words, vectors };
    }
  }
  const made = wordVectors(texts, vocabSize, options);
  const header = Buffer.alloc(8);
  header.writeUInt32LE(made.tokens.length, 0);
  header.writeUInt32LE(made.dim, 4);
  writeFileAtomic(file, Buffer.concat([header, Buffer.from(made.tokens.buffer), Buffer.from(made.vectors.buffer)]));
  return made;
}

/**
 * Puts the vectors into `model`'s word embeddings (rows of other tokens keep their values). Each
 * vector is scaled to the norm a row of BERT's random initialisation has, initializer_range x
 * sqrt(hidden) (0.02 x 16 = 0.32 for bert-mini): the word embedding is added to position and
 * token-type embeddings of that scale before the LayerNorm, so it neither drowns them nor is
 * drowned, and the MLM decoder, tied to this matrix, starts with logits as small as a fresh
 * model's (a first loss near ln 30522). Every row the same norm, since only directions came from
 * the SVD.
 */
export function initWordEmbeddings(model: BertTaskModel, vectors: WordVectors): void {
  const weight = model.bert.embeddings.word_embeddings.weight;
  const [rows, width] = weight.shape;
  if (width !== vectors.dim) throw new Error(`the word vectors have ${vectors.dim} dimensions, the model's embeddings ${width}; make vectors of the model's hidden size`);
  const scale = model.config.initializer_range * Math.sqrt(width);
  const values = weight.dataSync().slice();
  vectors.tokens.forEach((token, i) => {
    if (token >= rows) throw new Error(`the word vectors have token ${token}, beyond the model's vocabulary of ${rows}`);
    for (let j = 0; j < width; j++) values[token * width + j] = scale * vectors.vectors[i * width + j];
  });
  tf.tidy(() => weight.assign(tf.tensor2d(values, [rows, width])));
}

/**
 * Starts `model`'s word embeddings from the co-occurrence vectors of the first `trainTexts` of
 * `texts` (the texts a run trains on), with token ids and vectors cached in `cacheDir`. Returns a
 * line for the run's log.
 */
export function cooccurrenceEmbeddings(model: BertTaskModel, texts: readonly string[], tokenizer: BertTokenizer, options: { trainTexts: number; cacheDir?: string | null }): string {
  const started = performance.now();
  const tokenized = tokenizeCorpus(texts, tokenizer, options.cacheDir);
  const end = options.trainTexts === 0 ? 0 : tokenized.ends[options.trainTexts - 1];
  const train = { ids: tokenized.ids.subarray(0, end), ends: tokenized.ends.subarray(0, options.trainTexts) };
  const vectors = cachedWordVectors(train, tokenizer.vocabSize, { dim: model.config.hidden_size }, options.cacheDir);
  initWordEmbeddings(model, vectors);
  return `word embeddings: co-occurrence vectors (PPMI, SVD) of ${vectors.tokens.length} of ${tokenizer.vocabSize} tokens from ${end} training tokens, ` +
    `in ${formatDuration((performance.now() - started) / 1000)}; the other tokens keep their random rows`;
}

/** A model's word embeddings as word vectors (every row, scaled to unit length), to compare with co-occurrence ones. */
export function embeddingVectors(model: BertTaskModel): WordVectors {
  const weight = model.bert.embeddings.word_embeddings.weight;
  const [rows, dim] = weight.shape;
  const vectors = Float32Array.from(weight.dataSync());
  for (let r = 0; r < rows; r++) {
    const row = vectors.subarray(r * dim, (r + 1) * dim);
    const norm = Math.hypot(...row) || 1;
    for (let j = 0; j < dim; j++) row[j] /= norm;
  }
  return { dim, tokens: Uint32Array.from({ length: rows }, (_, i) => i), vectors };
}

/** The `k` words whose vectors are closest to `word`'s by cosine (whole words only: no `##` pieces, no special tokens). */
export function nearestWords(vectors: WordVectors, tokenizer: BertTokenizer, word: string, k = 5): { word: string; cosine: number }[] {
  const [id] = tokenizer.convertTokensToIds([word]);
  const row = vectors.tokens.indexOf(id);
  if (id === tokenizer.unkTokenId || row < 0) throw new Error(`"${word}" has no vector: it is not a single token of the vocabulary, or never occurs in the texts the vectors came from`);
  const { dim } = vectors;
  const query = vectors.vectors.subarray(row * dim, (row + 1) * dim);
  const words = tokenizer.convertIdsToTokens(Array.from(vectors.tokens));
  const scored: { word: string; cosine: number }[] = [];
  words.forEach((other, i) => {
    if (i === row || other.startsWith('##') || /^\[.*\]$/.test(other)) return;
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += query[j] * vectors.vectors[i * dim + j];
    scored.push({ word: other, cosine: dot });
  });
  return scored.sort((a, b) => b.cosine - a.cosine).slice(0, k);
}
