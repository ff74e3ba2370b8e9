/**
 * BERT's configuration, read from and written to the `config.json` that Hugging Face
 * `transformers` uses, with transformers' defaults for every field that a file leaves out.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';

export interface BertConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  /** 'gelu' (exact erf form, as BERT uses) or 'relu'. */
  hidden_act: string;
  hidden_dropout_prob: number;
  attention_probs_dropout_prob: number;
  max_position_embeddings: number;
  type_vocab_size: number;
  initializer_range: number;
  layer_norm_eps: number;
  pad_token_id: number;
  /** Dropout before the classifier; `null` means hidden_dropout_prob, as in transformers. */
  classifier_dropout: number | null;
  tie_word_embeddings: boolean;
  /** Label names by class index; their count is the classifier's `num_labels`. */
  id2label: Record<string, string>;
  architectures: string[] | null;
  /** Fields this module does not interpret (transformers_version, dtype, ...), kept for saving. */
  extra: Record<string, unknown>;
}

/** transformers' BertConfig defaults (bert-base-uncased sizes). */
export const BERT_DEFAULTS: Omit<BertConfig, 'extra'> = {
  vocab_size: 30522,
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  initializer_range: 0.02,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  classifier_dropout: null,
  tie_word_embeddings: true,
  id2label: { '0': 'LABEL_0', '1': 'LABEL_1' },
  architectures: null,
};

const SUPPORTED_ACTIVATIONS = ['gelu', 'relu'];

/** The number of classifier outputs, as transformers derives it from id2label. */
export function numLabels(config: BertConfig): number {
  return Object.keys(config.id2label).length;
}

function defaultLabels(n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [String(i), `LABEL_${i}`]));
}

/**
 * Builds a config from (part of) a config.json object. `num_labels` is accepted as transformers
 * accepts it, as a shorthand for default label names.
 */
export function bertConfig(json: Record<string, unknown> = {}): BertConfig {
  const config = { ...BERT_DEFAULTS, extra: {} } as BertConfig;
  const target = config as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(json)) {
    if (key === 'num_labels' || key === 'label2id' || key === 'model_type') continue;
    if (key in BERT_DEFAULTS) target[key] = value;
    else config.extra[key] = value;
  }
  if (json.id2label === undefined && typeof json.num_labels === 'number') config.id2label = defaultLabels(json.num_labels);
  validate(config);
  return config;
}

function validate(config: BertConfig): void {
  if (!SUPPORTED_ACTIVATIONS.includes(config.hidden_act)) {
    throw new Error(`config.json has hidden_act=${JSON.stringify(config.hidden_act)}; this BERT supports ${SUPPORTED_ACTIVATIONS.join(', ')}`);
  }
  // transformers 5 dropped the field; older files say "absolute", which is what this BERT computes.
  const positions = config.extra.position_embedding_type ?? 'absolute';
  if (positions !== 'absolute') {
    throw new Error(`config.json has position_embedding_type=${JSON.stringify(positions)}; only "absolute" (BERT's) is supported`);
  }
  if (config.hidden_size % config.num_attention_heads !== 0) {
    throw new Error(`config.json: hidden_size ${config.hidden_size} is not a multiple of num_attention_heads ${config.num_attention_heads}`);
  }
}

/** Reads `DIR/config.json`. */
export function loadConfig(dir: string): BertConfig {
  const path = join(dir, 'config.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}; a model directory needs the config.json written by save_pretrained`);
  }
  if (json.model_type !== undefined && json.model_type !== 'bert') {
    throw new Error(`${path} has model_type=${JSON.stringify(json.model_type)}; finetune-lab loads BERT models (model_type "bert")`);
  }
  return bertConfig(json);
}

/** The config.json object that transformers' `BertConfig.from_pretrained` reads back. */
export function configJson(config: BertConfig): Record<string, unknown> {
  const { extra, id2label, ...fields } = config;
  const json: Record<string, unknown> = { ...extra, ...fields, model_type: 'bert' };
  const isDefault = JSON.stringify(id2label) === JSON.stringify(defaultLabels(numLabels(config)));
  if (!isDefault || numLabels(config) !== 2) {
    json.id2label = id2label;
    json.label2id = Object.fromEntries(Object.entries(id2label).map(([i, label]) => [label, Number(i)]));
  }
  return Object.fromEntries(Object.entries(json).sort(([a], [b]) => a.localeCompare(b)));
}

/** Writes `DIR/config.json`. */
export function saveConfig(config: BertConfig, dir: string): void {
  writeFileAtomic(join(dir, 'config.json'), JSON.stringify(configJson(config), null, 2) + '\n');
}
