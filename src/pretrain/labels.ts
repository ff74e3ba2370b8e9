/**
 * Self-supervised labels: training examples made from raw text alone, the labels being parts of
 * the text itself. Two kinds, as the article and BERT make them:
 *
 * - next-word prediction (GPT-style): every prefix of a sentence, labelled with the word after it;
 * - masked-language modelling (BERT): some tokens are hidden and the model predicts them, with
 *   the semantics of transformers' `DataCollatorForLanguageModeling` (each non-special token is
 *   chosen with probability 15%; of the chosen, 80% become [MASK], 10% a random token, 10% stay;
 *   labels are the original ids at the chosen positions and -100 elsewhere);
 * - bag of words (a sentence-level label for the [CLS] vector, which masked-language modelling
 *   never trains): the set of distinct words in the window, to be predicted from [CLS] alone.
 */
import * as tf from '@tensorflow/tfjs';
import type { Random } from '../data/random.js';
import type { BertTokenizer } from '../tokenizer/index.js';

/** One next-word example: the words so far and the word that follows them (its label). */
export interface NextWordExample {
  context: string;
  next: string;
}

/** The article's table: each growing prefix of the sentence's words, labelled with the next word. */
export function nextWordExamples(sentence: string): NextWordExample[] {
  const words = sentence.trim().split(/\s+/).filter((w) => w !== '');
  return words.slice(1).map((next, i) => ({ context: words.slice(0, i + 1).join(' '), next }));
}

/** The label transformers' losses ignore (PyTorch `CrossEntropyLoss`'s `ignore_index`). */
export const IGNORE_INDEX = -100;

export interface MaskingOptions {
  /** Share of the non-special tokens (or words) chosen for prediction. Default 0.15. */
  probability?: number;
  /** Share of the chosen tokens replaced by [MASK]. Default 0.8. */
  maskRate?: number;
  /** Share of the chosen tokens replaced by a random token; the rest stay unchanged. Default 0.1. */
  randomRate?: number;
  /** Choose whole words: all WordPiece pieces of a word (`##` pieces join the one before) together. */
  wholeWord?: boolean;
}

/** What masking needs to know about the vocabulary; `maskingVocab(tokenizer)` builds it. */
export interface MaskingVocab {
  maskTokenId: number;
  /** Ids never chosen: [CLS], [SEP], [PAD], [UNK], [MASK]. */
  specialIds: ReadonlySet<number>;
  /** The ids random replacements are drawn from: every token but the bracketed ones ([PAD], [unused0], ...). */
  randomIds: Int32Array;
  /** `continuesWord[id]` is 1 for a `##` piece, which belongs to the word before it. */
  continuesWord: Uint8Array;
}

/** The masking vocabulary of a BERT tokenizer. */
export function maskingVocab(tokenizer: BertTokenizer): MaskingVocab {
  const tokens = tokenizer.convertIdsToTokens(Array.from({ length: tokenizer.vocabSize }, (_, i) => i));
  const bracketed = (t: string) => t.startsWith('[') && t.endsWith(']');
  return {
    maskTokenId: tokenizer.maskTokenId,
    specialIds: new Set([tokenizer.clsTokenId, tokenizer.sepTokenId, tokenizer.padTokenId, tokenizer.unkTokenId, tokenizer.maskTokenId]),
    randomIds: Int32Array.from(tokens.flatMap((t, id) => (bracketed(t) ? [] : [id]))),
    continuesWord: Uint8Array.from(tokens, (t) => (t.startsWith('##') ? 1 : 0)),
  };
}

/** What happened to a chosen token. */
export type MaskAction = 'mask' | 'random' | 'keep';

/** One masked sequence, with its labels in transformers' form and the chosen positions spelled out. */
export interface MaskedSequence {
  /** The model's input: the ids after masking. */
  inputIds: number[];
  /** The original id at each chosen position, `IGNORE_INDEX` (-100) elsewhere. */
  labels: number[];
  /** The chosen positions, ascending. */
  positions: number[];
  /** What was done at each chosen position. */
  actions: MaskAction[];
}

/**
 * Masks one sequence of token ids. The random draws come from `random` in a fixed order (one per
 * token or word to choose, then one per chosen token, and one more for a random replacement), so
 * the same stream always gives the same masks.
 */
