/**
 * One AdamW update of one parameter (torch.optim.AdamW's arithmetic) as a single kernel.
 *
 * Why: written with tfjs ops the update is a dozen element-wise kernels per parameter, each
 * reading and writing whole tensors (the word embeddings alone are 7.8 M values at bert-mini),
 * and on a GPU each is a dispatch. The fused kernel reads p, m, v, g once and writes p', m', v'.
 * On WebGPU it is three WGSL programs (one per output) instead of about fourteen dispatches; on
 * cpu and wasm a JavaScript loop, with the moments in host memory (see `hostMoments`).
 * Backends without it (tensorflow) run the same formula as tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';
import { callKernel, cpuOutput, cpuValues, defineKernel, hasKernel, runWebGPUProgram, WasmBackend, type KernelArgs, type KernelFunc, type WebGPUProgram } from '../tfjs-internals/index.js';

/** The kernel with the moments as tensors (webgpu): p, m, v, g in; p', m', v' out. */
export const ADAMW_KERNEL = 'FinetuneLabAdamW';
/** The kernel with the moments as host arrays in its attributes, updated in place (cpu, wasm): p, g in; p' out. */
export const ADAMW_HOST_KERNEL = 'FinetuneLabAdamWHost';

/** The per-step constants of one update. */
export interface AdamWStep {
  beta1: number;
  beta2: number;
  eps: number;
  /** `1 - lr * weight_decay`: the decoupled weight decay as a factor. */
  decay: number;
  /** `lr / (1 - beta1^t)`. */
  stepSize: number;
  /** `1 / sqrt(1 - beta2^t)`. */
  invSqrtBias2: number;
}

/**
 * The update, shared by the cpu and wasm kernels (`out` may alias the moments' arrays):
 *   m' = b1 m + (1 - b1) g;  v' = b2 v + (1 - b2) g^2
 *   p' = decay p - stepSize m' / (sqrt(v') invSqrtBias2 + eps)
 */
function update(p: ArrayLike<number>, m: ArrayLike<number>, v: ArrayLike<number>, g: ArrayLike<number>, out: [Float32Array, Float32Array, Float32Array], s: AdamWStep): void {
  const [pOut, mOut, vOut] = out;
  const { beta1, beta2, eps, decay, stepSize, invSqrtBias2 } = s;
  const [c1, c2] = [1 - beta1, 1 - beta2];
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const mi = beta1 * m[i] + c1 * gi;
    const vi = beta2 * v[i] + c2 * gi * gi;
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = decay * p[i] - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBias2 + eps);
  }
}

type HostAttrs = AdamWStep & { m: Float32Array; v: Float32Array };

function cpuKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { p, g } = inputs as { p: tf.TensorInfo; g: tf.TensorInfo };
  const { m, v } = attrs as unknown as HostAttrs;
  const pOut = new Float32Array(m.length);
  update(cpuValues(backend, p), m, v, cpuValues(backend, g), [pOut, m, v], attrs as unknown as HostAttrs);
  return cpuOutput(backend, p.shape, pOut);
}

function wasmKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { p, g } = inputs as { p: tf.TensorInfo; g: tf.TensorInfo };
  const wasm = WasmBackend.of(backend);
  const { m, v } = attrs as unknown as HostAttrs;
  // The output first: an allocation may grow the heap, which detaches views made before it.
  const output = wasm.output(p.shape, 'float32');
  const [pv, gv, pOut] = [p, g, output].map((t) => wasm.view(t) as Float32Array);
  update(pv, m, v, gv, [pOut, m, v], attrs as unknown as HostAttrs);
  return output;
}

/** The WGSL of each output: m' and v' from the inputs, p' from m' and v' (one output per WebGPU program). */
const WGSL: Record<'m' | 'v' | 'p', { inputs: string[]; value: string }> = {
  m: { inputs: ['M', 'G'], value: 'uniforms.beta1 * M[index] + uniforms.c1 * G[index]' },
  v: { inputs: ['V', 'G'], value: 'uniforms.beta2 * V[index] + uniforms.c2 * G[index] * G[index]' },
  p: { inputs: ['P', 'M', 'V'], value: 'uniforms.decay * P[index] - uniforms.stepSize * M[index] / (sqrt(V[index]) * uniforms.invSqrtBias2 + uniforms.eps)' },
};

// c1 = 1 - beta1 and c2 = 1 - beta2 are computed in double precision here, as PyTorch does: in
// f32, 1 - 0.999 is off by 1.3e-5 relative, and v with it.
const UNIFORMS = ['beta1', 'beta2', 'c1', 'c2', 'eps', 'decay', 'stepSize', 'invSqrtBias2'] as const;

