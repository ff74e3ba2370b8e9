/**
 * Bottleneck adapters (Houlsby et al., 2019, "Parameter-Efficient Transfer Learning for NLP"):
 * in every encoder layer, after the attention output projection and after the feed-forward output
 * projection (each before its dropout, residual and LayerNorm),
 *
 *   y = y + up(act(down(y)))      down: hidden -> bottleneck_size,  up: bottleneck_size -> hidden
 *
 * initialised near identity as the paper does: both weights from a normal with standard deviation
 * init_scale (1e-3) truncated at two deviations, biases zero. The paper also trains the layer
 * norms; `train_layer_norms` (default true) trains the two LayerNorms of each encoder layer.
 *
 * Parameters (own key names; adapter-transformers uses another layout):
 *   bert.encoder.layer.N.attention.output.adapter.{down,up}.{weight,bias}
 *   bert.encoder.layer.N.output.adapter.{down,up}.{weight,bias}
 * weights in PyTorch layout in the file (down.weight `[bottleneck, hidden]`), saved with the
 * `base_model.model.` prefix, next to the trained LayerNorms and head.
 */
import * as tf from '@tensorflow/tfjs';
import type { BertTaskModel } from '../bert/heads.js';
import { activation, Linear, WrappedLinear, type LinearModule } from '../bert/modules.js';
import { hfShape, type Parameters } from '../bert/weights.js';
import { add, type ForwardContext } from '../ops.js';
import { AdapterModel, adapterParameters, defaultTaskType, resolveModulesToSave, SEQ_CLS_HEADS } from './adapter.js';
import { modulesToSaveParameters } from './modules.js';

export const BOTTLENECK_TYPE = 'BOTTLENECK';

export interface BottleneckConfig {
  /** Width of the bottleneck; undefined: hidden_size / 16 (adapter-transformers' reduction factor 16). */
  bottleneck_size?: number;
  non_linearity: 'gelu' | 'relu';
  /** Standard deviation of the (truncated normal) weight initialisation. */
  init_scale: number;
  /** Also train each encoder layer's two LayerNorms, as Houlsby et al. do. */
  train_layer_norms: boolean;
  /** Modules trained fully and saved with the adapter (the head), as PEFT's modules_to_save. */
  modules_to_save: string[] | null;
  /** undefined: SEQ_CLS for BertForSequenceClassification, else null. */
  task_type?: string | null;
  base_model_name_or_path: string | null;
  inference_mode: boolean;
}

export const BOTTLENECK_DEFAULTS: BottleneckConfig = {
  non_linearity: 'gelu',
  init_scale: 1e-3,
  train_layer_norms: true,
  modules_to_save: null,
  base_model_name_or_path: null,
  inference_mode: false,
};

/** A complete BottleneckConfig from some of its fields (or an adapter_config.json object); validates it. */
export function bottleneckConfig(fields: Partial<BottleneckConfig> & Record<string, unknown> = {}): BottleneckConfig {
  const config = { ...BOTTLENECK_DEFAULTS } as BottleneckConfig;
  const target = config as unknown as Record<string, unknown>;
  for (const key of [...Object.keys(BOTTLENECK_DEFAULTS), 'bottleneck_size', 'task_type']) if (fields[key] !== undefined) target[key] = fields[key];
  if (config.bottleneck_size !== undefined && (!Number.isInteger(config.bottleneck_size) || config.bottleneck_size < 1)) {
    throw new Error(`bottleneck_size must be a positive integer, got ${config.bottleneck_size}`);
  }
  if (config.non_linearity !== 'gelu' && config.non_linearity !== 'relu') throw new Error(`non_linearity must be "gelu" or "relu", got ${JSON.stringify(config.non_linearity)}`);
  return config;
}

/** The Linear modules whose outputs get an adapter: each layer's attention output and feed-forward output. */
const ADAPTED = /^bert\.encoder\.layer\.\d+\.(attention\.)?output\.dense$/;
const LAYER_NORM = /^bert\.encoder\.layer\.\d+\.(attention\.)?output\.LayerNorm\.(weight|bias)$/;

/**
 * A bottleneck adapter on a Linear module's output: `y + up(act(down(y)))`, `y = base(x)`; its
 * modules are named after the base module (`....output.dense` -> `....output.adapter.down`).
 */
export class BottleneckAdapter extends WrappedLinear {
  readonly down: Linear;
  readonly up: Linear;

  constructor(base: LinearModule, params: Parameters, size: number, readonly nonLinearity: BottleneckConfig['non_linearity']) {
    super(base);
    const name = base.name.replace(/\.dense$/, '.adapter');
    this.down = new Linear(params, `${name}.down`, base.outFeatures, size, { init: 'zeros' });
    this.up = new Linear(params, `${name}.up`, size, base.outFeatures, { init: 'zeros' });
  }

  forward(x: tf.Tensor, context: ForwardContext): tf.Tensor {
    const y = this.base.forward(x, context);
    return add(y, this.up.forward(activation(this.nonLinearity)(this.down.forward(y))));
  }
}

/** A task model with bottleneck adapters attached (use injectAdapters). */
export class BottleneckModel extends AdapterModel {
  readonly config: BottleneckConfig & { bottleneck_size: number; task_type: string | null; modules_to_save: string[] };
  readonly targets: string[];

  constructor(model: BertTaskModel, fields: Partial<BottleneckConfig> = {}, options: { seed?: number } = {}) {
    const base = bottleneckConfig(fields);
    const size = base.bottleneck_size ?? Math.max(1, Math.round(model.config.hidden_size / 16));
    const taskType = base.task_type === undefined ? defaultTaskType(model) : base.task_type;
    const modulesToSave = resolveModulesToSave(model, base.modules_to_save, taskType);
    const saved = modulesToSaveParameters(model, modulesToSave, SEQ_CLS_HEADS);
    if (base.train_layer_norms) saved.push(...model.params.names().filter((n) => LAYER_NORM.test(n) && !saved.includes(n)));
    const targets = model.linearNames().filter((n) => ADAPTED.test(n));
    let count = 0;
    const params = adapterParameters((name, spec) => {
      if (!name.endsWith('.weight')) return undefined;
      const seed = options.seed === undefined ? undefined : options.seed + count++;
      return tf.truncatedNormal(hfShape(spec), 0, base.init_scale, 'float32', seed);
    });
    super(model, params, saved);
    this.config = { ...base, bottleneck_size: size, task_type: taskType, modules_to_save: modulesToSave };
    this.targets = targets;
    this.wrap(targets, (module) => new BottleneckAdapter(module, params, size, base.non_linearity));
  }

  configJson(): Record<string, unknown> {
    const c = this.config;
    return {
      base_model_name_or_path: c.base_model_name_or_path,
      bottleneck_size: c.bottleneck_size,
      inference_mode: c.inference_mode,
      init_scale: c.init_scale,
      modules_to_save: c.modules_to_save.length ? c.modules_to_save : null,
      non_linearity: c.non_linearity,
      peft_type: BOTTLENECK_TYPE,
      task_type: c.task_type,
      train_layer_norms: c.train_layer_norms,
    };
  }
}

/** Attaches Houlsby bottleneck adapters to a task model; freezes the rest except the head (and LayerNorms). */
export function injectAdapters(model: BertTaskModel, config: Partial<BottleneckConfig> = {}, options: { seed?: number } = {}): BottleneckModel {
  return new BottleneckModel(model, config, options);
}
