/**
 * How the encoder's token vectors become one vector per text: `cls` is the pooled [CLS] vector
 * (BERT's pooler, tanh(Linear(h[CLS])), what the article's head and transformers' classifier
 * read); `mean` the mean of the last hidden states of the text's tokens (padding left out),
 * which needs no pretraining of [CLS] or the pooler to carry the whole text. The article's head
 * reads the one its config names in `classifier_pooling` (ModernBERT's key), `cls` by default.
 */
import * as tf from '@tensorflow/tfjs';
import type { BertConfig } from './config.js';
import type { BertOutput } from './model.js';

export type Pooling = 'cls' | 'mean';
export const POOLINGS: readonly Pooling[] = ['cls', 'mean'];

/** The pooled vectors `[batch, hidden]` of an encoder output; `attentionMask` marks the real tokens (default: all). */
export function pool(out: BertOutput, attentionMask: tf.Tensor2D | undefined, pooling: Pooling): tf.Tensor2D {
  if (pooling === 'cls') {
    if (!out.poolerOutput) throw new Error("pooling 'cls' needs the pooler, and this model was built without one; use pooling 'mean' or a classifier task");
    return out.poolerOutput.clone();
  }
  return tf.tidy(() => {
    if (!attentionMask) return tf.mean(out.lastHiddenState, 1) as tf.Tensor2D;
    const mask = tf.expandDims(tf.cast(attentionMask, 'float32'), 2);
    return tf.div(tf.sum(tf.mul(out.lastHiddenState, mask), 1), tf.sum(mask, 1)) as tf.Tensor2D;
  });
}

/** The pooling a config's article head reads (`classifier_pooling`, default `cls`). */
export function classifierPooling(config: BertConfig): Pooling {
  const named = config.extra.classifier_pooling ?? 'cls';
  if (!POOLINGS.includes(named as Pooling)) {
    throw new Error(`config.json has classifier_pooling=${JSON.stringify(named)}; it must be one of ${POOLINGS.join(', ')}`);
  }
  return named as Pooling;
}

/** Sets the pooling of `config`'s article head; `cls`, the default, leaves no key in config.json. */
export function setClassifierPooling(config: BertConfig, pooling: Pooling): void {
  if (!POOLINGS.includes(pooling)) throw new Error(`pooling must be one of ${POOLINGS.join(', ')}, not ${JSON.stringify(pooling)}`);
  if (pooling === 'cls') delete config.extra.classifier_pooling;
  else config.extra.classifier_pooling = pooling;
}
