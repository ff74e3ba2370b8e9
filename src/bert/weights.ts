/**
 * The model's parameters: tf.Variables named exactly as Hugging Face names them
 * (`bert.encoder.layer.0.attention.self.query.weight`), and the mapping between those names and
 * checkpoint keys (with or without the `bert.` prefix, legacy `gamma`/`beta`).
 *
 * Linear weights are stored `[in, out]` so that `x @ W` runs without a transpose (tfjs' transposed
 * products are several times slower on wasm); PyTorch stores them `[out, in]`, so they are
 * transposed once, at the checkpoint boundary (`toHfLayout`, `fromHfLayout`).
 */
import * as tf from '@tensorflow/tfjs';

/** How a fresh parameter is initialised, as transformers' `_init_weights` does for BERT. */
export type Init = 'normal' | 'zeros' | 'ones';

export interface ParameterSpec {
  /** Shape as stored here (Linear weights `[in, out]`). */
  shape: number[];
  init: Init;
  /** A Linear weight: stored transposed with respect to PyTorch. */
  linear?: boolean;
  /** An embedding row that transformers initialises to zero (the padding token). */
  paddingIdx?: number;
}

export interface Parameter extends ParameterSpec {
  variable: tf.Variable;
}

/**
 * Supplies a parameter's initial value in Hugging Face layout (e.g. from a checkpoint), or
 * undefined to initialise it freshly.
 */
export type ParameterSource = (name: string, spec: ParameterSpec) => tf.Tensor | undefined;

/** The shape of a parameter in Hugging Face (PyTorch) layout. */
export function hfShape(spec: ParameterSpec): number[] {
  return spec.linear ? [spec.shape[1], spec.shape[0]] : spec.shape;
}

/** A copy of a parameter's value (or gradient) in Hugging Face layout. */
export function toHfLayout(spec: ParameterSpec, value: tf.Tensor): tf.Tensor {
  return spec.linear ? tf.transpose(value) : value.clone();
}

/** A tensor given in Hugging Face layout, brought to the layout stored here. */
export function fromHfLayout(spec: ParameterSpec, value: tf.Tensor): tf.Tensor {
  return spec.linear ? tf.transpose(value) : value;
}

/** The prefix of the encoder's parameters in task models (`base_model_prefix`). */
export const BASE_PREFIX = 'bert.';

/**
 * The checkpoint keys that may hold a parameter, in order of preference: the name itself, the
 * name without / with the `bert.` prefix (BertModel checkpoints have none), and the legacy
 * `LayerNorm.gamma`/`beta` of checkpoints converted from TensorFlow (bert-base-uncased).
 */
export function checkpointKeys(name: string): string[] {
  const alt = name.startsWith(BASE_PREFIX) ? name.slice(BASE_PREFIX.length) : BASE_PREFIX + name;
  const names = [name, alt];
  const legacy = names.map((n) => n.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'));
  return [...new Set([...names, ...legacy])];
}

/** A model's parameters by Hugging Face name. */
export class Parameters {
  private readonly entries = new Map<string, Parameter>();
  /** Names of the parameters that another model owns (`share`). */
  private readonly shared = new Set<string>();
  /** Names of the parameters initialised freshly, the source having no values for them. */
  private readonly initialised = new Set<string>();
  private count = 0;

  /**
   * @param initializerRange standard deviation of the normal initialisation (config.initializer_range)
   * @param source initial values (a checkpoint); parameters it lacks are initialised freshly
   * @param seed seed of the fresh initialisation, for reproducible runs
   */
  constructor(
    private readonly initializerRange: number,
    private readonly source?: ParameterSource,
    private readonly seed?: number,
  ) {}

  /** Creates the variable `name`, from the source if it has it. */
  create(name: string, spec: ParameterSpec): tf.Variable {
    if (this.entries.has(name)) throw new Error(`parameter ${name} is defined twice`);
    const value = tf.tidy(() => {
      const given = this.source?.(name, spec);
      if (!given) this.initialised.add(name);
      return given ? fromHfLayout(spec, given) : this.fresh(spec);
    });
    const variable = tf.variable(value, true);
    value.dispose();
    this.entries.set(name, { ...spec, variable });
    return variable;
  }

  private fresh(spec: ParameterSpec): tf.Tensor {
    if (spec.init === 'zeros') return tf.zeros(spec.shape);
    if (spec.init === 'ones') return tf.ones(spec.shape);
    const seed = this.seed === undefined ? undefined : this.seed + this.count++;
    const w = tf.randomNormal(spec.shape, 0, this.initializerRange, 'float32', seed);
    if (spec.paddingIdx === undefined) return w;
    const keep = tf.oneHot(spec.paddingIdx, spec.shape[0]).reshape([spec.shape[0], 1]);
    return tf.mul(w, tf.sub(1, keep));
  }

  /**
   * Makes `other`'s parameters whose names start with `prefix` this model's too: the same
   * variables, not copies (ELECTRA's generator uses its discriminator's embeddings). They count
   * in `size()` and are saved with this model; `dispose` leaves them to `other`.
   */
  share(other: Parameters, prefix: string): void {
    for (const [name, p] of other.entries) {
      if (!name.startsWith(prefix)) continue;
      if (this.entries.has(name)) throw new Error(`parameter ${name} is defined twice`);
      this.entries.set(name, p);
      this.shared.add(name);
    }
  }

  get(name: string): tf.Variable {
    const p = this.entries.get(name);
    if (!p) throw new Error(`the model has no parameter ${name}`);
    return p.variable;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Whether `name` was initialised freshly (the checkpoint lacked it) rather than loaded. */
  isNew(name: string): boolean {
    return this.initialised.has(name);
  }

  /** The parameter record (spec + variable) of `name`. */
  parameter(name: string): Parameter {
    const p = this.entries.get(name);
    if (!p) throw new Error(`the model has no parameter ${name}`);
    return p;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** All parameters as `[name, variable]`, in definition order. */
  named(): [string, tf.Variable][] {
    return [...this.entries].map(([name, p]) => [name, p.variable]);
  }

  /** The parameters that training updates (`variable.trainable`). */
  trainable(): [string, tf.Variable][] {
    return this.named().filter(([, v]) => v.trainable);
  }

  /** Freezes (or unfreezes) every parameter whose name passes `select`; returns how many. */
  setTrainable(select: (name: string) => boolean, trainable: boolean): number {
    let n = 0;
    for (const [name, v] of this.named()) {
      if (select(name)) {
        v.trainable = trainable;
        n++;
      }
    }
    return n;
  }

  /** The number of scalar parameters (as PyTorch's `sum(p.numel())`). */
  size(): number {
    let n = 0;
    for (const p of this.entries.values()) n += p.variable.size;
    return n;
  }

  dispose(): void {
    for (const [name, p] of this.entries) if (!this.shared.has(name)) p.variable.dispose();
    this.entries.clear();
    this.shared.clear();
    this.initialised.clear();
  }
}
