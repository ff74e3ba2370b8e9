/**
 * simd.wat, the project's own SIMD kernels, instantiated on tfjs-backend-wasm's heap so that they
 * run over the tensors' memory itself: GELU and its derivative (wasm-gelu.ts), sums over rows
 * (wasm-sum.ts), the softmax cross-entropy (wasm-cross-entropy.ts). Its assembled binaries are
 * simd-binaries.ts.
 */
import { SIMD_WASM, SIMD_WASM_SHARED } from './simd-binaries.js';
import type { WasmBackend } from '../tfjs-internals/index.js';

/** simd.wat's functions; every pointer is a byte offset in the heap, every count in elements. */
export interface SimdKernels {
  /** y = gelu(x); n >= 4. */
  gelu(x: number, y: number, n: number): void;
  /** dx = dy gelu'(x); n >= 4. */
  geluGrad(x: number, dy: number, dx: number, n: number): void;
  /** out[c] = sum over r of x[r, c]. */
  sumRows(x: number, out: number, rows: number, cols: number): void;
  /** stats[2r] = max of row r of x, e[r, c] = exp(x[r, c] - max), stats[2r + 1] = sum of row r of e; cols >= 4. */
  softmaxParts(x: number, e: number, stats: number, rows: number, cols: number): void;
  /** out[r, c] = e[r, c] scale / stats[2r + 1]; cols >= 4. */
  softmaxScaled(e: number, stats: number, out: number, rows: number, cols: number, scale: number): void;
  /** out[c, r] = x[r, c] for r < rows & ~3, c < cols & ~3 (4-byte elements). */
  transpose(x: number, out: number, rows: number, cols: number): void;
  /** Layer normalisation of rows (cols a multiple of 4): y, the normalised rows and 1 / sqrt(var + eps) per row. */
  layerNorm(x: number, gamma: number, beta: number, y: number, normalised: number, rstd: number, rows: number, cols: number, eps: number): void;
  /** layerNorm's gradient of x for dy. */
  layerNormGrad(dy: number, normalised: number, rstd: number, gamma: number, dx: number, rows: number, cols: number): void;
}

const instances = new WeakMap<WasmBackend, SimdKernels>();

/** simd.wat instantiated on the backend's own memory (shared in the threaded build). */
export function simdKernels(backend: WasmBackend): SimdKernels {
  let exports = instances.get(backend);
  if (!exports) {
    const memory = backend.memory;
    const bytes = Buffer.from(memory.buffer instanceof SharedArrayBuffer ? SIMD_WASM_SHARED : SIMD_WASM, 'base64');
    exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as SimdKernels;
    instances.set(backend, exports);
  }
  return exports;
}
