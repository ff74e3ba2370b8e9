/**
 * The softmax cross-entropy's passes over the logits on the wasm backend, as simd.wat's kernels:
 * forward, each row's maximum, then its exponentials (kept) and their sum; backward, the
 * gradient `(softmax - onehot) dy / rows` from those in one pass, four lanes at a time.
 *
 * Why: the masked-language-model loss is a softmax over the 30,522-word vocabulary at every masked
 * token ([614, 30522] at bert-tiny, batch 32, seq 128). Written with tfjs ops it is nine kernels
 * over that matrix (Max, Sub, Exp, Sum, Log; Multiply, ScatterNd, Sub in the backward), and
 * tfjs-backend-wasm's Exp is a scalar loop: about 220 ms of a 1,050 ms pretraining step.
 */
import * as tf from '@tensorflow/tfjs';
import { defineKernel, WasmBackend, type KernelArgs } from '../tfjs-internals/index.js';
import { simdKernels } from './simd-kernels.js';

/**
 * logits `[rows, cols]` -> [lse `[rows]` (log of the sum of exp over each row), e `[rows, cols]`
 * (exp(logits - row max)), stats `[rows, 2]` (row max, sum of the row of e)].
 */
export const SOFTMAX_PARTS_KERNEL = 'FinetuneLabSoftmaxParts';
/** (e, stats, targets `[rows]` int32, dy scalar) -> `(softmax(logits) - onehot(targets)) dy / rows`. */
export const CROSS_ENTROPY_GRAD_KERNEL = 'FinetuneLabCrossEntropyGrad';

function softmaxParts({ inputs, backend }: KernelArgs): tf.TensorInfo[] {
  const wasm = WasmBackend.of(backend);
  const [rows, cols] = inputs.logits!.shape;
  const [lse, e, stats] = [wasm.output([rows], 'float32'), wasm.output([rows, cols], 'float32'), wasm.output([rows, 2], 'float32')];
  const [xAt, eAt, statsAt] = wasm.offsets(inputs.logits!, e, stats);
  simdKernels(wasm).softmaxParts(xAt, eAt, statsAt, rows, cols);
  // Views after the allocations, which may have grown (and so replaced) the heap.
  const [s, l] = [stats, lse].map((t) => wasm.view(t));
  for (let r = 0; r < rows; r++) l[r] = s[2 * r] + Math.log(s[2 * r + 1]);
  return [lse, e, stats];
}

function crossEntropyGrad({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const wasm = WasmBackend.of(backend);
  const { e, stats, targets, dy } = inputs as Record<string, tf.TensorInfo>;
  const [rows, cols] = e.shape;
  const out = wasm.output([rows, cols], 'float32');
  const scale = wasm.view(dy)[0] / rows;
  const [eAt, statsAt, outAt] = wasm.offsets(e, stats, out);
  simdKernels(wasm).softmaxScaled(eAt, statsAt, outAt, rows, cols, scale);
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
  defineKernel(SOFTMAX_PARTS_KERNEL, 'wasm', softmaxParts);
  defineKernel(CROSS_ENTROPY_GRAD_KERNEL, 'wasm', crossEntropyGrad);
}
