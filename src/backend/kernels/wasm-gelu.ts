/**
 * GELU and its derivative on the wasm backend as simd.wat's kernels (simd-kernels.ts).
 *
 * Why: GELU written with tfjs ops is six kernels, and tfjs-backend-wasm's Erf is a scalar loop
 * (5 ns an element). At bert-mini, batch 8, seq 128 on two threads the forward pass spent 29 ms
 * of its 251 in GELU, 21 of them in Erf; the derivative adds Exp and four more kernels.
 * simd.wat computes each in one pass, four lanes at a time.
 */
import * as tf from '@tensorflow/tfjs';
import { defineKernel, WasmBackend, type KernelArgs } from '../tfjs-internals/index.js';
import { simdKernels } from './simd-kernels.js';

/** x -> gelu(x). */
export const GELU_KERNEL = 'FinetuneLabGeluKernel';
/** (x, dy) -> dy gelu'(x). */
export const GELU_GRAD_KERNEL = 'FinetuneLabGeluGradKernel';

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
    defineKernel(kernelName, 'wasm', kernel(name));
  }
}
