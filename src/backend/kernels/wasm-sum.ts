/**
 * Sum over leading axes on the wasm backend as a product with a row of ones: `1[1, R] @ x[R, C]`.
 *
 * Why: tfjs-backend-wasm reduces only over the innermost axis, so a sum over leading axes (the
 * gradient of every bias and LayerNorm parameter: dy summed over batch and sequence) first
 * transposes the whole tensor. Summing a 1024x256 gradient over its rows took 5.8 ms that way
 * and 0.2 ms as an XNNPACK product, which also accumulates in float32.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceWasmKernel, type WasmBackend } from './wasm-kernel.js';

/** The number of leading axes that `axes` names, when it names exactly those (and not all). */
function leadingAxes(rank: number, axes: number[]): number | undefined {
  const sorted = [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  if (sorted.length === 0 || sorted.length >= rank || sorted.some((a, i) => a !== i)) return undefined;
  return sorted.length;
}

/** Replaces the wasm backend's Sum with the product form for sums over leading axes (idempotent). */
export function registerWasmSum(): void {
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  if (!matMul) return;
  replaceWasmKernel('Sum', (args, stock) => {
    const x = args.inputs.x!;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const leading = leadingAxes(x.shape.length, Array.isArray(axis) ? axis : [axis]);
    const rows = x.shape.slice(0, leading).reduce((a, b) => a * b, 1);
    const cols = x.shape.slice(leading ?? 0).reduce((a, b) => a * b, 1);
    if (leading === undefined || x.dtype !== 'float32' || rows * cols === 0) return stock(args);
    const backend = args.backend as WasmBackend;
    const ones = backend.makeOutput([1, rows], 'float32');
    backend.typedArrayFromHeap(ones).fill(1);
    const out = matMul.kernelFunc({
      inputs: { a: ones, b: { ...x, shape: [rows, cols] } },
      backend: args.backend as tf.KernelBackend,
      attrs: { transposeA: false, transposeB: false },
    }) as tf.TensorInfo;
    backend.disposeData(ones.dataId);
    const rest = x.shape.slice(leading);
    // The product's output is a fresh buffer; its shape is metadata, as in the stock kernels.
    (out as { shape: number[] }).shape = keepDims ? [...x.shape.slice(0, leading).map(() => 1), ...rest] : rest;
    return out;
  });
}
