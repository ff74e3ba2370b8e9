/**
 * The pretraining corpus as fixed-length windows of token ids. The texts are tokenized once
 * (cached on disk, keyed by the texts and the vocabulary), joined with [SEP] between documents,
 * and cut into windows `[CLS] ... [SEP]` of exactly `seqLength` tokens, as RoBERTa packs its
 * input: no padding, so every position of every batch is training signal.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../package/root.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import { writeFileAtomic } from '../files/atomic.js';
import { wholeNumber } from '../numbers.js';

/** Rows of `seqLength` token ids, stored flat (the bert-base-uncased ids fit in 16 bits). */
export class Windows {
  readonly count: number;
  constructor(readonly ids: Uint16Array, readonly seqLength: number) {
    this.count = Math.floor(ids.length / seqLength);
  }

  /** The ids of window `i`. */
  row(i: number): Uint16Array {
    return this.ids.subarray(i * this.seqLength, (i + 1) * this.seqLength);
  }
}

/** Every text's token ids (no special tokens), concatenated, with each text's end offset. */
export interface TokenizedTexts {
  ids: Uint16Array;
  ends: Uint32Array;
}

/** Where tokenized corpora are cached by default. */
export const TOKEN_CACHE_DIR = join(PROJECT_ROOT, 'build', 'cache', 'pretrain-tokens');

function cacheKey(texts: readonly string[], tokenizer: BertTokenizer): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(tokenizer.files.tokenizerJson.model.vocab));
  for (const text of texts) hash.update(text).update('\0');
  return hash.digest('hex').slice(0, 24);
}

function tokenizeAll(texts: readonly string[], tokenizer: BertTokenizer): TokenizedTexts {
  if (tokenizer.vocabSize > 65536) throw new Error(`the vocabulary has ${tokenizer.vocabSize} tokens; pretraining windows store ids in 16 bits (at most 65536)`);
  const rows = texts.map((text) => tokenizer.convertTokensToIds(tokenizer.tokenize(text)));
  const ends = new Uint32Array(rows.length);
  let total = 0;
  rows.forEach((row, i) => { total += row.length; ends[i] = total; });
  const ids = new Uint16Array(total);
  rows.forEach((row, i) => ids.set(row, i === 0 ? 0 : ends[i - 1]));
  return { ids, ends };
}

/**
 * The token ids of `texts`, from the cache in `cacheDir` when it has them (tokenizing the
 * 40,000 pretraining reviews takes about half a minute), else tokenized and written there.
 * `cacheDir: null` turns the cache off.
 */
export function tokenizeCorpus(texts: readonly string[], tokenizer: BertTokenizer, cacheDir: string | null = TOKEN_CACHE_DIR): TokenizedTexts {
  if (cacheDir === null) return tokenizeAll(texts, tokenizer);
  const file = join(cacheDir, `${cacheKey(texts, tokenizer)}.bin`);
  if (existsSync(file)) {
    const buffer = readFileSync(file);
    const count = buffer.readUInt32LE(0);
    const ends = new Uint32Array(buffer.buffer.slice(buffer.byteOffset + 4, buffer.byteOffset + 4 + 4 * count));
    const ids = new Uint16Array(buffer.buffer.slice(buffer.byteOffset + 4 + 4 * count, buffer.byteOffset + buffer.length));
    if (ids.length === (count ? ends[count - 1] : 0)) return { ids, ends };
  }
  const tokenized = tokenizeAll(texts, tokenizer);
  const header = Buffer.alloc(4);
  header.writeUInt32LE(tokenized.ends.length);
  writeFileAtomic(file, Buffer.concat([header, Buffer.from(tokenized.ends.buffer), Buffer.from(tokenized.ids.buffer)]));
  return tokenized;
}

/**
 * Packs the texts `[start, end)` into windows: the texts' ids joined with [SEP] between them, cut
 * into pieces of `seqLength - 2`, each wrapped in [CLS] ... [SEP]; an incomplete last piece is dropped.
 */
export function packWindows(tokenized: TokenizedTexts, start: number, end: number, seqLength: number, tokenizer: BertTokenizer): Windows {
  wholeNumber('seqLength', seqLength, 8);
  const from = start === 0 ? 0 : tokenized.ends[start - 1];
  const to = end === 0 ? 0 : tokenized.ends[end - 1];
  const stream = new Uint16Array(to - from + (end - start));
  let at = 0;
  for (let t = start; t < end; t++) {
    const piece = tokenized.ids.subarray(t === 0 ? 0 : tokenized.ends[t - 1], tokenized.ends[t]);
    stream.set(piece, at);
    at += piece.length;
    stream[at++] = tokenizer.sepTokenId;
  }
  const inner = seqLength - 2;
  const count = Math.floor(stream.length / inner);
  const ids = new Uint16Array(count * seqLength);
  for (let w = 0; w < count; w++) {
    ids[w * seqLength] = tokenizer.clsTokenId;
    ids.set(stream.subarray(w * inner, (w + 1) * inner), w * seqLength + 1);
    ids[(w + 1) * seqLength - 1] = tokenizer.sepTokenId;
  }
  return new Windows(ids, seqLength);
}

/** The training and held-out windows of a corpus. */
export interface PretrainCorpus {
  train: Windows;
  heldOut: Windows;
  /** Texts in each part. */
  trainTexts: number;
  heldOutTexts: number;
  /** Tokens in the training texts (special tokens not counted). */
  trainTokens: number;
}

export interface CorpusOptions {
  seqLength: number;
  /** Texts at the end of the list kept for evaluation. */
  heldOutTexts: number;
  /** Token cache directory, or null for none. */
  cacheDir?: string | null;
}

/** Splits `texts` into training texts and the last `heldOutTexts` texts, and packs both into windows. */
export function buildCorpus(texts: readonly string[], tokenizer: BertTokenizer, options: CorpusOptions): PretrainCorpus {
  const { seqLength, heldOutTexts } = options;
  if (!Number.isInteger(heldOutTexts) || heldOutTexts < 1 || heldOutTexts >= texts.length) {
    throw new Error(`cannot hold out ${heldOutTexts} of ${texts.length} texts for evaluation; hold out at least 1 and leave some to train on`);
  }
  const tokenized = tokenizeCorpus(texts, tokenizer, options.cacheDir);
  const split = texts.length - heldOutTexts;
  const train = packWindows(tokenized, 0, split, seqLength, tokenizer);
  const heldOut = packWindows(tokenized, split, texts.length, seqLength, tokenizer);
  if (train.count === 0 || heldOut.count === 0) {
    throw new Error(`the texts are too short to fill one window of ${seqLength} tokens for ${train.count === 0 ? 'training' : 'evaluation'}; use more texts or a shorter --seq`);
  }
  return { train, heldOut, trainTexts: split, heldOutTexts, trainTokens: split === 0 ? 0 : tokenized.ends[split - 1] };
}
