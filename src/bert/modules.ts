/**
 * Modules in PyTorch's manner: each knows its Hugging Face name, creates its parameters in the
 * model's `Parameters` once, in its constructor (`<name>.weight`, `<name>.bias`), and reads them in
 * its forward pass. A model is a tree of them (layers.ts, model.ts, mlm-head.ts, heads.ts), so its
 * structure and its parameter names are declared once, by that tree.
 *
 * An adapter stands in for a Linear module (PEFT's `_replace_module`): `replaceLinear` puts a
 * `WrappedLinear` where the module was, and the forward pass calls whatever stands there.
 */
import * as tf from '@tensorflow/tfjs';
import { embeddingLookup, gelu, layerNorm, linear, reshape, type ForwardContext } from '../ops.js';
import type { Init, Parameters } from './weights.js';

export abstract class Module {
  /** @param name the Hugging Face module name (`bert.encoder.layer.0.attention.self.query`; '' for a task model) */
  constructor(readonly name: string) {}

  /** The direct submodules: the fields that hold a module, or an array of modules, in definition order. */
  children(): Module[] {
    return Object.values(this).flatMap((v) => (v instanceof Module ? [v] : Array.isArray(v) ? v.filter((m): m is Module => m instanceof Module) : []));
  }

  /** This module and every module below it, each parent before its children (PyTorch's `modules()`). */
  modules(): Module[] {
    return [this, ...this.children().flatMap((m) => m.modules())];
  }

  /** The names of the Linear modules below (and of what stands in for them), in definition order. */
  linearNames(): string[] {
    return this.modules().filter((m) => m instanceof LinearModule).map((m) => m.name);
  }

  /** Puts `wrap(module)` where the Linear module `name` stands, and returns it. */
  replaceLinear<T extends LinearModule>(name: string, wrap: (module: LinearModule) => T): T {
    // Parents come before their children, so the field that holds a wrapper is found before the wrapper's own `base`.
    for (const parent of this.modules()) {
      const fields = parent as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(fields)) {
        if (value instanceof LinearModule && value.name === name) return (fields[key] = wrap(value)) as T;
      }
    }
    throw new Error(`the model has no Linear module ${name}; see linearNames()`);
  }
}

/** What may stand where a Linear module does: a map over the last axis, `inFeatures` to `outFeatures`. */
export abstract class LinearModule extends Module {
  constructor(name: string, readonly inFeatures: number, readonly outFeatures: number) {
    super(name);
  }

  abstract forward(x: tf.Tensor, context: ForwardContext): tf.Tensor;
}

/** `f` over the rows of `x` (vectors along its last axis), returned in x's leading shape. */
export function overRows(x: tf.Tensor, f: (rows: tf.Tensor2D) => tf.Tensor): tf.Tensor {
  const shape: number[] = x.shape;
  const rows = reshape<tf.Tensor2D>(x, [-1, shape[shape.length - 1]]);
  const y = f(rows);
  return reshape(y, [...shape.slice(0, -1), (y.shape as number[])[1]]);
}

export interface LinearOptions {
  /** Default true. */
  bias?: boolean;
  /** The weight's fresh initialisation. Default 'normal' (transformers' for BERT's Linear modules). */
  init?: Init;
}

/** PyTorch's nn.Linear: `x @ W + b`, with W stored `[in, out]` (see weights.ts). */
export class Linear extends LinearModule {
  readonly weight: tf.Variable;
  readonly bias?: tf.Variable;

  constructor(params: Parameters, name: string, inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super(name, inFeatures, outFeatures);
    this.weight = params.create(`${name}.weight`, { shape: [inFeatures, outFeatures], init: options.init ?? 'normal', linear: true });
    if (options.bias ?? true) this.bias = params.create(`${name}.bias`, { shape: [outFeatures], init: 'zeros' });
  }

  forward(x: tf.Tensor): tf.Tensor {
    return overRows(x, (rows) => linear(rows, this.weight as tf.Tensor2D, this.bias as tf.Tensor1D | undefined));
  }
}

/**
 * A module standing where a Linear module stood and computing with it: an adapter (LoRA, a
 * bottleneck). Its base module and its own modules are not the model's, so it has no children.
 */
export abstract class WrappedLinear<B extends LinearModule = LinearModule> extends LinearModule {
  constructor(readonly base: B) {
    super(base.name, base.inFeatures, base.outFeatures);
  }

  override children(): Module[] {
    return [];
  }
}

/** PyTorch's nn.LayerNorm over the last axis (`weight` 1, `bias` 0 when fresh). */
export class LayerNorm extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(params: Parameters, name: string, size: number, readonly eps: number) {
    super(name);
    this.weight = params.create(`${name}.weight`, { shape: [size], init: 'ones' });
    this.bias = params.create(`${name}.bias`, { shape: [size], init: 'zeros' });
  }

  forward<T extends tf.Tensor>(x: T): T {
    return layerNorm(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D, this.eps);
  }
}

/** PyTorch's nn.Embedding: rows of `weight` `[rows, width]`; the `paddingIdx` row starts at zero. */
export class Embedding extends Module {
  readonly weight: tf.Variable;

  constructor(params: Parameters, name: string, rows: number, width: number, paddingIdx?: number) {
    super(name);
    this.weight = params.create(`${name}.weight`, { shape: [rows, width], init: 'normal', ...(paddingIdx === undefined ? {} : { paddingIdx }) });
  }

  forward(ids: tf.Tensor): tf.Tensor {
    return embeddingLookup(this.weight, ids);
  }
}

/** The activation a config names (`hidden_act`): BERT's exact erf GELU, or ReLU. */
export function activation(name: string): (x: tf.Tensor) => tf.Tensor {
  return name === 'relu' ? (x) => tf.relu(x) : (x) => gelu(x);
}
