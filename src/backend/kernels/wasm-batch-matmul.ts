/**
 * BatchMatMul on the wasm backend with every product through XNNPACK.
 *
 * Why: tfjs-backend-wasm sends a product to XNNPACK (SIMD, multi-threaded) only when both
 * operands have batch size 1 and neither is transposed; anything else runs a scalar blocked
 * loop at about 1 GFLOP/s against XNNPACK's 10 to 20: attention's q @ k^T and probs @ v, and
 * the transposed products in gradients (tfjs' own fused-matMul gradient among them). This
 * kernel transposes a transposed operand explicitly (the tiled Transpose of wasm-transpose.ts,
 * O(n^2) against the product's O(n^3)), and for a batch registers views into the operands' and
 * the output's memory on the wasm heap (no copies), running the backend's fast path on each.
 * Broadcast batches and non-float32 operands go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceWasmKernel, type WasmBackend } from './wasm-kernel.js';

/** `t` with its last two axes swapped, by the wasm Transpose kernel registered now. */
function swapLast(t: tf.TensorInfo, backend: WasmBackend): tf.TensorInfo {
  const perm = t.shape.map((_, i) => i);
  [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1], perm[perm.length - 2]];
  return tf.getKernel('Transpose', 'wasm')!.kernelFunc({ inputs: { x: t }, backend: backend as unknown as tf.KernelBackend, attrs: { perm } }) as tf.TensorInfo;
}

type WasmMatMul = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, transposeA: boolean, transposeB: boolean, outId: number) => void;

const cwraps = new WeakMap<object, WasmMatMul>();

function wasmMatMul(backend: WasmBackend): WasmMatMul {
  let f = cwraps.get(backend);
  if (!f) {
    f = backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']) as WasmMatMul;
    cwraps.set(backend, f);
  }
  return f;
}

const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);

/** Replaces the wasm backend's BatchMatMul with the per-batch XNNPACK version (idempotent). */
export function registerWasmBatchMatMul(): void {
  replaceWasmKernel('BatchMatMul', (args, stock) => {
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const backend = args.backend as WasmBackend;
    const stockProduct = () => stock(args);
    const [a0, b0] = [args.inputs.a!, args.inputs.b!];
    const outer = a0.shape.slice(0, -2);
    const sameBatch = b0.shape.length === a0.shape.length && outer.every((d, i) => d === b0.shape[i]);
    if (!sameBatch || a0.dtype !== 'float32' || b0.dtype !== 'float32' || a0.shape.includes(0) || b0.shape.includes(0)) return stockProduct();
    if (!transposeA && !transposeB && outer.every((d) => d === 1)) return stockProduct(); // already XNNPACK's

    // Not a lookup by tensor: in x^T x both operands are the same tensor, transposed only once.
    const a = transposeA ? swapLast(a0, backend) : a0;
    const b = transposeB ? swapLast(b0, backend) : b0;
    const copies = [transposeA && a, transposeB && b].filter((t): t is tf.TensorInfo => !!t);
    const batch = outer.reduce((x, y) => x * y, 1);
    const [m, k] = a.shape.slice(-2);
    const n = b.shape[b.shape.length - 1];
    const out = backend.makeOutput([...outer, m, n], 'float32');
    const offsets = [a, b, out].map((t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset);
    const sizes = [m * k, k * n, m * n];
    const [aShape, bShape] = [shapeBytes([1, m, k]), shapeBytes([1, k, n])];
    const matMul = wasmMatMul(backend);
    const { registerTensor, disposeData } = backend.wasm.tfjs;
    for (let i = 0; i < batch; i++) {
      const ids = sizes.map((size, j) => {
        const id = backend.dataIdNextNumber++;
        registerTensor(id, size, offsets[j] + i * size * 4);
        return id;
      });
      matMul(ids[0], aShape, 3, ids[1], bShape, 3, false, false, ids[2]);
      // Forgets the views (and the XNNPACK operator cached on b's view); the memory stays with its tensors.
      for (const id of ids) disposeData(id);
    }
    for (const t of copies) backend.disposeData(t.dataId);
    return out;
  });
}
