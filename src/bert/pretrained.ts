/**
 * `fromPretrained`: a BERT task model (and its tokenizer) from a local directory or a Hugging Face
 * Hub id, as transformers' `AutoModelFor...from_pretrained` + `AutoTokenizer.from_pretrained`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend, type BackendName } from '../backend/index.js';
import { resolveModelFiles } from '../hub/index.js';
import { BertTokenizer } from '../tokenizer/index.js';
import { loadCheckpoint, WEIGHTS_FILE, type LoadingInfo, type TaskModel } from './checkpoint.js';
import { setClassifierPooling, type Pooling } from './pooling.js';
import { loadConfig } from './config.js';
import type { BertTask } from './heads.js';

export interface FromPretrainedOptions<T extends BertTask> {
  /** Which model to build: 'base' (BertModel), 'mlm', 'pretraining', 'classification' or 'article'. */
  task: T;
  /** Force a TensorFlow.js backend (default: the one in use, else the best available). */
  backend?: BackendName;
  /** Class names for a new classifier (sets num_labels), e.g. `['negative', 'positive']`. */
  labels?: string[];
  /** What a new article head (task 'article') reads: the pooled [CLS] vector or the mean of the tokens (default: the config's, see pooling.ts). */
  pooling?: Pooling;
  /** Hub branch, tag or commit. Default main. */
  revision?: string;
  /** Seed for parameters the checkpoint lacks (a new head). */
  seed?: number;
  /** Do not print the missing / unexpected keys warning. */
  quiet?: boolean;
}

export interface Pretrained<T extends BertTask> {
  model: TaskModel<T>;
  /** The checkpoint's tokenizer, when it ships one (tokenizer.json or vocab.txt). */
  tokenizer?: BertTokenizer;
  /** Missing and unexpected keys, as transformers' `output_loading_info`. */
  info: LoadingInfo;
  /** The local directory the files were read from. */
  dir: string;
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json'];

/** Loads config, weights (one tensor at a time) and, if present, the tokenizer. */
export async function fromPretrained<T extends BertTask>(idOrPath: string, options: FromPretrainedOptions<T>): Promise<Pretrained<T>> {
  await initBackend({ backend: options.backend, quiet: options.quiet });
  const dir = await resolveModelFiles(idOrPath, { files: ['config.json', WEIGHTS_FILE], optionalFiles: TOKENIZER_FILES, revision: options.revision });
  const config = loadConfig(dir);
  if (options.labels) config.id2label = Object.fromEntries(options.labels.map((label, i) => [String(i), label]));
  if (options.pooling !== undefined) {
    if (options.task !== 'article') throw new Error(`pooling is a setting of the article's head (task 'article'), not of task '${options.task}'; leave it out`);
    setClassifierPooling(config, options.pooling);
  }
  const { model, info } = loadCheckpoint(dir, options.task, { config, seed: options.seed, quiet: options.quiet });
  const hasTokenizer = ['tokenizer.json', 'vocab.txt'].some((f) => existsSync(join(dir, f)));
  const tokenizer = hasTokenizer ? await BertTokenizer.fromPretrained(dir) : undefined;
  return { model, tokenizer, info, dir };
}
