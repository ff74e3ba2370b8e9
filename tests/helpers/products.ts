/**
 * Matrix products at the shapes that exercise each path of the wasm backend's OpenBLAS call
 * (src/backend/kernels/blas.ts): transposed operands, batches, a bias, sizes not a multiple of 4,
 * and the tied decoder's shape. Shared by tests/kernels.test.ts and the processes it starts.
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../src/data/random.js';

export interface ProductCase {
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
  /** The bias's length, where the product adds one (tf.fused.matMul). */
  bias?: number;
}

export const PRODUCT_CASES: ProductCase[] = [
  { a: [37, 129], b: [129, 65], transposeA: false, transposeB: false, bias: 65 },
  { a: [129, 37], b: [129, 65], transposeA: true, transposeB: false },
  { a: [37, 129], b: [65, 129], transposeA: false, transposeB: true, bias: 65 },
  { a: [129, 37], b: [65, 129], transposeA: true, transposeB: true },
  { a: [3, 2, 17, 33], b: [3, 2, 5, 33], transposeA: false, transposeB: true },
  { a: [4, 33, 17], b: [4, 33, 5], transposeA: true, transposeB: false, bias: 5 },
  { a: [1, 7], b: [7, 1], transposeA: false, transposeB: false, bias: 1 },
  { a: [614, 128], b: [3001, 128], transposeA: false, transposeB: true, bias: 3001 },
];

/** The inner dimension of a case's product. */
export const innerSize = ({ a, transposeA }: ProductCase): number => a[a.length - (transposeA ? 2 : 1)];

/** Each case's product on the current backend, from the same seeded operands every time. */
export async function caseProducts(): Promise<Float32Array[]> {
  const random = mulberry32(11);
  const tensor = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, () => random() * 2 - 1), shape);
  const out: Float32Array[] = [];
  for (const { a, b, transposeA, transposeB, bias } of PRODUCT_CASES) {
    const y = tf.tidy(() => {
      const [ta, tb] = [tensor(a), tensor(b)];
      return bias ? tf.fused.matMul({ a: ta, b: tb, bias: tensor([bias]), transposeA, transposeB }) : tf.matMul(ta, tb, transposeA, transposeB);
    });
    out.push((await y.data()) as Float32Array);
    y.dispose();
  }
  return out;
}
