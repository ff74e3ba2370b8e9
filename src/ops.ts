/**
 * Math ops shared by the model code, written once over TensorFlow.js primitives so that every
 * backend (cpu, wasm, webgpu, tensorflow) computes them the same way.
 *
 * The gradients of the ops that training runs most are written out, so that backpropagation
 * keeps only what it needs: tfjs' own gradients save every input of every primitive (an Add keeps
 * both of its inputs only to know their shapes), and at bert-base that is most of a training
 * step's memory. With these, one layer at 2 × 256 tokens keeps about 45 MB instead of 110.
 */
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { product } from './backend/kernels/matmul-gradient.js';
import { GELU_GRAD_KERNEL, GELU_KERNEL } from './backend/kernels/wasm-gelu.js';
import { LAYER_NORM_GRAD_KERNEL, LAYER_NORM_KERNEL, layerNormKernelFits } from './backend/kernels/wasm-layer-norm.js';
import { callKernel, hasKernel, runCustomOp } from './backend/tfjs-internals/index.js';
import { deriveSeed, mulberry32, type Random } from './data/random.js';

/**
 * An op with a written-out gradient: the project's one way to write a custom gradient (tf.customGrad
 * is not used). Unlike tf.customGrad, each input's gradient is computed only if backpropagation
 * asks for it: a frozen weight's gradient, which customGrad would compute and drop, costs nothing.
 * `forward` saves what `gradients` will need (inputs or not); tensors that get no gradient (ids,
 * masks) are left out of `inputs`. `name` labels the op in profiles and on the tape, prefixed so
 * that it never matches a kernel's name (the engine would then use that kernel's registered gradient).
 */
export function customOp<T extends tf.Tensor>(
  name: string,
  inputs: Record<string, tf.Tensor>,
  forward: (save: (tensors: tf.Tensor[]) => void) => T,
  gradients: (dy: T, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>,
): T {
  return tf.tidy(`FinetuneLab${name}`, () => runCustomOp(inputs, forward, gradients));
}

/** `dy` summed down to `shape`, the shape of an input that was broadcast to dy's. */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape);
  return axes.length ? tf.reshape(tf.sum(dy, axes), shape) : dy;
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * GELU in its exact erf form, `0.5 * x * (1 + erf(x / sqrt(2)))`, as BERT and PyTorch's
 * `nn.GELU()` define it. tfjs has no erf-GELU op (its `gelu` activation is the tanh
 * approximation): on wasm it is a SIMD kernel of our own (backend/kernels/wasm-gelu.ts), on the
 * other backends tfjs ops over `tf.erf` (the Abramowitz-Stegun 7.1.26 formula, within 1.5e-7).
 *
 * The derivative is written out, `0.5 * (1 + erf(x / sqrt(2))) + x * pdf(x)`, so that the
 * backward pass keeps only `x`: autodiff through the four ops would keep four more tensors as
 * wide as the feed-forward layer (3,072 floats a token in bert-base), most of a layer's
 * activation memory.
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  const kernel = x.dtype === 'float32' && x.size >= 4 && hasKernel(GELU_KERNEL);
  const cdf = (t: tf.Tensor) => tf.mul(tf.add(1, tf.erf(tf.mul(t, Math.SQRT1_2))), 0.5);
  return customOp('Gelu', { x }, (save) => {
    save([x]);
    return (kernel ? callKernel(GELU_KERNEL, { x }) : tf.mul(x, cdf(x))) as T;
  }, (dy, [saved]) => ({
    x: () => {
      if (kernel) return callKernel(GELU_GRAD_KERNEL, { x: saved, dy }) as tf.Tensor;
      const pdf = tf.mul(tf.exp(tf.mul(tf.square(saved), -0.5)), INV_SQRT_2PI);
      return tf.mul(dy, tf.add(cdf(saved), tf.mul(saved, pdf)));
    },
  }));
}

