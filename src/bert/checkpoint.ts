/**
 * Checkpoints in Hugging Face's layout: a directory with `config.json` and `model.safetensors`,
 * read and written so that transformers' `from_pretrained` / `save_pretrained` agree with it.
 *
 * Loading reads one tensor at a time straight into its variable, so a checkpoint costs about its
 * own size in memory once (plus one tensor in flight), never the whole file twice.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readSafetensors, writeSafetensors, type SafetensorsFile } from '../safetensors/index.js';
import { loadConfig, saveConfig, type BertConfig } from './config.js';
import { ARCHITECTURES, TASK_MODELS, type BertTask, type BertTaskModel } from './heads.js';
import { BASE_PREFIX, checkpointKeys, hfShape, toHfLayout, type ParameterSource } from './weights.js';

export const WEIGHTS_FILE = 'model.safetensors';

/** Which parameters a checkpoint lacked and which of its tensors went unused, as transformers reports them. */
export interface LoadingInfo {
  /** Parameters not in the checkpoint, initialised freshly (e.g. a new classifier). */
  missingKeys: string[];
  /** Checkpoint tensors the model has no use for (e.g. `cls.*` when loading a classifier). */
  unexpectedKeys: string[];
}

/** The task model type that `loadCheckpoint(dir, task)` returns. */
export type TaskModel<T extends BertTask> = InstanceType<(typeof TASK_MODELS)[T]>;

export interface LoadOptions {
  /** Seed for the parameters the checkpoint lacks. */
  seed?: number;
  /** Do not print the missing / unexpected keys warning. */
  quiet?: boolean;
  /** Use this config instead of `DIR/config.json` (e.g. with other labels). */
  config?: BertConfig;
  /** Build the pooler even where the task's class has none (see BuildOptions). */
  pooler?: boolean;
}

/**
 * Checkpoint tensors that transformers does not count as unexpected: the MLM decoder (tied to
 * the word embeddings, so some checkpoints store it twice) and the `position_ids` buffer of
 * older checkpoints.
 */
const IGNORED_UNEXPECTED = [/(^|\.)cls\.predictions\.decoder\.(weight|bias)$/, /(^|\.)embeddings\.position_ids$/];

/** A parameter source reading from an open safetensors file; records which tensors it used. */
function fileSource(file: SafetensorsFile, used: Set<string>, missing: string[]): ParameterSource {
  return (name, spec) => {
    const key = checkpointKeys(name).find((k) => file.tensors.has(k));
    if (key === undefined) {
      missing.push(name);
      return undefined;
    }
    const shape = [...file.info(key).shape];
    const expected = hfShape(spec);
    if (shape.join() !== expected.join()) {
      throw new Error(`${file.path}: tensor ${key} has shape [${shape}] but the model's ${name} needs [${expected}]; the checkpoint does not match config.json`);
    }
    used.add(key);
    return tf.tensor(file.readFloat32(key), shape, 'float32');
  };
}

function warn(info: LoadingInfo, architecture: string, dir: string): void {
  if (info.unexpectedKeys.length) {
    console.warn(`Some weights of the model checkpoint at ${dir} were not used when initializing ${architecture}: ${JSON.stringify(info.unexpectedKeys)}\n` +
      '- This IS expected if you are initializing the model from a checkpoint of a model trained on another task or with another architecture.');
  }
  if (info.missingKeys.length) {
    console.warn(`Some weights of ${architecture} were not initialized from the model checkpoint at ${dir} and are newly initialized: ${JSON.stringify(info.missingKeys)}\n` +
      'You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.');
  }
}

/**
 * Builds the task model from a local checkpoint directory (`config.json` + `model.safetensors`,
 * F32/F16/BF16, with or without the `bert.` prefix, legacy LayerNorm gamma/beta names, PyTorch
 * `[out, in]` Linear weights). Throws naming the tensor and both shapes on a shape mismatch.
 */
export function loadCheckpoint<T extends BertTask>(dir: string, task: T, options: LoadOptions = {}): { model: TaskModel<T>; info: LoadingInfo } {
  const config = options.config ?? loadConfig(dir);
  const path = join(dir, WEIGHTS_FILE);
  if (!existsSync(path)) {
    const hint = existsSync(join(dir, 'pytorch_model.bin')) ? ' (it has pytorch_model.bin: convert it with transformers, `model.save_pretrained(dir, safe_serialization=True)`)' : '';
    throw new Error(`${dir} has no ${WEIGHTS_FILE}${hint}; finetune-lab reads safetensors checkpoints`);
  }
  const file = readSafetensors(path);
  const used = new Set<string>();
  const missingKeys: string[] = [];
  let model: TaskModel<T>;
  try {
    model = new TASK_MODELS[task](config, { source: fileSource(file, used, missingKeys), seed: options.seed, pooler: options.pooler }) as TaskModel<T>;
  } finally {
    file.close();
  }
  const unexpectedKeys = file.names().filter((k) => !used.has(k) && !IGNORED_UNEXPECTED.some((re) => re.test(k)));
  const info = { missingKeys, unexpectedKeys };
  if (!options.quiet) warn(info, model.architecture, dir);
  return { model, info };
}

export interface SaveOptions {
  /** Stored element type. Default F32. */
  dtype?: 'F32' | 'F16' | 'BF16';
  /** The config to write instead of the model's own (of the same shape), e.g. with fine-tuning's dropout after pretraining with another. */
  config?: BertConfig;
}

const TORCH_DTYPES = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const;

/**
 * Writes `config.json` and `model.safetensors` as transformers' `save_pretrained` does for the
 * same class: the same keys (BertModel without the `bert.` prefix, the tied MLM decoder not
 * stored), shapes in PyTorch layout, and dtype.
 */
export async function saveCheckpoint(model: BertTaskModel, dir: string, options: SaveOptions = {}): Promise<void> {
  const dtype = options.dtype ?? 'F32';
  mkdirSync(dir, { recursive: true });
  const stripPrefix = model.architecture === ARCHITECTURES.base;
  const tensors = [];
  for (const name of model.params.names()) {
    const p = model.params.parameter(name);
    const value = toHfLayout(p, p.variable);
    const data = (await value.data()) as Float32Array;
    value.dispose();
    tensors.push({ name: stripPrefix ? name.slice(BASE_PREFIX.length) : name, shape: hfShape(p), data });
  }
  await writeSafetensors(join(dir, WEIGHTS_FILE), tensors, { dtype });
  // transformers 5 writes `dtype`; older files call it `torch_dtype`.
  const config = options.config ?? model.config;
  const { torch_dtype: _, ...extra } = config.extra;
  saveConfig({ ...config, architectures: [model.architecture], extra: { ...extra, dtype: TORCH_DTYPES[dtype] } }, dir);
}
