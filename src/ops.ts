/**
 * Math ops shared by the model code, written once over TensorFlow.js primitives so that every
 * backend (cpu, wasm, webgpu, tensorflow) computes them the same way and autodiff derives the
 * gradients (GELU's is written out, to save memory).
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed, mulberry32, type Random } from './data/random.js';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * GELU in its exact erf form, `0.5 * x * (1 + erf(x / sqrt(2)))`, as BERT and PyTorch's
 * `nn.GELU()` define it. tfjs has no erf-GELU op (its `gelu` activation is the tanh
 * approximation); `tf.erf` exists on cpu, wasm and webgpu and has a registered gradient.
 * The backends' erf is the Abramowitz-Stegun 7.1.26 formula, accurate to 1.5e-7.
 *
 * The derivative is written out, `0.5 * (1 + erf(x / sqrt(2))) + x * pdf(x)`, so that the
 * backward pass keeps only `x`: autodiff through the four ops would keep four more tensors as
 * wide as the feed-forward layer (3,072 floats a token in bert-base), most of a layer's
 * activation memory.
 */
export const gelu = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))),
    gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => {
      const cdf = tf.mul(tf.add(1, tf.erf(tf.mul(saved, Math.SQRT1_2))), 0.5);
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(saved), -0.5)), INV_SQRT_2PI);
      return tf.mul(dy, tf.add(cdf, tf.mul(saved, pdf)));
    },
  };
}) as <T extends tf.Tensor>(x: T) => T;

/**
 * Layer normalisation over the last axis: `(x - mean) / sqrt(var + eps) * gamma + beta`,
 * with the biased variance, as PyTorch's `nn.LayerNorm` computes it.
 */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-12): T {
  return tf.tidy(() => {
    // Not tf.moments: it copies x through a Cast and subtracts the mean twice.
    const centered = tf.sub(x, tf.mean(x, -1, true));
    const variance = tf.mean(tf.square(centered), -1, true);
    const normalised = tf.mul(centered, tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normalised, gamma), beta);
  }) as T;
}

let dropoutRandom: Random | undefined;

/**
 * Makes every following `dropout` mask a function of `(seed, step)`, so that two runs with the
 * same seed drop the same units and a resumed run continues exactly as an uninterrupted one.
 * The training loop calls it before each step.
 */
export function setDropoutSeed(seed: number, step: number): void {
  dropoutRandom = mulberry32(deriveSeed(seed, step));
}

/** Inverted dropout as `tf.dropout`, with its mask seeded from `setDropoutSeed`'s stream once one is set. */
export function dropout<T extends tf.Tensor>(x: T, rate: number): T {
  const seed = dropoutRandom ? Math.floor(dropoutRandom() * 2 ** 31) : undefined;
  return tf.dropout(x, rate, undefined, seed) as T;
}
