/**
 * ELECTRA's replaced-token detection (Clark et al., 2020). A small generator, a BERT masked-LM,
 * fills the masked positions with tokens sampled from its softmax; the discriminator, the model
 * being pretrained, learns at every non-padding token whether it was replaced. Every token is
 * training signal for the discriminator, where masked-language modelling learns from the masked
 * 15% only, which is why ELECTRA learns more per step of compute.
 *
 * The generator shares the discriminator's embeddings module wholesale (ELECTRA shares the token
 * embeddings; sharing the position and token-type embeddings and their LayerNorm too needs the
 * same width, and costs nothing), and both are trained together on
 * `generator MLM loss + weight * discriminator BCE`. No gradient flows through the sampling:
 * the sampled ids and the labels made from them enter the graph only as ids and targets.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../data/random.js';
import type { BertForMaskedLM, BertForReplacedTokenDetection } from '../bert/heads.js';
import { customOp, scale, type ForwardContext } from '../ops.js';
import type { MlmBatch } from './labels.js';
import { maskedLmLoss } from './objective.js';
import type { ModelSize } from './sizes.js';

/** λ, the weight of the discriminator's loss, as in the paper: its per-token BCE (at most ln 2) is far smaller than the generator's MLM loss, which would otherwise drown it. */
export const RTD_WEIGHT = 50;

/** The generator's parameters are saved in the run's state under this prefix (its own names collide with the discriminator's). */
export const GENERATOR_PREFIX = 'generator.';

/**
 * The default generator of a discriminator's size: the same width (so that it can share the
 * embeddings), a quarter of the layers, heads and feed-forward width (at least one each).
 * ELECTRA found generators a quarter to a half of the discriminator's size best: a stronger
 * generator makes replacements too hard to detect, and the discriminator learns less; and a
 * small one keeps the generator's share of each step's compute small.
 */
export function generatorSize(discriminator: ModelSize): ModelSize {
  const { layers, hidden, heads, intermediate } = discriminator;
  let h = Math.max(1, Math.round(heads / 4));
  while (hidden % h !== 0) h--;
  return { layers: Math.max(1, Math.round(layers / 4)), hidden, heads: h, intermediate: Math.max(1, Math.round(intermediate / 4)) };
}

/**
 * The trainable parameters of both models: the discriminator's under their own names, the
 * generator's own under `generator.` names, and the shared embeddings once.
 */
export function rtdParams(discriminator: BertForReplacedTokenDetection, generator: BertForMaskedLM): [string, tf.Variable][] {
  const own = new Set(discriminator.params.named().map(([, v]) => v));
  const generatorOwn = generator.params.trainable().filter(([, v]) => !own.has(v)).map(([name, v]): [string, tf.Variable] => [GENERATOR_PREFIX + name, v]);
  return [...discriminator.params.trainable(), ...generatorOwn];
}

/**
 * Mean binary cross-entropy of `logits` against `labels` (1 = replaced), weighted by `weights`
 * (1 at the tokens that count), with the gradient written out, `(sigmoid(x) - y) w / sum(w)`.
 * The labels and weights are not inputs of the op, so backpropagation never reaches the sampling
 * they were made from (tfjs has no gradient for it, and none is wanted).
 */
export function binaryCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor2D, weights: tf.Tensor2D): tf.Scalar {
  return customOp('BinaryCrossEntropy', { logits }, (save) => {
    const total = tf.maximum(tf.sum(weights), 1);
    save([logits, labels, weights, total]);
    return tf.div(tf.sum(tf.mul(tf.sub(tf.softplus(logits), tf.mul(labels, logits)), weights)), total) as tf.Scalar;
  }, (dy, [x, y, w, total]) => ({ logits: () => tf.mul(tf.sub(tf.sigmoid(x), y), tf.mul(w, tf.div(dy, total))) }));
}

/** A seed tfjs' sampling takes on every backend: nonzero (0 means unseeded) and exact as a float32 (webgpu passes it as one). */
export function samplingSeed(seed: number, ...parts: number[]): number {
  return 1 + (deriveSeed(seed, ...parts) % 2 ** 24);
}

/**
 * The discriminator's input and labels: the batch's masked ids with each chosen position filled by
 * a token sampled from the generator's `logits` `[count, vocab]` there (drawn as `seed` decides),
 * and `replaced` `[B, S]`, 1 where the sample differs from the original (a sample equal to the
 * original counts as original, as in ELECTRA).
 */
export function replaceTokens(batch: MlmBatch, logits: tf.Tensor2D, seed: number): { inputIds: tf.Tensor2D; replaced: tf.Tensor2D } {
  return tf.tidy(() => {
    const [rows, length] = batch.inputIds.shape;
    const at = batch.positions.reshape([-1, 1]);
    const sampled = tf.multinomial(logits, 1, seed).reshape([-1]) as tf.Tensor1D;
    const chosen = tf.scatterND(at, tf.onesLike(sampled), [rows * length]);
    const filled = tf.where(tf.cast(chosen, 'bool'), tf.scatterND(at, sampled, [rows * length]), batch.inputIds.reshape([-1]));
    const replaced = tf.scatterND(at, tf.cast(tf.notEqual(sampled, batch.targets), 'float32'), [rows * length]);
    return { inputIds: filled.reshape([rows, length]) as tf.Tensor2D, replaced: replaced.reshape([rows, length]) as tf.Tensor2D };
  });
}

/**
 * One batch's RTD objective: `loss` = the generator's MLM loss + `weight` × the discriminator's
 * BCE over the non-padding tokens, with both terms (`mlm`, `rtd`, the latter unweighted).
 */
export function replacedTokenLoss(
  discriminator: BertForReplacedTokenDetection, generator: BertForMaskedLM, batch: MlmBatch, context: ForwardContext, options: { seed: number; weight: number },
): { loss: tf.Scalar; terms: { mlm: tf.Scalar; rtd: tf.Scalar } } {
  return tf.tidy(() => {
    const { loss: mlm, logits } = maskedLmLoss(generator, batch, context);
    const { inputIds, replaced } = replaceTokens(batch, logits, options.seed);
    const out = discriminator.forward({ inputIds, attentionMask: batch.attentionMask }, context);
    const rtd = binaryCrossEntropy(out.logits, replaced, tf.cast(batch.attentionMask, 'float32') as tf.Tensor2D);
    return { loss: tf.add(mlm, scale(rtd, options.weight)) as tf.Scalar, terms: { mlm, rtd } };
  });
}
