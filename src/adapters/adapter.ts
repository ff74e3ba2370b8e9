/**
 * What LoRA and bottleneck adapters share: they are injected into an unchanged task model as
 * per-target modules that stand in for its Linear modules and wrap them (PEFT's manner), freeze
 * the base model except the modules saved with the adapter (the task head, ...), keep their own
 * parameters apart from the model's, and save / restore both in PEFT's directory layout.
 */
import * as tf from '@tensorflow/tfjs';
import { ARCHITECTURES, type BertTaskModel } from '../bert/heads.js';
import type { LinearModule, WrappedLinear } from '../bert/modules.js';
import { fromHfLayout, hfShape, Parameters, toHfLayout, type Parameter, type ParameterSource } from '../bert/weights.js';
import type { SafetensorsFile } from '../safetensors/index.js';
import { PEFT_PREFIX, writeAdapterDirectory } from './peft.js';

/** Trainable and total scalar parameter counts (as PEFT's `get_nb_trainable_parameters`). */
export interface ParameterCounts {
  trainable: number;
  total: number;
}

/** PEFT adds the usual classifier names to modules_to_save for sequence classification. */
export const SEQ_CLS_HEADS = ['classifier', 'score'];

/** The head modules that a task model initialises freshly, and so must train with an adapter. */
const TASK_HEADS: Record<string, string[]> = {
  [ARCHITECTURES.classification]: SEQ_CLS_HEADS,
  [ARCHITECTURES.article]: ['fc1', 'fc2'],
};

/** The PEFT task type of a task model: SEQ_CLS for BertForSequenceClassification, else none. */
export function defaultTaskType(model: BertTaskModel): string | null {
  return model.architecture === ARCHITECTURES.classification ? 'SEQ_CLS' : null;
}

/**
 * modules_to_save as PEFT resolves it: SEQ_CLS appends `classifier` and `score` to the given list.
 * When none is given, the task model's own head (e.g. the article classifier's fc1, fc2), and the
 * pooler where the checkpoint had none: a masked-LM pretrained without next-sentence prediction
 * leaves the classifier's input, tanh(Linear(h[CLS])), as random as the classifier itself, and a
 * frozen random pooler would stand between the adapted encoder and the head.
 */
export function resolveModulesToSave(model: BertTaskModel, given: string[] | null | undefined, taskType: string | null): string[] {
  const list = [...(given ?? (taskType === 'SEQ_CLS' ? [] : TASK_HEADS[model.architecture] ?? []))];
  if (taskType === 'SEQ_CLS') for (const name of SEQ_CLS_HEADS) if (!list.includes(name)) list.push(name);
  const pooler = model.params.names().filter((name) => name.startsWith('bert.pooler.'));
  if (given == null && pooler.length > 0 && pooler.every((name) => model.params.isNew(name))) list.push('pooler');
  return list;
}

/** A fresh parameter set whose initial values come from `init` (in Hugging Face layout). */
export function adapterParameters(init: ParameterSource): Parameters {
  return new Parameters(0, init);
}

const attached = new WeakMap<BertTaskModel, AdapterModel>();

/** An adapter attached to a task model. */
export abstract class AdapterModel {
  /** The adapter's own parameters, named as PEFT names them without the adapter name. */
  readonly params: Parameters;
  /** The base model's parameters saved and trained with the adapter (modules_to_save, ...). */
  readonly savedParameters: string[];
  private readonly wasTrainable: Map<string, boolean>;
  private readonly wrappers: WrappedLinear[] = [];

  /**
   * Freezes the base model except `savedParameters`; the subclass then wraps its targets.
   * Throws if the model already has an adapter.
   */
  protected constructor(readonly model: BertTaskModel, params: Parameters, savedParameters: string[]) {
    if (attached.has(model)) {
      params.dispose();
      throw new Error(`this ${model.architecture} already has an adapter; call unload() on it first`);
    }
    attached.set(model, this);
    this.params = params;
    this.savedParameters = savedParameters;
    this.wasTrainable = new Map(model.params.named().map(([name, v]) => [name, v.trainable]));
    const saved = new Set(savedParameters);
    for (const [name, v] of model.params.named()) v.trainable = saved.has(name);
  }

