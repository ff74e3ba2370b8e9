/**
 * LoRA (Hu et al., 2021) as PEFT implements it: each targeted Linear `y = x W + b` gains a
 * low-rank update,
 *
 *   y = x W + b + dropout(x) A B * scaling,   scaling = lora_alpha / r  (lora_alpha / sqrt(r) with rsLoRA)
 *
 * A `[in, r]` starts as nn.Linear's kaiming-uniform(a = sqrt(5)) (uniform in ±1/sqrt(in)) and B
 * `[r, out]` at zero, so the model before training computes exactly what the base model computes.
 * Parameters are named as PEFT saves them (`<module>.lora_A.weight`, PyTorch layout `[r, in]`).
 */
import * as tf from '@tensorflow/tfjs';
import type { BertTaskModel } from '../bert/heads.js';
import { Linear, overRows, WrappedLinear, type LinearModule } from '../bert/modules.js';
import { hfShape, type Parameters } from '../bert/weights.js';
import { add, dropout, scale, type ForwardContext } from '../ops.js';
import type { SafetensorsFile } from '../safetensors/index.js';
import { AdapterModel, adapterParameters, defaultTaskType, resolveModulesToSave, SEQ_CLS_HEADS } from './adapter.js';
import { insideModulesToSave, matchesTarget, modulesToSaveParameters } from './modules.js';

/** LoRA's settings, with PEFT's `LoraConfig` field names. */
export interface LoraConfig {
  /** Rank of the update. */
  r: number;
  lora_alpha: number;
  /** Dropout on the update's input, in training only. */
  lora_dropout: number;
  /** Module name suffixes (`query` matches `....attention.self.query`), or one regex for the full name. */
  target_modules: string[] | string;
  /** Only "none": the base model's biases stay frozen. */
  bias: 'none';
  /** Modules trained fully and saved with the adapter; SEQ_CLS adds `classifier`, `score` (as PEFT). */
  modules_to_save: string[] | null;
  /** PEFT task type; undefined: SEQ_CLS for BertForSequenceClassification, else null. */
  task_type?: string | null;
  base_model_name_or_path: string | null;
  /** Rank-stabilised scaling lora_alpha / sqrt(r) (Kalajdzievski, 2023). */
  use_rslora: boolean;
  inference_mode: boolean;
}

/** PEFT's LoraConfig defaults, with BERT's attention query and value as targets. */
export const LORA_DEFAULTS: LoraConfig = {
  r: 8,
  lora_alpha: 8,
  lora_dropout: 0,
  target_modules: ['query', 'value'],
  bias: 'none',
  modules_to_save: null,
  base_model_name_or_path: null,
  use_rslora: false,
  inference_mode: false,
};

/** Fields of a PEFT config that change what LoRA computes and that this implementation lacks, with the value that means "off". */
const UNSUPPORTED: [string, (v: unknown) => boolean][] = [
  ['use_dora', (v) => !v],
  ['fan_in_fan_out', (v) => !v],
  ['rank_pattern', (v) => !v || Object.keys(v as object).length === 0],
  ['alpha_pattern', (v) => !v || Object.keys(v as object).length === 0],
  ['layers_to_transform', (v) => v === null || v === undefined],
  ['exclude_modules', (v) => v === null || v === undefined],
  ['target_parameters', (v) => v === null || v === undefined],
  ['trainable_token_indices', (v) => v === null || v === undefined],
  ['layer_replication', (v) => v === null || v === undefined],
  ['lora_bias', (v) => !v],
  ['use_qalora', (v) => !v],
  ['alora_invocation_tokens', (v) => v === null || v === undefined],
];

/** A complete LoraConfig from some of its fields (or from a PEFT adapter_config.json object); validates it. */
export function loraConfig(fields: Partial<LoraConfig> & Record<string, unknown> = {}): LoraConfig {
  for (const [key, off] of UNSUPPORTED) {
    if (!off(fields[key])) throw new Error(`LoRA config has ${key}=${JSON.stringify(fields[key])}, which finetune-lab does not implement; use plain LoRA`);
  }
  const config = { ...LORA_DEFAULTS } as LoraConfig;
  const target = config as unknown as Record<string, unknown>;
  for (const key of [...Object.keys(LORA_DEFAULTS), 'task_type']) if (fields[key] !== undefined) target[key] = fields[key];
  if (!Number.isInteger(config.r) || config.r < 1) throw new Error(`LoRA r must be a positive integer, got ${config.r}`);
  if (!(config.lora_dropout >= 0 && config.lora_dropout < 1)) throw new Error(`lora_dropout must be in [0, 1), got ${config.lora_dropout}`);
  if (config.bias !== 'none') throw new Error(`LoRA bias=${JSON.stringify(config.bias)} is not implemented; use bias "none"`);
  return config;
}

export interface InjectOptions {
  /** Seed of lora_A's initialisation. */
  seed?: number;
}

/**
 * PEFT's LoraLayer on a Linear module: `base(x) + scaling * lora_B(lora_A(dropout(x)))`, both
 * without bias; nothing extra once merged into the base weight.
 */
export class LoraLinear extends WrappedLinear<Linear> {
  readonly lora_A: Linear;
  readonly lora_B: Linear;
  merged = false;

  constructor(base: LinearModule, params: Parameters, r: number, readonly scaling: number, readonly dropoutRate: number) {
    if (!(base instanceof Linear)) throw new Error(`LoRA wraps a plain Linear module, but ${base.name} is a ${base.constructor.name}: unload the adapter on it first`);
    super(base);
    this.lora_A = new Linear(params, `${base.name}.lora_A`, base.inFeatures, r, { bias: false, init: 'zeros' });
    this.lora_B = new Linear(params, `${base.name}.lora_B`, r, base.outFeatures, { bias: false, init: 'zeros' });
  }

