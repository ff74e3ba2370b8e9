/**
 * The held-out evaluation of masked-language modelling: fixed texts and masks, so that every run
 * and every saved model is scored on the same tokens.
 */
import * as tf from '@tensorflow/tfjs';
import type { BertForMaskedLM, BertForReplacedTokenDetection } from '../bert/heads.js';
import { pretrainingText } from '../data/split.js';
import { deriveSeed, mulberry32 } from '../data/random.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import { buildCorpus, type PretrainCorpus } from './corpus.js';
import { disposeBatch, maskingVocab, maskSequence, mlmBatch, type MaskedSequence, type MaskingOptions, type MaskingVocab } from './labels.js';
import { EVAL } from '../ops.js';
import { maskedLmLoss } from './objective.js';
import { replaceTokens, samplingSeed } from './rtd.js';
import { rocAuc } from '../train/metrics.js';

/** Held-out texts and masked windows of the evaluation, fixed so that every run is scored on the same tokens. */
export const HELD_OUT_TEXTS = 500;
export const EVAL_SEQUENCES = 256;
const EVAL_MASK_SEED = 20_240_602;
const EVAL_SAMPLE_SEED = 20_261_201;

/** The held-out MLM evaluation. */
export interface MlmEvaluation {
  /** Mean cross-entropy per masked token. */
  loss: number;
  /** Share of the masked tokens whose original id is the model's top prediction. */
  accuracy: number;
  tokens: number;
  /** With a discriminator: how it detects the tokens the model (its generator) put in. */
  rtd?: RtdEvaluation;
}

/** The held-out replaced-token detection, on the generator's samples (drawn with a fixed seed). */
export interface RtdEvaluation {
  /** Mean binary cross-entropy per non-padding token. */
  loss: number;
  /** Share of the non-padding tokens classified right (replaced or original). */
  accuracy: number;
  /** Share of the replaced tokens detected as replaced. */
  replacedAccuracy: number;
  /**
   * Area under the ROC curve of the discriminator's logits: the chance that a replaced token
   * scores above an original one. It shows learning that the accuracy hides early on, while
   * every token is still called original (the replaced ones are a small minority).
   */
  auc: number;
  /** Non-padding tokens, and replaced ones among them. */
  tokens: number;
  replaced: number;
}

/**
 * MLM loss and accuracy over masked sequences, without dropout; with `discriminator`, `model` is
 * its generator, and the discriminator is scored on the generator's samples at the masked
 * positions (drawn with a fixed seed, so that the figures are a function of the weights).
 */
export async function evaluateMlm(
  model: BertForMaskedLM, sequences: readonly MaskedSequence[], options: { batchSize?: number; padTokenId?: number; discriminator?: BertForReplacedTokenDetection } = {},
): Promise<MlmEvaluation> {
  const { batchSize = 32, padTokenId = 0, discriminator } = options;
  let lossSum = 0;
  let correct = 0;
  let tokens = 0;
  // The discriminator's logit and label at every non-padding token.
  const detected: { logits: number[]; labels: number[] } = { logits: [], labels: [] };
  for (let start = 0; start < sequences.length; start += batchSize) {
    const batch = mlmBatch(sequences.slice(start, start + batchSize), padTokenId);
    if (batch.count > 0) {
      const [loss, hits, ...rtd] = tf.tidy(() => {
        const { loss, logits } = maskedLmLoss(model, batch, EVAL);
        const mlm = [loss, tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), batch.targets), 'int32'))];
        if (!discriminator) return mlm;
        const { inputIds, replaced } = replaceTokens(batch, logits, samplingSeed(EVAL_SAMPLE_SEED, start));
        return [...mlm, discriminator.forward({ inputIds, attentionMask: batch.attentionMask }, EVAL).logits, replaced];
      });
      lossSum += (await loss.data())[0] * batch.count;
      correct += (await hits.data())[0];
      tokens += batch.count;
      if (rtd.length) {
        const [logits, labels, mask] = await Promise.all([rtd[0].data(), rtd[1].data(), batch.attentionMask.data()]);
        mask.forEach((m, i) => { if (m) { detected.logits.push(logits[i]); detected.labels.push(labels[i]); } });
      }
      tf.dispose([loss, hits, ...rtd]);
    }
    disposeBatch(batch);
  }
  const mlm = { loss: lossSum / Math.max(tokens, 1), accuracy: correct / Math.max(tokens, 1), tokens };
  return discriminator ? { ...mlm, rtd: detectionScores(detected.logits, detected.labels) } : mlm;
}

/** RTD's figures from the discriminator's logits and the labels (1 = replaced) of the tokens that count. */
function detectionScores(logits: number[], labels: number[]): RtdEvaluation {
  const n = Math.max(logits.length, 1);
  const replaced = labels.filter((y) => y === 1).length;
  // softplus(x) - y x, computed stably.
  const loss = logits.reduce((sum, x, i) => sum + Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))) - labels[i] * x, 0) / n;
  const right = logits.filter((x, i) => (x > 0 ? 1 : 0) === labels[i]).length;
  const caught = logits.filter((x, i) => x > 0 && labels[i] === 1).length;
  return { loss, accuracy: right / n, replacedAccuracy: caught / Math.max(replaced, 1), auc: rocAuc(labels, logits), tokens: logits.length, replaced };
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