export function maskSequence(ids: readonly number[], vocab: MaskingVocab, random: Random, options: MaskingOptions = {}): MaskedSequence {
  const { probability = 0.15, maskRate = 0.8, randomRate = 0.1, wholeWord = false } = options;
  if (!(probability >= 0 && probability <= 1) || !(maskRate >= 0 && randomRate >= 0 && maskRate + randomRate <= 1)) {
    throw new Error(`masking rates must be shares between 0 and 1 with maskRate + randomRate <= 1, got probability ${probability}, maskRate ${maskRate}, randomRate ${randomRate}`);
  }
  // Units that are chosen together: single tokens, or whole words.
  const units: number[][] = [];
  ids.forEach((id, i) => {
    if (vocab.specialIds.has(id)) return;
    const previous = units[units.length - 1];
    if (wholeWord && vocab.continuesWord[id] && previous && previous[previous.length - 1] === i - 1) previous.push(i);
    else units.push([i]);
  });
  const chosen = units.filter(() => random() < probability).flat();
  const inputIds = [...ids];
  const labels = new Array<number>(ids.length).fill(IGNORE_INDEX);
  const actions: MaskAction[] = chosen.map((i) => {
    labels[i] = ids[i];
    const r = random();
    if (r < maskRate) {
      inputIds[i] = vocab.maskTokenId;
      return 'mask';
    }
    if (r < maskRate + randomRate) {
      inputIds[i] = vocab.randomIds[Math.floor(random() * vocab.randomIds.length)];
      return 'random';
    }
    return 'keep';
  });
  return { inputIds, labels, positions: chosen, actions };
}

/** One row of `maskingTable`: a token before and after masking, and its label if it has one. */
export interface MaskingRow {
  position: number;
  original: string;
  input: string;
  /** The token to predict here, or '' where the label is -100. */
  label: string;
  action: MaskAction | '';
}

/** A masked sequence as a table a learner can read (e.g. with `console.table`). */
export function maskingTable(tokenizer: BertTokenizer, original: readonly number[], masked: MaskedSequence): MaskingRow[] {
  const before = tokenizer.convertIdsToTokens(original);
  const after = tokenizer.convertIdsToTokens(masked.inputIds);
  const action = new Map(masked.positions.map((p, k) => [p, masked.actions[k]]));
  return before.map((token, position) => ({
    position,
    original: token,
    input: after[position],
    label: masked.labels[position] === IGNORE_INDEX ? '' : token,
    action: action.get(position) ?? '',
  }));
}

/** A training batch for masked-language modelling. */
export interface MlmBatch {
  /** Masked ids `[B, S]` (rows padded with `padTokenId`). */
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  /** The chosen tokens as indices into the `B * S` tokens of the batch (row-major), as `logitsAt` takes them. */
  positions: tf.Tensor1D;
  /** The original ids at those positions. */
  targets: tf.Tensor1D;
  /** Number of chosen tokens. */
  count: number;
}

/** Stacks masked sequences into a batch (shorter rows padded); dispose it with `disposeBatch`. */
export function mlmBatch(sequences: readonly MaskedSequence[], padTokenId: number): MlmBatch {
  const length = Math.max(...sequences.map((s) => s.inputIds.length));
  const ids = new Int32Array(sequences.length * length).fill(padTokenId);
  const mask = new Int32Array(sequences.length * length);
  const positions: number[] = [];
  const targets: number[] = [];
  sequences.forEach((s, row) => {
    ids.set(s.inputIds, row * length);
    mask.fill(1, row * length, row * length + s.inputIds.length);
    for (const p of s.positions) {
      positions.push(row * length + p);
      targets.push(s.labels[p]);
    }
  });
  return {
    inputIds: tf.tensor2d(ids, [sequences.length, length], 'int32'),
    attentionMask: tf.tensor2d(mask, [sequences.length, length], 'int32'),
    positions: tf.tensor1d(positions, 'int32'),
    targets: tf.tensor1d(targets, 'int32'),
    count: positions.length,
  };
}

export function disposeBatch(batch: MlmBatch): void {
  tf.dispose([batch.inputIds, batch.attentionMask, batch.positions, batch.targets]);
}

/**
 * The bag-of-words labels of windows of token ids `[B, vocab]`: each row spreads probability 1
 * evenly over the distinct non-special tokens of its window (a set, so that "the" and "," count
 * once, like any rarer word). Predicting this from the [CLS] vector alone makes [CLS] a summary of
 * what the text is about, which is what a classifier on top of it reads; BERT's own sentence
 * objective (next-sentence prediction) does this job less directly.
 */
export function bagOfWordsTargets(windows: readonly ArrayLike<number>[], vocab: Pick<MaskingVocab, 'specialIds' | 'continuesWord'>): tf.Tensor2D {
  const size = vocab.continuesWord.length;
  const targets = new Float32Array(windows.length * size);
  windows.forEach((window, row) => {
    const words = new Set(Array.from(window).filter((id) => !vocab.specialIds.has(id)));
    for (const id of words) targets[row * size + id] = 1 / words.size;
  });
  return tf.tensor2d(targets, [windows.length, size]);
}
