/**
 * BatchMatMul and _FusedMatMul on the wasm backend with every product through OpenBLAS where it
 * could be loaded (blas.ts: native AVX2/AVX-512 with FMA, transposed operands read as they are,
 * the bias added as sgemm's `beta c` on rows prefilled with it), else through XNNPACK, on views of
 * the operands, and no packed weights kept between calls. What follows is about XNNPACK.
 *
 * Why, speed: tfjs-backend-wasm sends a product to XNNPACK (SIMD, multi-threaded) only when both
 * operands have batch size 1 and neither is transposed; anything else runs a scalar blocked
 * loop at about 1 GFLOP/s against XNNPACK's 10 to 20: attention's q @ k^T and probs @ v, and
 * the transposed products of gradients. Here a transposed operand is transposed explicitly (the
 * tiled Transpose of wasm-transpose.ts, O(n^2) against the product's O(n^3)), and each matrix
 * of a batch is multiplied on views into the operands' and the output's memory (no copies).
 *
 * Why, memory: XNNPACK packs the right operand into its own layout, and tfjs caches that packed
 * copy for as long as the operand lives: all of bert-base's weights, 384 MB of a heap that cannot
 * pass 4 GB, kept while training changes the weights at every step (so the copies are never
 * reused). Multiplying on views forgets each packed copy after its product. Packing costs
 * O(k n) against the product's O(m k n).
 *
 * Broadcast batches, non-float32 operands and fused activations go to the stock kernels.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceKernel, WasmBackend, type KernelArgs } from '../tfjs-internals/index.js';
import { blasActive, sgemm } from './blas.js';

/** `t` with its last two axes swapped, by the wasm Transpose kernel registered now. */
function swapLast(t: tf.TensorInfo, backend: WasmBackend): tf.TensorInfo {
  const perm = t.shape.map((_, i) => i);
  [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
  return backend.run('Transpose', { x: t }, { perm });
}

const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);

/**
 * `op(a) @ op(b) (+ bias)` on views, or undefined where the stock kernel must run it (broadcast
 * batches, other dtypes, empty operands).
 */
function productOnViews(args: KernelArgs): tf.TensorInfo | undefined {
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  const backend = WasmBackend.of(args.backend);
  const { a: a0, b: b0, bias } = args.inputs;
  const outer = a0!.shape.slice(0, -2);
  const sameBatch = b0!.shape.length === a0!.shape.length && outer.every((d, i) => d === b0!.shape[i]);
  if (!sameBatch || a0!.dtype !== 'float32' || b0!.dtype !== 'float32' || a0!.shape.includes(0) || b0!.shape.includes(0)) return undefined;
  if (bias && (bias.shape.length !== 1 || bias.dtype !== 'float32')) return undefined;
  if (blasActive()) return blasProduct(backend, a0!, b0!, bias, transposeA, transposeB);

  // Not a lookup by tensor: in x^T x both operands are the same tensor, transposed only once.
  const a = transposeA ? swapLast(a0!, backend) : a0!;
  const b = transposeB ? swapLast(b0!, backend) : b0!;
  const copies = [transposeA && a, transposeB && b].filter((t): t is tf.TensorInfo => !!t);
  const batch = outer.reduce((x, y) => x * y, 1);
  const [m, k] = a.shape.slice(-2);
  const n = b.shape[b.shape.length - 1];
  const out = backend.output([...outer, m, n], 'float32');
  const offsets = backend.offsets(a, b, out);
  const sizes = [m * k, k * n, m * n];
  const [aShape, bShape] = [shapeBytes([1, m, k]), shapeBytes([1, k, n])];
  const biasId = bias ? backend.id(bias) : 0;
  const matMul = backend.fusedMatMul;
  for (let i = 0; i < batch; i++) {
    const ids = sizes.map((size, j) => backend.viewAt(offsets[j] + i * size * 4, size));
    matMul(ids[0], aShape, 3, ids[1], bShape, 3, false, false, 0, biasId, 0, 0, ids[2]);
    // Forgets the views and the XNNPACK operator cached on b's view; the memory stays with its tensors.
    for (const id of ids) backend.forgetView(id);
  }
  for (const t of copies) backend.free(t);
  return out;
}

/** `op(a) @ op(b) (+ bias)` by OpenBLAS, straight on the operands' memory. */
function blasProduct(backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo, bias: tf.TensorInfo | undefined, transposeA: boolean, transposeB: boolean): tf.TensorInfo {
  const r = a.shape.length;
  const [m, k] = transposeA ? [a.shape[r - 1], a.shape[r - 2]] : [a.shape[r - 2], a.shape[r - 1]];
  const n = transposeB ? b.shape[r - 2] : b.shape[r - 1];
  const outer = a.shape.slice(0, -2);
  const batch = outer.reduce((x, y) => x * y, 1);
  const out = backend.output([...outer, m, n], 'float32');
  if (bias) {
    // After output(): making it may have grown the heap, detaching older views.
    const [rows, row] = [backend.view(out), backend.view(bias)];
    if (row.length === 1) rows.fill(row[0]);
    else for (let i = 0; i < batch * m; i++) rows.set(row, i * n);
  }
  sgemm(backend.memory, backend.offsets(a, b, out), batch, m, k, n, transposeA, transposeB, bias ? 1 : 0);
  return out;
}

/** Replaces the wasm backend's BatchMatMul and _FusedMatMul with the versions above (idempotent). */
export function registerWasmBatchMatMul(): void {
  replaceKernel('BatchMatMul', 'wasm', (args, stock) => productOnViews(args) ?? stock(args));
  replaceKernel('_FusedMatMul', 'wasm', (args, stock) => {
    const { activation, preluActivationWeights } = { ...args.attrs, ...args.inputs } as { activation?: string; preluActivationWeights?: tf.TensorInfo };
    if ((activation && activation !== 'linear') || preluActivationWeights) return stock(args);
    return productOnViews(args) ?? stock(args);
  });
}