/**
 * Layer normalisation over the last axis: `(x - mean) / sqrt(var + eps) * gamma + beta`,
 * with the biased variance, as PyTorch's `nn.LayerNorm` computes it.
 *
 * Backpropagation keeps the normalised input and one scale per row, and derives
 *   dx = r (g - mean(g) - x̂ mean(g x̂)),  g = dy gamma,  r = 1 / sqrt(var + eps)
 * instead of the half-dozen tensors autodiff through the steps would keep. On wasm the forward
 * and x's gradient are one SIMD kernel each (backend/kernels/wasm-layer-norm.ts).
 */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-12): T {
  const rows = (t: tf.Tensor) => tf.reshape(t, [-1, t.shape[t.rank - 1]]);
  const kernel = layerNormKernelFits(x) && hasKernel(LAYER_NORM_KERNEL);
  return customOp('LayerNorm', { x, gamma, beta }, (save) => {
    if (kernel) {
      const [y, normalised, r] = callKernel(LAYER_NORM_KERNEL, { x, gamma, beta }, { eps }) as tf.Tensor[];
      save([normalised, r, gamma]);
      return y as T;
    }
    // Not tf.moments: it copies x through a Cast and subtracts the mean twice.
    const centered = tf.sub(x, tf.mean(x, -1, true));
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps));
    const normalised = tf.mul(centered, r);
    save([normalised, r, gamma]);
    return tf.add(tf.mul(normalised, gamma), beta) as T;
  }, (dy, [normalised, r, g]) => ({
    x: () => {
      if (kernel) return callKernel(LAYER_NORM_GRAD_KERNEL, { dy, normalised, rstd: r, gamma: g }) as tf.Tensor;
      const dNormalised = tf.mul(dy, g);
      const meanDn = tf.mean(dNormalised, -1, true);
      const meanDnX = tf.mean(tf.mul(dNormalised, normalised), -1, true);
      return tf.mul(tf.sub(tf.sub(dNormalised, meanDn), tf.mul(normalised, meanDnX)), r);
    },
    gamma: () => tf.sum(rows(tf.mul(dy, normalised)), 0),
    beta: () => tf.sum(rows(dy), 0),
  }));
}

/**
 * `x @ w + b` for rows `x` (the bias added inside the product's kernel: XNNPACK on wasm), or
 * `x @ w` without `b`; with `transposed`, `w` is `[out, in]` (PyTorch's layout, as the word
 * embeddings a tied decoder reads) and the product is `x @ w^T`. Backpropagation keeps x and w
 * only: tfjs' fused product also keeps its output. Every gradient product puts its larger
 * dimension first: XNNPACK streams its right operand once per block of the left one's rows, so
 * `[30522, 614] @ [614, 128]` takes half the time of `[128, 614] @ [614, 30522]`.
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D, transposed = false): tf.Tensor2D {
  return customOp('Linear', b ? { x, w, b } : { x, w }, (save) => {
    save([x, w]);
    return (b ? tf.fused.matMul({ a: x, b: w, bias: b, transposeB: transposed }) : tf.matMul(x, w, false, transposed)) as tf.Tensor2D;
  }, (dy, [xs, ws]) => ({
    x: () => product(dy, ws, false, !transposed),
    w: () => (transposed ? product(dy, xs, true, false) : product(xs, dy, true, false)),
    b: () => tf.sum(dy, 0),
  }));
}

/** `x` in another shape; backpropagation keeps nothing (tfjs' Reshape keeps x, for its shape). */
export function reshape<T extends tf.Tensor>(x: tf.Tensor, shape: number[]): T {
  const xShape = x.shape;
  return customOp('Reshape', { x }, () => tf.reshape(x, shape) as T, (dy) => ({ x: () => tf.reshape(dy, xShape) }));
}

/**
 * `table[ids]` (rows of `table`) with its gradient written as a scatter-add: tfjs' own gradient of
 * gather uses UnsortedSegmentSum, which the wasm backend lacks and the cpu backend runs in
 * O(ids x vocab).
 */
export function embeddingLookup(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const [rows, width] = table.shape;
  return customOp('EmbeddingLookup', { table }, (save) => {
    save([ids]);
    return tf.gather(table, ids);
  }, (dy, [saved]) => ({ table: () => tf.scatterND(saved.reshape([-1, 1]), dy.reshape([-1, width]), [rows, width]) }));
}

/** `x * s` for a number `s`; backpropagation keeps nothing (tfjs' Mul keeps both operands). */
export function scale<T extends tf.Tensor>(x: T, s: number): T {
  return customOp('Scale', { x }, () => tf.mul(x, s) as T, (dy) => ({ x: () => tf.mul(dy, s) }));
}

/** `a + b` with broadcasting; backpropagation keeps neither (tfjs' Add keeps both, for their shapes). */
export function add<T extends tf.Tensor>(a: tf.Tensor, b: tf.Tensor): T {
  const [aShape, bShape] = [a.shape, b.shape];
  return customOp('Add', { a, b }, () => tf.add(a, b) as T, (dy) => ({
    a: () => unbroadcast(dy, aShape),
    b: () => unbroadcast(dy, bShape),
  }));
}

