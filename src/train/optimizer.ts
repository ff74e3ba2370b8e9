/**
 * AdamW with the exact semantics of PyTorch's `torch.optim.AdamW` (Loshchilov & Hutter):
 *
 *   p <- p * (1 - lr * weight_decay)                     (decoupled weight decay)
 *   m <- b1 * m + (1 - b1) * g;   v <- b2 * v + (1 - b2) * g^2
 *   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * State (step, m, v) lives in tensors on GPU backends and in host arrays on cpu and wasm
 * (`hostMoments`), and exports to named float32 arrays (the shape `writeSafetensors` takes) for
 * checkpoint and resume.
 */
import * as tf from '@tensorflow/tfjs';
import { explainWasmAbort } from '../backend/index.js';
import { adamwUpdate, hostMoments, type Moments } from '../backend/kernels/adamw.js';
import { gradientsOf } from './backprop.js';

/** Parameters sharing one weight decay. */
export interface ParamGroup {
  params: [string, tf.Variable][];
  /** Overrides the optimizer's weight decay for this group. */
  weightDecay?: number;
}

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  /** Default 0.01, as torch.optim.AdamW. */
  weightDecay?: number;
}

/** A named float32 array, as `writeSafetensors` takes it. */
export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** The optimizer's state: the step count and the moments of every parameter that has been updated. */
export interface AdamWState {
  /** `applyGradients` calls so far. */
  step: number;
  /** Per updated parameter, PyTorch's state names: `${param}.exp_avg` (m), `${param}.exp_avg_sq` (v), `${param}.step` (a scalar). */
  tensors: NamedArray[];
}

/**
 * transformers' Trainer split: no weight decay for biases and LayerNorm parameters, `weightDecay`
 * for everything else.
 */
export function trainerParamGroups(params: [string, tf.Variable][], weightDecay: number): ParamGroup[] {
  const noDecay = (name: string) => name.endsWith('.bias') || /LayerNorm\./.test(name);
  return [
    { params: params.filter(([n]) => !noDecay(n)), weightDecay },
    { params: params.filter(([n]) => noDecay(n)), weightDecay: 0 },
  ];
}

interface Slot {
  variable: tf.Variable;
  weightDecay: number;
  /** Updates so far: per parameter, as in PyTorch, so that a parameter skipped for a while is corrected right. */
  step: number;
  moments?: Moments;
}

export class AdamW {
  /** Learning rate of the next step; a schedule sets it before each step. */
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  private readonly slots = new Map<string, Slot>();
  private stepCount = 0;

  /**
   * @param params named parameters (all with the default weight decay, as torch.optim.AdamW) or
   *   parameter groups (e.g. `trainerParamGroups`)
   */
  constructor(params: [string, tf.Variable][] | ParamGroup[], options: AdamWOptions) {
    this.lr = options.lr;
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    const groups = isGroups(params) ? params : [{ params }];
    for (const group of groups) {
      for (const [name, variable] of group.params) {
        if (this.slots.has(name)) throw new Error(`parameter ${name} is in two parameter groups`);
        this.slots.set(name, { variable, weightDecay: group.weightDecay ?? options.weightDecay ?? 0.01, step: 0 });
      }
    }
  }

  /** `applyGradients` calls so far. */
  get step(): number {
    return this.stepCount;
  }

  /**
   * Updates every parameter that has a gradient in `grads` (keyed by parameter name); parameters
   * without one are left alone, as PyTorch skips parameters whose `.grad` is None.
   */
  applyGradients(grads: Map<string, tf.Tensor> | Record<string, tf.Tensor>): void {
    const entries = grads instanceof Map ? [...grads] : Object.entries(grads);
    for (const [name] of entries) if (!this.slots.has(name)) throw new Error(`gradient for ${name}, which this optimizer does not update`);
    this.stepCount++;
    const [b1, b2] = this.betas;
    for (const [name, g] of entries) {
      const slot = this.slots.get(name)!;
      slot.moments ??= zeroMoments(slot.variable);
      const t = ++slot.step;
      // One fused kernel per parameter where the backend has it (src/backend/kernels/adamw.ts).
      const next = adamwUpdate(slot.variable, g, slot.moments, {
        beta1: b1, beta2: b2, eps: this.eps,
        decay: 1 - this.lr * slot.weightDecay,
        stepSize: this.lr / (1 - b1 ** t),
        invSqrtBias2: 1 / Math.sqrt(1 - b2 ** t),
      });
      // assign() takes over next.p's data and frees the old value's, so next.p itself is disposed here.
      slot.variable.assign(next.p);
      next.p.dispose();
      if (next.m && next.v) {
        tf.dispose([slot.moments.m as tf.Tensor, slot.moments.v as tf.Tensor]);
        slot.moments = { m: next.m, v: next.v };
      }
    }
  }