  /** The config written to adapter_config.json. */
  abstract configJson(): Record<string, unknown>;

  /** Puts `wrap(module)` in the place of each of the Linear modules `targets` (creating the wrappers' parameters in order). */
  protected wrap<T extends WrappedLinear>(targets: string[], wrap: (module: LinearModule) => T): T[] {
    const wrappers = targets.map((name) => this.model.replaceLinear(name, wrap));
    this.wrappers.push(...wrappers);
    return wrappers;
  }

  /** The parameters that training updates: the adapter's and the saved modules'. Pass these to the optimizer. */
  trainableParameters(): [string, tf.Variable][] {
    return [...this.params.trainable(), ...this.model.params.trainable()];
  }

  /** Trainable and total parameter counts, the adapter's included. */
  countParameters(): ParameterCounts {
    const trainable = this.trainableParameters().reduce((n, [, v]) => n + v.size, 0);
    return { trainable, total: this.model.params.size() + this.params.size() };
  }

  /**
   * PEFT's `print_trainable_parameters` line. (PEFT's total also counts a second copy of each
   * modules_to_save module, which it keeps to be able to switch adapters; there is none here.)
   */
  describeParameters(): string {
    const { trainable, total } = this.countParameters();
    return `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${total.toLocaleString('en-US')} || trainable%: ${(100 * trainable / total).toFixed(4)}`;
  }

  /** Writes adapter_config.json and adapter_model.safetensors (PyTorch layout) to `dir`. */
  async save(dir: string): Promise<void> {
    // Read asynchronously: synchronous reads are not available on every backend (webgpu in Node).
    const tensors = await Promise.all(this.entries().map(async ([key, p]) => {
      const value = toHfLayout(p, p.variable);
      const data = (await value.data()) as Float32Array;
      value.dispose();
      return { name: key, shape: hfShape(p), data };
    }));
    await writeAdapterDirectory(dir, this.configJson(), tensors);
  }

  /**
   * Detaches the adapter, frees its parameters and restores the base model's trainable flags.
   * The base weights keep their current values (LoRA: merged or not).
   */
  unload(): void {
    for (const wrapper of this.wrappers.splice(0)) this.model.replaceLinear(wrapper.name, () => wrapper.base);
    for (const [name, v] of this.model.params.named()) v.trainable = this.wasTrainable.get(name) ?? v.trainable;
    this.params.dispose();
    attached.delete(this.model);
  }

  /**
   * Assigns every saved tensor from an adapter file. Throws, naming the keys, if the file lacks
   * one, has one this model does not, or has another shape: the adapter was trained for another
   * base model or configuration.
   */
  restore(file: SafetensorsFile): void {
    const expected = new Map(this.entries());
    const missing = [...expected.keys()].filter((k) => !file.tensors.has(k));
    const unexpected = file.names().filter((k) => !expected.has(k));
    if (missing.length || unexpected.length) {
      const list = (keys: string[]) => `${keys.length} (${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', ...' : ''})`;
      throw new Error(`${file.path} does not fit this ${this.model.architecture} with its adapter config: missing keys ${list(missing)}, unexpected keys ${list(unexpected)}; ` +
        'load an adapter trained for this base model and task head');
    }
    for (const [key, p] of expected) {
      const shape = [...file.info(key).shape];
      const needed = hfShape(p);
      if (shape.join() !== needed.join()) {
        throw new Error(`${file.path}: ${key} has shape [${shape}] but this model needs [${needed}]; the adapter was trained for a base model with another configuration (hidden size, labels, rank)`);
      }
    }
    for (const [key, p] of expected) {
      tf.tidy(() => p.variable.assign(fromHfLayout(p, tf.tensor(file.readFloat32(key), hfShape(p), 'float32'))));
    }
  }

  /** The saved tensors: PEFT key and parameter. */
  private entries(): [string, Parameter][] {
    const own = this.params.names().map((n): [string, Parameter] => [PEFT_PREFIX + n, this.params.parameter(n)]);
    const saved = this.savedParameters.map((n): [string, Parameter] => [PEFT_PREFIX + n, this.model.params.parameter(n)]);
    return [...own, ...saved];
  }
}
