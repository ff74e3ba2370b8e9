/**
 * The course's BERT as the notebooks load it: the settings' model (the embedded one unless
 * another is named), with a tokenizer, on the settings' backend. Notebook 03 shows the steps;
 * the later notebooks call these.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/index.js';
import type { BertForMaskedLM, BertTaskModel } from '../bert/heads.js';
import { OnnxModel, resolveEngine, type EngineChoice, type OnnxTask } from '../onnx/index.js';
import { fromPretrained, type Pretrained } from '../bert/pretrained.js';
import type { MethodSpec } from '../finetune/methods.js';
import { withTokenizer } from '../finetune/pretrained.js';
import { resolveModelPath } from '../package/root.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import { backendOptions, type Settings } from './settings.js';

export interface MaskedLm {
  model: BertForMaskedLM;
  tokenizer: BertTokenizer;
  /** Where the model was read from. */
  source: string;
}

/** Loads `idOrPath` (default: the settings' model) as a BertForMaskedLM. */
export async function loadMaskedLm(settings: Settings, idOrPath: string = settings.model): Promise<MaskedLm> {
  await initBackend(backendOptions(settings, { quiet: true }));
  const source = resolveModelPath(idOrPath);
  const { model, tokenizer } = await withTokenizer(await fromPretrained(source, { task: 'mlm', quiet: true }));
  return { model, tokenizer, source };
}

export type ClassifierTask = MethodSpec['task'];

export interface CourseClassifier<T extends ClassifierTask> extends Pretrained<T> {
  tokenizer: BertTokenizer;
  /** The model argument as resolved (a directory or a Hub id), what the results record. */
  source: string;
}

/** The settings' model for `task` (a fine-tuning method's), its new head named by `labels` and drawn from the settings' seed. */
export async function loadClassifier<T extends ClassifierTask>(settings: Settings, task: T, labels: readonly string[]): Promise<CourseClassifier<T>> {
  await initBackend(backendOptions(settings, { quiet: true }));
  const source = resolveModelPath(settings.model);
  const loaded = await withTokenizer(await fromPretrained(source, { task, labels: [...labels], seed: settings.seed, quiet: true }));
  return { ...loaded, source };
}

/**
 * `model` on the engine for work that does not train: the settings' (FINETUNE_LAB_ENGINE, default
 * auto) unless `engine` names one; on ONNX Runtime it is exported for `task` (default its own).
 * Release an OnnxModel when done with it.
 */
export async function inferenceModel<M extends BertTaskModel>(settings: Settings, model: M, options: { engine?: EngineChoice; task?: OnnxTask } = {}): Promise<M | OnnxModel<M>> {
  return resolveEngine(options.engine ?? settings.engine, tf.getBackend()) === 'onnx' ? OnnxModel.create(model, { task: options.task }) : model;
}
