/**
 * Sum over leading axes on the wasm backend: the SIMD `sumRows` of simd.wat, which reads x once,
 * in order, adding each row into the output.
 *
 * Why: tfjs-backend-wasm reduces only over the innermost axis, so a sum over leading axes (the
 * gradient of every bias and LayerNorm parameter: dy summed over batch and sequence) first
 * transposes the whole tensor. Summing a 1024x256 gradient over its rows took 5.8 ms that way.
 * As a product with a row of ones through XNNPACK it took 0.2 ms, but XNNPACK packs x first (it
 * is the product's right operand): at bert-mini the 52 sums of a training step took 119 ms of
 * about 1,100.
 */
import { replaceKernel, WasmBackend } from '../tfjs-internals/index.js';
import { simdKernels } from './simd-kernels.js';

/** The number of leading axes that `axes` names, when it names exactly those (and not all). */
function leadingAxes(rank: number, axes: number[]): number | undefined {
  const sorted = [...new Set(axes.map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  if (sorted.length === 0 || sorted.length >= rank || sorted.some((a, i) => a !== i)) return undefined;
  return sorted.length;
}

/** Replaces the wasm backend's Sum with the product form for sums over leading axes (idempotent). */
export function registerWasmSum(): void {
  replaceKernel('Sum', 'wasm', (args, stock) => {
    const x = args.inputs.x!;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const leading = leadingAxes(x.shape.length, Array.isArray(axis) ? axis : [axis]);
    const rows = x.shape.slice(0, leading).reduce((a, b) => a * b, 1);
    const cols = x.shape.slice(leading ?? 0).reduce((a, b) => a * b, 1);
    if (leading === undefined || x.dtype !== 'float32' || rows * cols === 0) return stock(args);
    const backend = WasmBackend.of(args.backend);
    const rest = x.shape.slice(leading);
    const out = backend.output(keepDims ? [...x.shape.slice(0, leading).map(() => 1), ...rest] : rest, 'float32');
    const [xAt, outAt] = backend.offsets(x, out);
    simdKernels(backend).sumRows(xAt, outAt, rows, cols);
    return out;
  });
}
