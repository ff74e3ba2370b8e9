/**
 * Our own SIMD kernels (simd.wat) on the wasm backend, run over the tensors' memory in
 * tfjs-backend-wasm's heap: GELU and its derivative here, sums over rows in wasm-sum.ts.
 *
 * Why: GELU written with tfjs ops is six kernels, and tfjs-backend-wasm's Erf is a scalar loop
 * (5 ns an element). At bert-mini, batch 8, seq 128 on two threads the forward pass spent 29 ms
 * of its 251 in GELU, 21 of them in Erf; the derivative adds Exp and four more kernels.
 * simd.wat computes each in one pass, four lanes at a time.
 */
import * as tf from '@tensorflow/tfjs';
import { SIMD_WASM, SIMD_WASM_SHARED } from './simd-wasm.js';
import { registerKernel, WasmBackend, type KernelArgs } from '../tfjs-internals/index.js';

/** x -> gelu(x). */
export const GELU_KERNEL = 'FinetuneLabGeluKernel';
/** (x, dy) -> dy gelu'(x). */
export const GELU_GRAD_KERNEL = 'FinetuneLabGeluGradKernel';

/** simd.wat's functions; every pointer is a byte offset in the heap, every count in elements. */
export interface SimdKernels {
  /** y = gelu(x); n >= 4. */
  gelu(x: number, y: number, n: number): void;
  /** dx = dy gelu'(x); n >= 4. */
  geluGrad(x: number, dy: number, dx: number, n: number): void;
  /** out[c] = sum over r of x[r, c]. */
  sumRows(x: number, out: number, rows: number, cols: number): void;
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

/** Runs gelu or geluGrad on `inputs` into a new tensor shaped as the first. */
function kernel(name: 'gelu' | 'geluGrad') {
  return ({ inputs, backend }: KernelArgs): tf.TensorInfo => {
    const wasm = WasmBackend.of(backend);
    const operands = name === 'gelu' ? [inputs.x!] : [inputs.x!, inputs.dy!];
    const out = wasm.output(operands[0].shape, 'float32');
    const offsets = wasm.offsets(...operands, out);
    (simdKernels(wasm)[name] as (...args: number[]) => void)(...offsets, tf.util.sizeFromShape(out.shape));
    return out;
  };
}

/** Registers the kernels for wasm (idempotent). They need float32 tensors of 4 elements or more. */
export function registerWasmGelu(): void {
  for (const [kernelName, name] of [[GELU_KERNEL, 'gelu'], [GELU_GRAD_KERNEL, 'geluGrad']] as const) {
    registerKernel(kernelName, 'wasm', kernel(name));
  }
}