function webgpuKernel({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
  const { webgpu_util: util }: typeof import('@tensorflow/tfjs-backend-webgpu') = require('@tensorflow/tfjs-backend-webgpu');
  const { p, m, v, g } = inputs as { p: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo; g: tf.TensorInfo };
  const step = attrs as unknown as AdamWStep;
  const constants = { ...step, c1: 1 - step.beta1, c2: 1 - step.beta2 };
  const uniforms = UNIFORMS.map((name) => ({ type: 'float32', data: [constants[name]] }));
  const run = (output: keyof typeof WGSL, operands: tf.TensorInfo[]) => {
    const outputShape = [tf.util.sizeFromShape(p.shape)];
    const dispatchLayout = util.flatDispatchLayout(outputShape);
    const workgroupSize: [number, number, number] = [128, 1, 1];
    const program: WebGPUProgram = {
      outputShape, dispatchLayout, workgroupSize, size: true,
      dispatch: util.computeDispatch(dispatchLayout, outputShape, workgroupSize),
      variableNames: WGSL[output].inputs,
      uniforms: UNIFORMS.map((name) => `${name} : f32,`).join(' '),
      shaderKey: `finetuneLabAdamW_${output}`,
      getUserCode: () => `
        fn main(index : i32) {
          if (index < uniforms.size) {
            setOutputAtIndex(index, ${WGSL[output].value});
          }
        }`,
    };
    return runWebGPUProgram(backend, program, operands, uniforms);
  };
  const m2 = run('m', [m, g]);
  const v2 = run('v', [v, g]);
  return [run('p', [p, m2, v2]), m2, v2].map((t) => ({ ...t, shape: p.shape }));
}

/** Registers the fused kernels for the backends loaded so far (idempotent). */
export function registerAdamWKernels(): void {
  const kernels: [string, string, KernelFunc][] = [[ADAMW_HOST_KERNEL, 'cpu', cpuKernel], [ADAMW_HOST_KERNEL, 'wasm', wasmKernel], [ADAMW_KERNEL, 'webgpu', webgpuKernel]];
  for (const [name, backendName, func] of kernels) {
    if (tf.findBackendFactory(backendName)) defineKernel(name, backendName, func);
  }
}

/**
 * A parameter's moments: tensors on the device, replaced at each step, or, where the current
 * backend keeps them in host memory (`hostMoments()`), arrays updated in place.
 */
export type Moments = { m: tf.Tensor; v: tf.Tensor } | { m: Float32Array; v: Float32Array };

/**
 * Whether the current backend's AdamW keeps the moments in host memory: cpu and wasm, whose
 * update runs in JavaScript over the tensors' memory anyway. On wasm this takes two thirds of the
 * optimizer's memory out of the heap, which cannot grow past 4 GB (1.3 GB of 4 at bert-base).
 */
export function hostMoments(): boolean {
  return hasKernel(ADAMW_HOST_KERNEL);
}

/** One AdamW step with gradient `g`: the new parameter, and the new moments unless they are host arrays (then updated in place). */
export function adamwUpdate(p: tf.Tensor, g: tf.Tensor, moments: Moments, step: AdamWStep): { p: tf.Tensor; m?: tf.Tensor; v?: tf.Tensor } {
  const { m, v } = moments;
  if (m instanceof Float32Array) {
    if (!hostMoments()) throw new Error(`the ${tf.getBackend()} backend keeps AdamW moments as tensors, not arrays`);
    return { p: callKernel(ADAMW_HOST_KERNEL, { p, g }, { ...step, m, v }) as tf.Tensor };
  }
  if (hasKernel(ADAMW_KERNEL) && g.dtype === 'float32') {
    const [p2, m2, v2] = callKernel(ADAMW_KERNEL, { p, m, v: v as tf.Tensor, g }, step) as tf.Tensor[];
    return { p: p2, m: m2, v: v2 };
  }
  return tf.tidy(() => {
    const { beta1, beta2, eps, decay, stepSize, invSqrtBias2 } = step;
    const m2 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
    const v2 = tf.add(tf.mul(v as tf.Tensor, beta2), tf.mul(tf.square(g), 1 - beta2));
    const denom = tf.add(tf.mul(tf.sqrt(v2), invSqrtBias2), eps);
    const p2 = tf.sub(decay === 1 ? p : tf.mul(p, decay), tf.mul(tf.div(m2, denom), stepSize));
    return { p: p2, m: m2, v: v2 };
  });
}