  /** The state for a checkpoint (copies; the optimizer keeps its own). Async: webgpu reads only asynchronously. */
  async exportState(): Promise<AdamWState> {
    const tensors: NamedArray[] = [];
    const copy = async (x: tf.Tensor | Float32Array) => (x instanceof Float32Array ? x.slice() : ((await x.data()) as Float32Array));
    for (const [name, slot] of this.slots) {
      if (!slot.moments) continue;
      const shape = slot.variable.shape;
      tensors.push({ name: `${name}.exp_avg`, shape, data: await copy(slot.moments.m) });
      tensors.push({ name: `${name}.exp_avg_sq`, shape, data: await copy(slot.moments.v) });
      tensors.push({ name: `${name}.step`, shape: [], data: new Float32Array([slot.step]) });
    }
    return { step: this.stepCount, tensors };
  }

  /** Restores a state written by `exportState` (for resuming training). */
  importState(state: AdamWState): void {
    const byName = new Map(state.tensors.map((t) => [t.name, t]));
    for (const [name, slot] of this.slots) {
      const m = byName.get(`${name}.exp_avg`);
      const v = byName.get(`${name}.exp_avg_sq`);
      const step = byName.get(`${name}.step`);
      if (!m || !v || !step) continue;
      for (const t of [m, v]) {
        if (t.shape.join() !== slot.variable.shape.join()) {
          throw new Error(`optimizer state ${t.name} has shape [${t.shape}] but the parameter has [${slot.variable.shape}]; the state belongs to another model`);
        }
      }
      disposeMoments(slot);
      slot.moments = hostMoments() ? { m: m.data.slice(), v: v.data.slice() } : { m: tf.tensor(m.data, m.shape), v: tf.tensor(v.data, v.shape) };
      slot.step = step.data[0];
    }
    this.stepCount = state.step;
  }

  /** Frees the moments. */
  dispose(): void {
    for (const slot of this.slots.values()) disposeMoments(slot);
  }
}

/** Zero moments for a parameter, where the current backend keeps them. */
function zeroMoments(p: tf.Variable): Moments {
  return hostMoments() ? { m: new Float32Array(p.size), v: new Float32Array(p.size) } : { m: tf.zerosLike(p), v: tf.zerosLike(p) };
}

function disposeMoments(slot: Slot): void {
  if (slot.moments && !(slot.moments.m instanceof Float32Array)) tf.dispose([slot.moments.m, slot.moments.v as tf.Tensor]);
  slot.moments = undefined;
}

function isGroups(params: [string, tf.Variable][] | ParamGroup[]): params is ParamGroup[] {
  return params.length > 0 && !Array.isArray(params[0]);
}

/**
 * The loss and the gradients of the given named variables (by name), freeing activations as the
 * backward pass goes (backprop.ts). Only trainable variables are differentiated, so frozen
 * parameters get no gradient, nor does a variable the loss does not depend on. A wasm abort (its
 * memory ran out) comes out as an error that says what to do.
 */
export function valueAndGrads(loss: () => tf.Scalar, params: [string, tf.Variable][]): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
  try {
    const { value, grads } = gradientsOf(loss, params.map(([, v]) => v));
    return { value, grads: new Map(params.filter(([, v]) => grads.has(v)).map(([name, v]) => [name, grads.get(v)!])) };
  } catch (err) {
    throw explainWasmAbort(err, 'a training step');
  }
}

/**
 * Gradient accumulation: the loss and gradients of one batch computed in parts, one part's
 * activations alive at a time, which is how a batch too large for memory still trains as one.
 * `loss(i)` is part i's mean loss and `weights[i]` its share of the batch's examples, so the sums
 * are the whole batch's mean loss and its gradients, as one pass over the batch would give them.
 */
export function accumulatedValueAndGrads(loss: (part: number) => tf.Scalar, weights: readonly number[], params: [string, tf.Variable][]): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
  if (weights.length === 1) return valueAndGrads(() => loss(0), params);
  let total: { value: tf.Scalar; grads: Map<string, tf.Tensor> } | undefined;
  weights.forEach((weight, i) => {
    const part = valueAndGrads(() => tf.mul(loss(i), weight), params);
    if (!total) {
      total = part;
      return;
    }
    // One gradient at a time, each sum replacing its two terms, so that the sums need no more
    // than one more parameter's memory than the two sets of gradients themselves.
    for (const [name, g] of part.grads) {
      const sum = total.grads.get(name);
      total.grads.set(name, sum ? tf.add(sum, g) : g);
      if (sum) tf.dispose([sum, g]);
    }
    const value = tf.add(total.value, part.value) as tf.Scalar;
    tf.dispose([total.value, part.value]);
    total.value = value;
  });
  return total!;
}
