/**
 * The held-out evaluation of masked-language modelling: fixed texts and masks, so that every run
 * and every saved model is scored on the same tokens.
 */
import * as tf from '@tensorflow/tfjs';
import type { BertForMaskedLM } from '../bert/heads.js';
import { pretrainingText } from '../data/split.js';
import { deriveSeed, mulberry32 } from '../data/random.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import { buildCorpus, type PretrainCorpus } from './corpus.js';
import { disposeBatch, maskingVocab, maskSequence, mlmBatch, type MaskedSequence, type MaskingOptions, type MaskingVocab } from './labels.js';
import { EVAL } from '../ops.js';
import { maskedLmLoss } from './objective.js';

/** Held-out texts and masked windows of the evaluation, fixed so that every run is scored on the same tokens. */
export const HELD_OUT_TEXTS = 500;
export const EVAL_SEQUENCES = 256;
const EVAL_MASK_SEED = 20_240_602;

/** The held-out MLM evaluation. */
export interface MlmEvaluation {
  /** Mean cross-entropy per masked token. */
  loss: number;
  /** Share of the masked tokens whose original id is the model's top prediction. */
  accuracy: number;
  tokens: number;
}

/** MLM loss and accuracy over masked sequences, without dropout. */
export async function evaluateMlm(model: BertForMaskedLM, sequences: readonly MaskedSequence[], options: { batchSize?: number; padTokenId?: number } = {}): Promise<MlmEvaluation> {
  const { batchSize = 32, padTokenId = 0 } = options;
  let lossSum = 0;
  let correct = 0;
  let tokens = 0;
  for (let start = 0; start < sequences.length; start += batchSize) {
    const batch = mlmBatch(sequences.slice(start, start + batchSize), padTokenId);
    if (batch.count > 0) {
      const [loss, hits] = tf.tidy(() => {
        const { loss, logits } = maskedLmLoss(model, batch, EVAL);
        return [loss, tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), batch.targets), 'int32'))];
      });
      lossSum += (await loss.data())[0] * batch.count;
      correct += (await hits.data())[0];
      tokens += batch.count;
      tf.dispose([loss, hits]);
    }
    disposeBatch(batch);
  }
  return { loss: lossSum / Math.max(tokens, 1), accuracy: correct / Math.max(tokens, 1), tokens };
}

/** The fixed evaluation sequences: the first `count` held-out windows, masked with a fixed seed. */
export function heldOutSequences(corpus: PretrainCorpus, vocab: MaskingVocab, count = EVAL_SEQUENCES, masking: MaskingOptions = {}): MaskedSequence[] {
  const n = Math.min(count, corpus.heldOut.count);
  return Array.from({ length: n }, (_, i) => maskSequence(Array.from(corpus.heldOut.row(i)), vocab, mulberry32(deriveSeed(EVAL_MASK_SEED, i)), masking));
}

export interface HeldOutOptions {
  seqLength?: number;
  sequences?: number;
  texts?: readonly string[];
  heldOutTexts?: number;
  masking?: MaskingOptions;
  cacheDir?: string | null;
}

/**
 * A model's MLM loss and accuracy on the held-out slice of the pretraining text, on the same
 * masked tokens `pretrain` reports (with the same options), e.g. to check a saved model's card.
 */
export async function heldOutMlm(model: BertForMaskedLM, tokenizer: BertTokenizer, options: HeldOutOptions = {}): Promise<MlmEvaluation> {
  const corpus = buildCorpus(options.texts ?? pretrainingText(), tokenizer, {
    seqLength: options.seqLength ?? 128, heldOutTexts: options.heldOutTexts ?? HELD_OUT_TEXTS, cacheDir: options.cacheDir,
  });
  return evaluateMlm(model, heldOutSequences(corpus, maskingVocab(tokenizer), options.sequences, options.masking), { padTokenId: tokenizer.padTokenId });
}