  forward(x: tf.Tensor, context: ForwardContext): tf.Tensor {
    if (this.merged) return this.base.forward(x);
    return overRows(x, (rows) => {
      const y = this.base.forward(rows);
      return add(y, scale(this.lora_B.forward(this.lora_A.forward(dropout(rows, this.dropoutRate, context))), this.scaling));
    });
  }

  /** `A B * scaling`, in the stored `[in, out]` layout of W. */
  private delta(): tf.Tensor2D {
    return tf.mul(tf.matMul(this.lora_A.weight as tf.Tensor2D, this.lora_B.weight as tf.Tensor2D), this.scaling);
  }

  /** The weight with the update folded in, `W + A B * scaling` (a new tensor; `[in, out]` as W). */
  mergedWeight(): tf.Tensor2D {
    if (this.merged) throw new Error(`LoRA on ${this.name} is merged already: its base weight is the merged weight`);
    return tf.tidy(() => tf.add(this.base.weight, this.delta()));
  }

  /** Folds the update into the base weight (`W += A B * scaling`). */
  merge(): void {
    tf.tidy(() => this.base.weight.assign(this.mergedWeight()));
    this.merged = true;
  }

  /** Takes the update back out of the base weight (`W -= A B * scaling`, as PEFT; exact up to float rounding). */
  unmerge(): void {
    tf.tidy(() => this.base.weight.assign(tf.sub(this.base.weight, this.delta())));
    this.merged = false;
  }
}

/** A task model with LoRA attached (use injectLora). */
export class LoraModel extends AdapterModel {
  readonly config: LoraConfig & { task_type: string | null; modules_to_save: string[] };
  readonly scaling: number;
  /** The targeted Linear modules. */
  readonly targets: string[];
  /** The LoRA layers standing in for them. */
  readonly layers: LoraLinear[];

  constructor(model: BertTaskModel, fields: Partial<LoraConfig> = {}, options: InjectOptions = {}) {
    const base = loraConfig(fields);
    const taskType = base.task_type === undefined ? defaultTaskType(model) : base.task_type;
    const modulesToSave = resolveModulesToSave(model, base.modules_to_save, taskType);
    const targets = model.linearNames().filter((n) => matchesTarget(base.target_modules, n) && !insideModulesToSave(modulesToSave, n));
    if (!targets.length) {
      throw new Error(`LoRA target_modules ${JSON.stringify(base.target_modules)} match no Linear module of ${model.architecture}; its Linear modules end with query, key, value, dense, ...`);
    }
    const saved = modulesToSaveParameters(model, modulesToSave, SEQ_CLS_HEADS);
    const params = adapterParameters((name, spec) => {
      if (!name.endsWith('.lora_A.weight')) return undefined;
      const bound = 1 / Math.sqrt(spec.shape[0]);
      return tf.randomUniform(hfShape(spec), -bound, bound, 'float32', options.seed === undefined ? undefined : options.seed + targets.indexOf(name.slice(0, -'.lora_A.weight'.length)));
    });
    super(model, params, saved);
    this.config = { ...base, task_type: taskType, modules_to_save: modulesToSave };
    this.scaling = base.use_rslora ? base.lora_alpha / Math.sqrt(base.r) : base.lora_alpha / base.r;
    this.targets = targets;
    this.layers = this.wrap(targets, (module) => new LoraLinear(module, params, base.r, this.scaling, base.lora_dropout));
  }

  /** Whether the updates are folded into the base weights. */
  get isMerged(): boolean {
    return this.layers.every((layer) => layer.merged);
  }

  /** Folds every update into its base weight (`W += A B * scaling`), so inference costs nothing extra. */
  merge(): void {
    if (this.isMerged) throw new Error('LoRA is already merged; unmerge() first');
    for (const layer of this.layers) layer.merge();
  }

  /** Takes the updates back out of the base weights (`W -= A B * scaling`, as PEFT; exact up to float rounding). */
  unmerge(): void {
    if (!this.isMerged) throw new Error('LoRA is not merged');
    for (const layer of this.layers) layer.unmerge();
  }

  override restore(file: SafetensorsFile): void {
    if (this.isMerged) throw new Error('unmerge() LoRA before loading other weights into it');
    super.restore(file);
  }

  /** adapter_config.json as PEFT writes it for this LoraConfig. */
  configJson(): Record<string, unknown> {
    const c = this.config;
    return {
      alpha_pattern: {},
      auto_mapping: null,
      base_model_name_or_path: c.base_model_name_or_path,
      bias: c.bias,
      exclude_modules: null,
      fan_in_fan_out: false,
      inference_mode: c.inference_mode,
      init_lora_weights: true,
      layer_replication: null,
      layers_pattern: null,
      layers_to_transform: null,
      lora_alpha: c.lora_alpha,
      lora_dropout: c.lora_dropout,
      modules_to_save: c.modules_to_save.length ? c.modules_to_save : null,
      peft_type: 'LORA',
      r: c.r,
      rank_pattern: {},
      revision: null,
      target_modules: c.target_modules,
      task_type: c.task_type,
      use_dora: false,
      use_rslora: c.use_rslora,
    };
  }
}

/**
 * Attaches LoRA to a task model (PEFT's `get_peft_model` with a LoraConfig): freezes the base
 * model except modules_to_save, hooks the targeted Linear modules.
 */
export function injectLora(model: BertTaskModel, config: Partial<LoraConfig> = {}, options: InjectOptions = {}): LoraModel {
  return new LoraModel(model, config, options);
}
