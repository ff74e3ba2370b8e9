/**
 * PyTorch's `DataLoader(dataset, batch_size=32, shuffle=True)` for text classification:
 * tokenizes the dataset once, then yields each epoch's batches as padded int32 tensors.
 */
import * as tf from '@tensorflow/tfjs';
import type { TextDataset } from './dataset.js';
import { deriveSeed, permutation } from './random.js';
import type { Splits } from './split.js';
import { wholeNumber } from '../numbers.js';

/** How a text longer than the row can be cut: the tokenizer's single-text strategies (see the tokenizer's `Truncation`). */
export const ROW_TRUNCATIONS = ['head', 'head+tail'] as const;
export type RowTruncation = (typeof ROW_TRUNCATIONS)[number];

/** How whatever tokenizes texts for a model cuts those longer than its rows. */
export interface TruncationOptions {
  /** `'head'` (default) keeps a long text's first tokens, `'head+tail'` its first and its last. */
  truncation?: RowTruncation;
  /** With `'head+tail'`: the tokens kept from the start; default a quarter of the row (Sun et al.'s 128 + 382 at 512). */
  headTokens?: number;
}

/**
 * What the loader needs from a tokenizer; `BertTokenizer` has it. `encode` must return one
 * unpadded row per text, special tokens included, cut to `maxLength`.
 */
export interface Encoder {
  readonly padTokenId: number;
  encode(text: string[], options: { maxLength: number; padding: false; truncation: RowTruncation; headTokens?: number }): {
    input_ids: number[][];
    token_type_ids: number[][];
  };
}

export interface DataLoaderOptions extends TruncationOptions {
  tokenizer: Encoder;
  batchSize: number;
  /** Row length limit; also the padded length with `padding: 'max_length'`. */
  maxLength: number;
  /** `'max_length'` (default): every batch is [batchSize, maxLength]; `'longest'`: as long as the batch's longest row. */
  padding?: 'max_length' | 'longest';
  /** A new order every epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Seed of the shuffles; epoch `k`'s order depends only on the seed and `k`. */
  seed?: number;
}

/** One batch of model inputs; `labels` are class ids, `indices` the rows' positions in the dataset. */
export interface Batch {
  input_ids: tf.Tensor2D;
  token_type_ids: tf.Tensor2D;
  attention_mask: tf.Tensor2D;
  labels: tf.Tensor1D;
  indices: number[];
}

export class DataLoader {
  /** Number of examples. */
  readonly size: number;
  /** Batches per epoch, the last one possibly smaller (Python's `len(loader)`). */
  readonly numBatches: number;
  private readonly inputIds: Int32Array[];
  private readonly tokenTypeIds: Int32Array[];
  private readonly labels: readonly number[];
  private readonly options: Required<Omit<DataLoaderOptions, 'tokenizer' | 'truncation' | 'headTokens'>>;
  private readonly padTokenId: number;

  /** Tokenizes every text now (about half a millisecond per review), so epochs only pad and copy. */
  constructor(dataset: TextDataset, options: DataLoaderOptions) {
    const { tokenizer, batchSize, maxLength, truncation = 'head', headTokens, padding = 'max_length', shuffle = false, seed = 0 } = options;
    wholeNumber('batchSize', batchSize);
    wholeNumber('maxLength', maxLength);
    if (dataset.text.length === 0) throw new Error('the dataset is empty; a DataLoader needs at least one example');
    const encoded = tokenizer.encode([...dataset.text], { maxLength, padding: false, truncation, headTokens });
    this.inputIds = encoded.input_ids.map((row, i) => {
      if (row.length > maxLength) throw new Error(`the tokenizer returned ${row.length} ids for example ${i}, more than maxLength=${maxLength}; it must truncate`);
      return Int32Array.from(row);
    });
    this.tokenTypeIds = encoded.token_type_ids.map((row) => Int32Array.from(row));
    this.labels = dataset.label;
    this.padTokenId = tokenizer.padTokenId;
    this.options = { batchSize, maxLength, padding, shuffle, seed };
    this.size = dataset.text.length;
    this.numBatches = Math.ceil(this.size / batchSize);
  }

  /** The dataset positions in the order epoch `epoch` visits them. */
  order(epoch: number): number[] {
    const { shuffle, seed } = this.options;
    return shuffle ? permutation(this.size, deriveSeed(seed, epoch)) : Array.from({ length: this.size }, (_, i) => i);
  }

  /**
   * The batches of epoch `epoch` (0, 1, ...). Each batch's tensors are disposed when the loop
   * moves on to the next batch or leaves early (`break`, a thrown error), so use them inside
   * the loop body and `tf.clone` anything that must outlive it.
   */
  *epoch(epoch: number): Generator<Batch, void, undefined> {
    yield* this.batches(this.order(epoch));
  }

  /** Every example once, in dataset order, whatever `shuffle` says (to compute features or predictions). */
  *inDatasetOrder(): Generator<Batch, void, undefined> {
    yield* this.batches(Array.from({ length: this.size }, (_, i) => i));
  }

  private *batches(order: number[]): Generator<Batch, void, undefined> {
    for (let start = 0; start < order.length; start += this.options.batchSize) {
      const batch = this.batch(order.slice(start, start + this.options.batchSize));
      try {
        yield batch;
      } finally {
        tf.dispose([batch.input_ids, batch.token_type_ids, batch.attention_mask, batch.labels]);
      }
    }
  }

  private batch(indices: number[]): Batch {
    const rows = indices.length;
    const length = this.options.padding === 'max_length' ? this.options.maxLength : Math.max(...indices.map((i) => this.inputIds[i].length));
    const inputIds = new Int32Array(rows * length).fill(this.padTokenId);
    const tokenTypeIds = new Int32Array(rows * length);
    const attentionMask = new Int32Array(rows * length);
    indices.forEach((example, row) => {
      const ids = this.inputIds[example];
      inputIds.set(ids, row * length);
      tokenTypeIds.set(this.tokenTypeIds[example], row * length);
      attentionMask.fill(1, row * length, row * length + ids.length);
    });
    return {
      input_ids: tf.tensor2d(inputIds, [rows, length], 'int32'),
      token_type_ids: tf.tensor2d(tokenTypeIds, [rows, length], 'int32'),
      attention_mask: tf.tensor2d(attentionMask, [rows, length], 'int32'),
      labels: tf.tensor1d(indices.map((i) => this.labels[i]), 'int32'),
      indices,
    };
  }
}

/**
 * The loaders of a split (or of the parts of it given), alike but for the order: the training
 * loader shuffles every epoch, validation and test keep dataset order.
 */
export function splitLoaders<S extends Partial<Splits>>(splits: S, options: Omit<DataLoaderOptions, 'shuffle'>): { [K in keyof S]: DataLoader } {
  const loaders = Object.entries(splits).map(([name, data]) => [name, new DataLoader(data as TextDataset, { ...options, shuffle: name === 'train' })]);
  return Object.fromEntries(loaders) as { [K in keyof S]: DataLoader };
}
