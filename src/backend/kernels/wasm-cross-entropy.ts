/**
 * The softmax cross-entropy's two passes over the logits on the wasm backend, as simd.wat's
 * kernels: the rows' log-sum-exp (forward), and the gradient `(softmax - onehot) dy / rows`
 * (backward), each reading the logits once or twice, four lanes at a time.
 *
 * Why: the masked-language-model loss is a softmax over the 30,522-word vocabulary at every masked
 * token ([614, 30522] at bert-tiny, batch 32, seq 128). Written with tfjs ops it is nine kernels
 * over that matrix (Max, Sub, Exp, Sum, Log; Multiply, ScatterNd, Sub in the backward), and
 * tfjs-backend-wasm's Exp is a scalar loop: about 220 ms of a 1,050 ms pretraining step.
 */
import * as tf from '@tensorflow/tfjs';
import { defineKernel, WasmBackend, type KernelArgs } from '../tfjs-internals/index.js';
import { simdKernels } from './simd-kernels.js';

/** x `[rows, cols]` -> `[rows]`: log(sum over c of exp(x[r, c])). */
export const LOG_SUM_EXP_KERNEL = 'FinetuneLabLogSumExpRows';
/** (logits `[rows, cols]`, lse `[rows]`, targets `[rows]` int32, dy scalar) -> `(softmax(logits) - onehot(targets)) dy / rows`. */
export const CROSS_ENTROPY_GRAD_KERNEL = 'FinetuneLabCrossEntropyGrad';

function logSumExpRows({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const wasm = WasmBackend.of(backend);
  const [rows, cols] = inputs.x!.shape;
  const stats = wasm.output([rows, 2], 'float32');
  const out = wasm.output([rows], 'float32');
  const [xAt, statsAt] = wasm.offsets(inputs.x!, stats);
  simdKernels(wasm).rowMaxSumExp(xAt, statsAt, rows, cols);
  // Views after the allocations, which may have grown (and so replaced) the heap.
  const [s, lse] = [stats, out].map((t) => wasm.view(t));
  for (let r = 0; r < rows; r++) lse[r] = s[2 * r] + Math.log(s[2 * r + 1]);
  wasm.free(stats);
  return out;
}

function crossEntropyGrad({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const wasm = WasmBackend.of(backend);
  const { logits, lse, targets, dy } = inputs as Record<string, tf.TensorInfo>;
  const [rows, cols] = logits.shape;
  const out = wasm.output([rows, cols], 'float32');
  const scale = wasm.view(dy)[0] / rows;
  const [xAt, lseAt, outAt] = wasm.offsets(logits, lse, out);
  simdKernels(wasm).expShifted(xAt, lseAt, outAt, rows, cols, scale);
  const [grad, ids] = [out, targets].map((t) => wasm.view(t));
  for (let r = 0; r < rows; r++) {
    const id = ids[r];
    if (!(id >= 0 && id < cols)) throw new Error(`cross-entropy: target ${id} of row ${r} is not a class id below ${cols}`);
    grad[r * cols + id] -= scale;
  }
  return out;
}

/** Registers the kernels for wasm (idempotent). They need float32 logits with 4 columns or more. */
export function registerWasmCrossEntropy(): void {
  defineKernel(LOG_SUM_EXP_KERNEL, 'wasm', logSumExpRows);
  defineKernel(CROSS_ENTROPY_GRAD_KERNEL, 'wasm', crossEntropyGrad);
}
