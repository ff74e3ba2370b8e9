/**
 * The fine-tuning methods of the course, each a way of choosing what trains:
 * - `frozen`: feature extraction, the article's setup: BERT frozen, only its classifier head
 *   (Linear 768→512, ReLU, dropout, Linear 512→2, log-softmax) trains;
 * - `full`: every parameter trains;
 * - `adapter`: bottleneck adapters (Houlsby et al.) after attention and feed-forward, plus the head;
 * - `lora`: low-rank updates of the attention query and value (Hu et al.), plus the head.
 */
import type { AdapterModel, BottleneckConfig, LoraConfig } from '../adapters/index.js';
import { injectAdapters, injectLora } from '../adapters/index.js';
import type { BertTask } from '../bert/heads.js';
import type { ClassifierModel } from './classifiers.js';

export type Method = 'frozen' | 'full' | 'adapter' | 'lora';
export const METHODS: readonly Method[] = ['frozen', 'full', 'adapter', 'lora'];

export interface MethodSpec {
  /** The task model: the article's head for feature extraction, transformers' for the rest. */
  task: Extract<BertTask, 'classification' | 'article'>;
  /** A learning rate that works for the method on small BERTs (the article used 1e-5 on bert-base). */
  lr: number;
  summary: string;
}

export const METHOD_SPECS: Record<Method, MethodSpec> = {
  frozen: { task: 'article', lr: 1e-3, summary: 'frozen BERT, only the classifier head trains' },
  full: { task: 'classification', lr: 5e-4, summary: 'every parameter trains' },
  adapter: { task: 'classification', lr: 1e-3, summary: 'bottleneck adapters and the head train, BERT frozen' },
  lora: { task: 'classification', lr: 1e-3, summary: 'LoRA on query and value and the head train, BERT frozen' },
};

/** A method's learning rate and number of epochs, as a grid search chooses them (see grid.ts). */
export interface Recipe {
  lr: number;
  epochs: number;
}

export function checkMethod(name: string): Method {
  if (!(METHODS as readonly string[]).includes(name)) throw new Error(`unknown method "${name}"; use one of ${METHODS.join(', ')}`);
  return name as Method;
}

export interface MethodOptions {
  lora?: Partial<LoraConfig>;
  adapter?: Partial<BottleneckConfig>;
  seed?: number;
}

/**
 * Sets up what trains in `model` for `method` and returns the adapter, if the method has one.
 * For `frozen` every encoder parameter is frozen and the head stays trainable.
 */
export function applyMethod(model: ClassifierModel, method: Method, options: MethodOptions = {}): AdapterModel | undefined {
  switch (method) {
    case 'frozen':
      model.params.setTrainable((name) => name.startsWith('bert.'), false);
      return undefined;
    case 'full':
      model.params.setTrainable(() => true, true);
      return undefined;
    case 'adapter':
      return injectAdapters(model, options.adapter, { seed: options.seed });
    case 'lora':
      return injectLora(model, options.lora, { seed: options.seed });
  }
}

/** Trainable and total scalar parameters of the model with its adapter. */
export function countParameters(model: ClassifierModel, adapter?: AdapterModel): { trainable: number; total: number } {
  if (adapter) return adapter.countParameters();
  const trainable = model.params.trainable().reduce((n, [, v]) => n + v.size, 0);
  return { trainable, total: model.params.size() };
}
