/**
 * The project's own kernels and gradients, installed once by `initBackend` before the backend
 * starts. Each module says why it exists; tests/kernels.test.ts checks each against tfjs'
 * reference ops on cpu.
 */
import * as tf from '@tensorflow/tfjs';
import { registerAdamWKernels } from './adamw.js';
import { useExplicitTransposeGradient } from './matmul-gradient.js';
import { registerWasmBatchMatMul } from './wasm-batch-matmul.js';
import { registerWasmCrossEntropy } from './wasm-cross-entropy.js';
import { registerWasmGather } from './wasm-gather.js';
import { registerWasmGelu } from './wasm-gelu.js';
import { registerWasmIdentity } from './wasm-identity.js';
import { registerWasmLayerNorm } from './wasm-layer-norm.js';
import { registerWasmScatterNd } from './wasm-scatter.js';
import { registerWasmSum } from './wasm-sum.js';
import { registerWasmTranspose } from './wasm-transpose.js';

let gradientsInstalled = false;

/**
 * Registers the custom gradients (global; once, so that a later `useExplicitTransposeGradient(false)`
 * holds) and the custom kernels of the backends loaded so far.
 */
export function installKernels(): void {
  if (!gradientsInstalled) {
    useExplicitTransposeGradient(true);
    gradientsInstalled = true;
  }
  registerAdamWKernels();
  if (tf.findBackendFactory('wasm')) {
    registerWasmBatchMatMul();
    registerWasmTranspose();
    registerWasmSum();
    registerWasmGather();
    registerWasmGelu();
    registerWasmCrossEntropy();
    registerWasmLayerNorm();
    registerWasmScatterNd();
    registerWasmIdentity();
  }
}
