/**
 * Transpose on the wasm backend, for permutations that swap two blocks of trailing axes
 * (`[B, R, C] -> [B, C, R]` once adjacent axes are merged) of float32 or int32 tensors: a matrix
 * transpose in 4x4 SIMD blocks and cache-sized tiles (simd.wat) over the wasm heap.
 *
 * Why: tfjs-backend-wasm's Transpose walks the output in order and reads the input with a
 * stride of a whole row, so a 1024x256 matrix transpose took 7 ms, thirty times the time of an
 * element-wise add of the same size (1.9 ms as 32x32 tiles in JavaScript). The backward pass
 * transposes every Linear's input (matmul-gradient.ts), and the masked-language model's tied
 * decoder its [614, 30522] logits' gradient. Other permutations (attention's head split) go to
 * the stock kernel, which is fast for them.
 */
import type * as tf from '@tensorflow/tfjs';
import { replaceKernel, WasmBackend } from '../tfjs-internals/index.js';
import { simdKernels } from './simd-kernels.js';

/**
 * `[batch, rows, cols]` such that `perm` is the transpose of the last two, or undefined when the
 * permutation is not of that form: `perm = [0..b), [s..rank), [b..s)`.
 */
export function asMatrixTranspose(shape: number[], perm: number[]): [number, number, number] | undefined {
  const rank = shape.length;
  let b = 0;
  while (b < rank && perm[b] === b) b++;
  if (b >= rank - 1) return undefined;
  const s = perm[b];
  for (let i = b; i < rank; i++) {
    const expected = i < b + rank - s ? s + (i - b) : b + (i - b - (rank - s));
    if (perm[i] !== expected) return undefined;
  }
  const size = (from: number, to: number) => shape.slice(from, to).reduce((x, y) => x * y, 1);
  return [size(0, b), size(b, s), size(s, rank)];
}

/**
 * Writes the matrices `x[batch][rows][cols]` of 4-byte elements (at byte offset `xAt`) transposed
 * into `out[batch][cols][rows]` (at `outAt`): simd.wat's 4x4 blocks, then the last rows % 4 rows
 * and cols % 4 columns here.
 */
function transposeMatrices(backend: WasmBackend, x: tf.TensorInfo, out: tf.TensorInfo, batch: number, rows: number, cols: number): void {
  const [xAt, outAt] = backend.offsets(x, out);
  const kernels = simdKernels(backend);
  const plane = rows * cols;
  for (let p = 0; p < batch; p++) kernels.transpose(xAt + 4 * p * plane, outAt + 4 * p * plane, rows, cols);
  const [from, to] = [backend.view(x), backend.view(out)];
  const [rows4, cols4] = [rows & ~3, cols & ~3];
  for (let p = 0; p < batch; p++) {
    const base = p * plane;
    for (let i = 0; i < rows; i++) {
      for (let j = i < rows4 ? cols4 : 0; j < cols; j++) to[base + j * rows + i] = from[base + i * cols + j];
    }
  }
}

/** Replaces the wasm backend's Transpose with the tiled version for matrix-like permutations (idempotent). */
export function registerWasmTranspose(): void {
  replaceKernel('Transpose', 'wasm', (args, stock) => {
    const x = args.inputs.x!;
    const perm = (args.attrs as unknown as { perm: number[] }).perm;
    const dims = asMatrixTranspose(x.shape, perm);
    if (!dims || (x.dtype !== 'float32' && x.dtype !== 'int32') || dims[0] * dims[1] * dims[2] === 0) return stock(args);
    const backend = WasmBackend.of(args.backend);
    const out = backend.output(perm.map((axis) => x.shape[axis]), x.dtype);
    transposeMatrices(backend, x, out, ...dims);
    return out;
  });
}
