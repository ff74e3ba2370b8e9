/**
 * The gradient of BatchMatMul with every product computed untransposed after an explicit
 * `tf.transpose`, on the CPU backends.
 *
 * Why: tfjs' own gradient multiplies with `transposeA`/`transposeB` set, and on wasm only the
 * untransposed product reaches XNNPACK; a transposed one runs a scalar loop 10 to 40 times
 * slower (1024x1024: 18 GFLOP/s plain, 0.4 with transposeA, 1.3 with transposeB, 13.8 for an
 * explicit transpose then the plain product). The copy costs O(n^2) against the product's O(n^3).
 * GPU backends read transposed operands for free, so they keep the flags, and so does wasm when
 * its products run on OpenBLAS (blas.ts), which reads them as they are.
 *
 * `initBackend` turns it on once; `useExplicitTransposeGradient(false)` restores tfjs' own.
 */
import * as tf from '@tensorflow/tfjs';
import { gradientOf, setGradient } from '../tfjs-internals/index.js';
import { blasActive } from './blas.js';

/** Whether the current backend's transposed products are slow, so that the transpose is done explicitly. */
function transposedProductsSlow(): boolean {
  const backend = tf.getBackend();
  return backend === 'cpu' || (backend === 'wasm' && !blasActive());
}

/** `x` with its last two axes swapped. */
export function swapLastAxes(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return tf.transpose(x, perm);
}

/** `op(a) @ op(b)`, transposing explicitly where the backend's transposed product is slow. */
export function product(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  if (!transposedProductsSlow()) return tf.matMul(a, b, transposeA, transposeB);
  return tf.matMul(transposeA ? swapLastAxes(a) : a, transposeB ? swapLastAxes(b) : b);
}

/** The same derivatives as tfjs-core's BatchMatMul gradient, through `product`. */
export const batchMatMulGradConfig: tf.GradConfig = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const g = dy as tf.Tensor;
    if (!transposeA && !transposeB) return { a: () => product(g, b, false, true), b: () => product(a, g, true, false) };
    if (!transposeA && transposeB) return { a: () => product(g, b, false, false), b: () => product(g, a, true, false) };
    if (transposeA && !transposeB) return { a: () => product(b, g, false, true), b: () => product(a, g, false, false) };
    return { a: () => product(b, g, true, true), b: () => product(g, a, true, true) };
  },
};

/** Makes the gradient above BatchMatMul's (true) or restores tfjs' own (false), for the whole process. */
export function useExplicitTransposeGradient(on: boolean): void {
  setGradient(on ? batchMatMulGradConfig : batchMatMulGradConfig.kernelName);
}

/** Whether BatchMatMul's gradient is the one above now. */
export function explicitTransposeGradient(): boolean {
  return gradientOf(batchMatMulGradConfig.kernelName) === batchMatMulGradConfig;
}
