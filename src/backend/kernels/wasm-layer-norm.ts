/**
 * Layer normalisation and its input's gradient on the wasm backend as simd.wat's kernels: the
 * forward pass in three passes over each row (mean, centred squares, scale), the gradient in two.
 *
 * Why: with tfjs ops the forward is eight kernels and the backward twelve, each a pass over the
 * activations ([4096, 128] at bert-tiny, batch 32, seq 128), and tfjs-backend-wasm's Mean over the
 * last axis and broadcast Sub and Multiply are slower than an add. A bert-tiny pretraining step
 * normalises six times. (The gradients of gamma and beta are sums over rows, simd.wat's sumRows.)
 */
import * as tf from '@tensorflow/tfjs';
import { defineKernel, WasmBackend, type KernelArgs } from '../tfjs-internals/index.js';
import { simdKernels } from './simd-kernels.js';

/** (x, gamma, beta; attr eps) -> [y, normalised, rstd `[..., 1]`]. */
export const LAYER_NORM_KERNEL = 'FinetuneLabLayerNormKernel';
/** (dy, normalised, rstd, gamma) -> dx. */
export const LAYER_NORM_GRAD_KERNEL = 'FinetuneLabLayerNormGradKernel';

/** Whether the kernels take x: float32, with a last axis of 4 or more, a multiple of 4. */
export function layerNormKernelFits(x: tf.TensorInfo): boolean {
  const cols = x.shape[x.shape.length - 1];
  return x.dtype === 'float32' && cols >= 4 && cols % 4 === 0 && tf.util.sizeFromShape(x.shape) > 0;
}

function layerNorm({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const wasm = WasmBackend.of(backend);
  const { x, gamma, beta } = inputs as Record<string, tf.TensorInfo>;
  const cols = x.shape[x.shape.length - 1];
  const outputs = [wasm.output(x.shape, 'float32'), wasm.output(x.shape, 'float32'), wasm.output([...x.shape.slice(0, -1), 1], 'float32')];
  const offsets = wasm.offsets(x, gamma, beta, ...outputs);
  simdKernels(wasm).layerNorm(...(offsets as [number, number, number, number, number, number]), tf.util.sizeFromShape(x.shape) / cols, cols, (attrs as { eps: number }).eps);
  return outputs;
}

function layerNormGrad({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const wasm = WasmBackend.of(backend);
  const { dy, normalised, rstd, gamma } = inputs as Record<string, tf.TensorInfo>;
  const cols = dy.shape[dy.shape.length - 1];
  const dx = wasm.output(dy.shape, 'float32');
  const offsets = wasm.offsets(dy, normalised, rstd, gamma, dx);
  simdKernels(wasm).layerNormGrad(...(offsets as [number, number, number, number, number]), tf.util.sizeFromShape(dy.shape) / cols, cols);
  return dx;
}

/** Registers the kernels for wasm (idempotent); they take what `layerNormKernelFits` accepts. */
export function registerWasmLayerNorm(): void {
  defineKernel(LAYER_NORM_KERNEL, 'wasm', layerNorm);
  defineKernel(LAYER_NORM_GRAD_KERNEL, 'wasm', layerNormGrad);
}
