/**
 * One AdamW update of one parameter (torch.optim.AdamW's arithmetic) as a single kernel.
 *
 * Why: written with tfjs ops the update is a dozen element-wise kernels per parameter, each
 * reading and writing whole tensors (the word embeddings alone are 7.8 M values at bert-mini),
 * and on a GPU each is a dispatch. The fused kernel reads p, m, v, g once and writes p', m', v'.
 * On WebGPU it is three WGSL programs (one per output) instead of about fourteen dispatches.
 * Backends without it (tensorflow) run the same formula as tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';

export const ADAMW_KERNEL = 'FinetuneLabAdamW';

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
 * The update of one element, shared by the cpu and wasm kernels:
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

type Inputs = { p: tf.TensorInfo; m: tf.TensorInfo; v: tf.TensorInfo; g: tf.TensorInfo };

interface CpuBackend {
  data: { get(dataId: object): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

function cpuKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const { p, m, v, g } = inputs as Inputs;
  const cpu = backend as CpuBackend;
  const n = tf.util.sizeFromShape(p.shape);
  const out: [Float32Array, Float32Array, Float32Array] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const [pv, mv, vv, gv] = [p, m, v, g].map((t) => cpu.data.get(t.dataId).values);
  update(pv, mv, vv, gv, out, attrs as unknown as AdamWStep);
  return out.map((values) => cpu.makeTensorInfo(p.shape, 'float32', values));
}

function wasmKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const { p, m, v, g } = inputs as Inputs;
  const wasm = backend as WasmBackend;
  // All outputs first: an allocation may grow the heap, which detaches views made before it.
  const outputs = [0, 1, 2].map(() => wasm.makeOutput(p.shape, 'float32'));
  const [pv, mv, vv, gv, ...out] = [p, m, v, g, ...outputs].map((t) => wasm.typedArrayFromHeap(t));
  update(pv, mv, vv, gv, out as [Float32Array, Float32Array, Float32Array], attrs as unknown as AdamWStep);
  return outputs;
}

/** The WGSL of each output: m' and v' from the inputs, p' from m' and v' (one output per WebGPU program). */
const WGSL: Record<'m' | 'v' | 'p', { inputs: string[]; value: string }> = {
  m: { inputs: ['M', 'G'], value: 'uniforms.beta1 * M[index] + (1.0 - uniforms.beta1) * G[index]' },
  v: { inputs: ['V', 'G'], value: 'uniforms.beta2 * V[index] + (1.0 - uniforms.beta2) * G[index] * G[index]' },
  p: { inputs: ['P', 'M', 'V'], value: 'uniforms.decay * P[index] - uniforms.stepSize * M[index] / (sqrt(V[index]) * uniforms.invSqrtBias2 + uniforms.eps)' },
};

const UNIFORMS = ['beta1', 'beta2', 'eps', 'decay', 'stepSize', 'invSqrtBias2'] as const;

interface WebGPUBackend {
  runWebGPUProgram(program: object, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms: { type: string; data: number[] }[]): tf.TensorInfo;
}

function webgpuKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const { webgpu_util: util }: typeof import('@tensorflow/tfjs-backend-webgpu') = require('@tensorflow/tfjs-backend-webgpu');
  const { p, m, v, g } = inputs as Inputs;
  const gpu = backend as WebGPUBackend;
  const step = attrs as unknown as AdamWStep;
  const uniforms = UNIFORMS.map((name) => ({ type: 'float32', data: [step[name]] }));
  const run = (output: keyof typeof WGSL, operands: tf.TensorInfo[]) => {
    const outputShape = [tf.util.sizeFromShape(p.shape)];
    const dispatchLayout = util.flatDispatchLayout(outputShape);
    const workgroupSize: [number, number, number] = [128, 1, 1];
    const program = {
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
    return gpu.runWebGPUProgram(program, operands, 'float32', uniforms);
  };
  const m2 = run('m', [m, g]);
  const v2 = run('v', [v, g]);
  return [run('p', [p, m2, v2]), m2, v2].map((t) => ({ ...t, shape: p.shape }));
}

/** Registers the fused kernel for the backends loaded so far (idempotent). */
export function registerAdamWKernels(): void {
  const kernels = [['cpu', cpuKernel], ['wasm', wasmKernel], ['webgpu', webgpuKernel]] as const;
  for (const [backendName, kernelFunc] of kernels) {
    if (tf.findBackendFactory(backendName) && !tf.getKernel(ADAMW_KERNEL, backendName)) {
      tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
    }
  }
}

/** The parameter, first moment and second moment after one AdamW step with gradient `g`. */
export function adamwUpdate(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, step: AdamWStep): [tf.Tensor, tf.Tensor, tf.Tensor] {
  if (tf.getKernel(ADAMW_KERNEL, tf.getBackend()) && g.dtype === 'float32') {
    return tf.engine().runKernel(ADAMW_KERNEL, { p, m, v, g }, step as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
  }
  return tf.tidy(() => {
    const { beta1, beta2, eps, decay, stepSize, invSqrtBias2 } = step;
    const m2 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
    const v2 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
    const denom = tf.add(tf.mul(tf.sqrt(v2), invSqrtBias2), eps);
    const p2 = tf.sub(decay === 1 ? p : tf.mul(p, decay), tf.mul(tf.div(m2, denom), stepSize));
    return [p2, m2, v2];
  });
}
