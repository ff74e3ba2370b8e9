/**
 * The masked-language-model objective: cross-entropy of the original ids at the masked positions
 * only (the vocabulary projection, 30,522 wide, would cost more than the encoder at every token),
 * and the optional bag-of-words objective of the pooled [CLS] vector.
 */
import * as tf from '@tensorflow/tfjs';
import type { BertForMaskedLM } from '../bert/heads.js';
import { CROSS_ENTROPY_GRAD_KERNEL, SOFTMAX_PARTS_KERNEL } from '../backend/kernels/wasm-cross-entropy.js';
import { callKernel, hasKernel } from '../backend/tfjs-internals/index.js';
import { customOp, type ForwardContext } from '../ops.js';
import type { MlmBatch } from './labels.js';

/**
 * Mean cross-entropy of `logits` `[N, vocab]` against class ids `targets` `[N]`, with the gradient
 * written directly, `(softmax(logits) - onehot(targets)) dy / N`. Over the 30,522-word vocabulary
 * the passes over `[N, vocab]` cost as much as the encoder: on wasm they are SIMD kernels
 * (backend/kernels/wasm-cross-entropy.ts) that keep the exponentials for the backward pass, three
 * passes in all; elsewhere tfjs ops keep the logits and each row's log-sum-exp.
 */
export function sparseCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const [rows, vocab] = logits.shape;
  const kernel = logits.dtype === 'float32' && vocab >= 4 && hasKernel(SOFTMAX_PARTS_KERNEL) && hasKernel(CROSS_ENTROPY_GRAD_KERNEL);
  return customOp('SparseCrossEntropy', { logits }, (save) => {
    const ids = tf.cast(targets, 'int32');
    const flat = tf.add(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(vocab, 'int32')), ids);
    const picked = tf.gather(logits.reshape([-1]), flat);
    let lse: tf.Tensor1D;
    if (kernel) {
      const [rowLse, e, stats] = callKernel(SOFTMAX_PARTS_KERNEL, { logits }) as tf.Tensor[];
      lse = rowLse as tf.Tensor1D;
      save([e, stats, ids]);
    } else {
      lse = tf.logSumExp(logits, 1);
      save([logits, lse, flat]);
    }
    return tf.mean(tf.sub(lse, picked)) as tf.Scalar;
  }, (dy, saved) => ({
    logits: () => {
      if (kernel) {
        const [e, stats, ids] = saved;
        return callKernel(CROSS_ENTROPY_GRAD_KERNEL, { e, stats, targets: ids, dy }) as tf.Tensor;
      }
      const [savedLogits, savedLse, savedFlat] = saved;
      const scale = tf.div(dy, rows);
      const probs = tf.mul(tf.exp(tf.sub(savedLogits, savedLse.reshape([rows, 1]))), scale);
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
