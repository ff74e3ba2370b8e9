/**
 * BERT sizes for pretraining from scratch: Google's "well-read student" miniatures (Turc et al.,
 * 2019: bert-tiny L2/H128, bert-mini L4/H256, bert-small L4/H512, bert-medium L8/H512) and one
 * smaller still for quick runs, or any `L{layers}-H{hidden}-A{heads}` as Google names them.
 */
import { bertConfig, type BertConfig } from '../bert/config.js';

export interface ModelSize {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
}

export const MODEL_SIZES: Record<string, ModelSize> = {
  'bert-nano': { layers: 2, hidden: 64, heads: 2, intermediate: 256 },
  'bert-tiny': { layers: 2, hidden: 128, heads: 2, intermediate: 512 },
  'bert-mini': { layers: 4, hidden: 256, heads: 4, intermediate: 1024 },
  'bert-small': { layers: 4, hidden: 512, heads: 8, intermediate: 2048 },
  'bert-medium': { layers: 8, hidden: 512, heads: 8, intermediate: 2048 },
};

const PATTERN = /^L-?(\d+)[-_]H-?(\d+)[-_]A-?(\d+)(?:[-_]I-?(\d+))?$/i;

/** A size by name (`bert-mini`) or shape (`L4-H256-A4`, intermediate 4 x hidden unless `-I1024` is added). */
export function parseSize(name: string): ModelSize {
  const named = MODEL_SIZES[name];
  if (named) return named;
  const m = PATTERN.exec(name);
  if (!m) throw new Error(`unknown model size ${JSON.stringify(name)}; use one of ${Object.keys(MODEL_SIZES).join(', ')} or a shape such as L4-H256-A4`);
  const [layers, hidden, heads] = [m[1], m[2], m[3]].map(Number);
  return { layers, hidden, heads, intermediate: m[4] ? Number(m[4]) : 4 * hidden };
}

/** The config of a fresh BERT of this size (BERT's 512 positions, dropout 0.1). */
export function sizeConfig(size: ModelSize, vocabSize: number): BertConfig {
  return bertConfig({
    vocab_size: vocabSize,
    hidden_size: size.hidden,
    num_hidden_layers: size.layers,
    num_attention_heads: size.heads,
    intermediate_size: size.intermediate,
  });
}

/** The size of a model's config: its name in MODEL_SIZES, else its shape `L2-H128-A2-I512`. */
export function shapeName(config: BertConfig): string {
  const size: ModelSize = { layers: config.num_hidden_layers, hidden: config.hidden_size, heads: config.num_attention_heads, intermediate: config.intermediate_size };
  const named = Object.entries(MODEL_SIZES).find(([, s]) => JSON.stringify(s) === JSON.stringify(size));
  return named ? named[0] : `L${size.layers}-H${size.hidden}-A${size.heads}-I${size.intermediate}`;
}