/**
 * What a forward pass needs besides its inputs, passed explicitly to everything that depends on
 * it (dropout, and the modules and heads that apply it).
 */
export interface ForwardContext {
  /** Training mode: dropout active. Default false (eval mode, deterministic). */
  readonly training?: boolean;
  /**
   * Where the dropout masks draw their seeds, in the order the masks are made; without it they
   * are unseeded (tfjs' own random). `trainingContext` makes it a function of (seed, step).
   */
  readonly dropoutSeeds?: Random;
}

/** Eval mode: no dropout. */
export const EVAL: ForwardContext = { training: false };

/**
 * The context of training step `step` of a run seeded `seed`: every dropout mask a function of
 * `(seed, step)`, so that two runs with the same seed drop the same units and a resumed run
 * continues exactly as an uninterrupted one. The training loops make one for each step.
 */
export function trainingContext(seed: number, step: number): ForwardContext {
  return { training: true, dropoutSeeds: mulberry32(deriveSeed(seed, step)) };
}

/**
 * The multiplier of inverted dropout: 0 with probability `rate`, else `1 / (1 - rate)`; the same
 * values as `tf.div(tf.floor(tf.add(tf.randomUniform(shape, 0, 1, 'float32', seed), keep)), keep)`,
 * which tf.dropout computes. The draws are tf.randomUniform's: seedrandom's alea, seeded with the
 * seed's string as tfjs seeds it, each rounded to float32; the sum and quotient are float32's (a
 * double result rounded to float32 is the float32 operation's). Made in one loop, with alea's
 * recurrence on local variables: tf.randomUniform took 26 ns a value (alea keeps its state in
 * object fields), and a pretraining step at bert-tiny, batch 32, seq 128 draws 4.7 million.
 */
function dropoutMask(shape: number[], rate: number, context: ForwardContext): tf.Tensor {
  const seed = context.dropoutSeeds ? Math.floor(context.dropoutSeeds() * 2 ** 31) : Math.random();
  let { c, s0, s1, s2 } = seedrandom.alea(String(seed), { state: true }).state() as unknown as AleaState;
  const keep = Math.fround(1 - rate);
  const kept = Math.fround(1 / keep);
  const mask = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < mask.length; i++) {
    const t = 2091639 * s0 + c * 2.3283064365386963e-10; // alea's next(): 2^-32
    s0 = s1;
    s1 = s2;
    c = t | 0;
    s2 = t - c;
    mask[i] = Math.fround(Math.fround(s2) + keep) >= 1 ? kept : 0;
  }
  return tf.tensor(mask, shape);
}

/** The state of seedrandom's alea generator. */
interface AleaState {
  c: number;
  s0: number;
  s1: number;
  s2: number;
}

/**
 * Inverted dropout as `tf.dropout` in training mode (x itself otherwise, or at rate 0), its mask
 * seeded from the context. Backpropagation keeps the mask only (tfjs' keeps x too).
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, context: ForwardContext): T {
  if (!context.training || rate === 0) return x;
  return customOp('Dropout', { x }, (save) => {
    const mask = dropoutMask(x.shape, rate, context);
    save([mask]);
    return tf.mul(x, mask) as T;
  }, (dy, [mask]) => ({ x: () => tf.mul(dy, mask) }));
}

/**
 * Attention probabilities: `dropout(softmax(scores * scale + maskBias))` over the last axis
 * (dropout in training mode only). Backpropagation keeps the probabilities and the dropout mask,
 * [batch, heads, seq, seq] each, where autodiff through the steps would keep six tensors that
 * size; the mask bias gets no gradient.
 */
export function attentionProbs(scores: tf.Tensor4D, maskBias: tf.Tensor, scale: number, dropoutRate: number, context: ForwardContext): tf.Tensor4D {
  const rate = context.training ? dropoutRate : 0;
  return customOp('AttentionProbs', { scores }, (save) => {
    const probs = tf.softmax(tf.add(tf.mul(scores, scale), maskBias)) as tf.Tensor4D;
    if (rate === 0) {
      save([probs]);
      return probs;
    }
    const mask = dropoutMask(probs.shape, rate, context);
    save([probs, mask]);
    return tf.mul(probs, mask) as tf.Tensor4D;
  }, (dy, [probs, mask]) => ({
    scores: () => {
      // The softmax's Jacobian-vector product: p (g - sum(g p)), with g the gradient at p.
      const g = mask ? tf.mul(dy, mask) : dy;
      return tf.mul(tf.mul(probs, tf.sub(g, tf.sum(tf.mul(g, probs), -1, true))), scale);
    },
  }));
}
