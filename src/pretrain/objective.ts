/**
 * The masked-language-model objective: cross-entropy of the original ids at the masked positions
 * only (the vocabulary projection, 30,522 wide, would cost more than the encoder at every token),
 * and the optional bag-of-words objective of the pooled [CLS] vector.
 */
import * as tf from '@tensorflow/tfjs';
import type { BertForMaskedLM } from '../bert/heads.js';
import { customOp, type ForwardContext } from '../ops.js';
import type { MlmBatch } from './labels.js';

/**
 * Mean cross-entropy of `logits` `[N, vocab]` against class ids `targets` `[N]`, with the gradient
 * written directly, `(softmax(logits) - onehot(targets)) / N`. Over the 30,522-word vocabulary
 * this takes half the passes over `[N, vocab]` that autodiff of log-softmax and a pick takes
 * (one exponential instead of two, no scattered pick), which matters when those passes cost as
 * much as the encoder.
 */
export function sparseCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const [rows, vocab] = logits.shape;
  return customOp('SparseCrossEntropy', { logits }, (save) => {
    const shifted = tf.sub(logits, tf.max(logits, 1, true));
    const exp = tf.exp(shifted);
    const sumExp = tf.sum(exp, 1, true);
    const flat = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(vocab, 'int32')), targets);
    const picked = tf.gather(shifted.reshape([-1]), flat);
    save([exp, sumExp, flat]);
    return tf.mean(tf.sub(tf.log(sumExp.reshape([-1])), picked)) as tf.Scalar;
  }, (dy, [savedExp, savedSum, savedFlat]) => ({
    logits: () => {
      const scale = tf.div(dy, rows);
      const probs = tf.mul(savedExp, tf.div(scale, savedSum));
      const hits = tf.scatterND(savedFlat.reshape([-1, 1]), tf.fill([rows], 1).mul(scale), [rows * vocab]).reshape([rows, vocab]);
      return tf.sub(probs, hits);
    },
  }));
}

/**
 * Mean cross-entropy of the original ids at the batch's chosen positions, and those positions'
 * logits `[count, vocab]`; with `bagOfWords` targets `[B, vocab]` (`bagOfWordsTargets`), also the
 * mean cross-entropy of the pooled [CLS] vectors' vocabulary distribution against them.
 */
export function maskedLmLoss(model: BertForMaskedLM, batch: MlmBatch, context: ForwardContext, bagOfWords?: tf.Tensor2D): { loss: tf.Scalar; logits: tf.Tensor2D; bowLoss?: tf.Scalar } {
  return tf.tidy(() => {
    const out = model.bert.forward({ inputIds: batch.inputIds, attentionMask: batch.attentionMask }, context);
    const logits = model.logitsAt(out.lastHiddenState, batch.positions, context);
    const loss = sparseCrossEntropy(logits, batch.targets);
    if (!bagOfWords) return { loss, logits };
    if (!out.poolerOutput) throw new Error('the bag-of-words objective reads the pooled [CLS] vector: build the model with a pooler');
    const words = model.logitsOf(out.poolerOutput, context);
    return { loss, logits, bowLoss: tf.mean(tf.sub(tf.logSumExp(words, 1), tf.sum(tf.mul(bagOfWords, words), 1))) as tf.Scalar };
  });
}
