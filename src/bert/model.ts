/**
 * BERT (Devlin et al., 2018) as Hugging Face `transformers`' `BertModel` computes it, a tree of
 * modules (layers.ts) over named tf.Variables:
 *
 *   embeddings = LayerNorm(word[input_ids] + position[0..S) + token_type[token_type_ids])
 *   each layer (post-LN):  h = LayerNorm(h + Attention(h));  h = LayerNorm(h + FFN(h))
 *   pooler = tanh(Linear(h[:, 0]))
 *
 * Adapters (LoRA, ...) stand in for any of its Linear modules (`replaceLinear`) without changing
 * this file; the task models in heads.ts own their heads.
 */
import * as tf from '@tensorflow/tfjs';
import type { ForwardContext } from '../ops.js';
import type { BertConfig } from './config.js';
import { BertEmbeddings, BertEncoder, BertPooler } from './layers.js';
import { Module } from './modules.js';
import { BASE_PREFIX, type Parameters } from './weights.js';

/** A batch: token ids `[batch, seq]`, and optionally the attention mask (1 = attend) and segment ids. */
export interface BertInputs {
  inputIds: tf.Tensor2D | number[][];
  attentionMask?: tf.Tensor2D | number[][];
  tokenTypeIds?: tf.Tensor2D | number[][];
}

/** The forward pass's context (training mode, dropout seeds) and which outputs to return. */
export interface ForwardOptions extends ForwardContext {
  /** Also return every layer's output, the embeddings' output first (num_hidden_layers + 1 tensors). */
  outputHiddenStates?: boolean;
  /** Also return every layer's attention probabilities `[batch, heads, seq, seq]` (after dropout in training, as transformers returns them). */
  outputAttentions?: boolean;
}

// A type alias (not an interface) so that it is a tf.TensorContainer for tf.tidy.
export type BertOutput = {
  lastHiddenState: tf.Tensor3D;
  /** tanh(Linear(h[:, 0])); absent for a model built without pooler. */
  poolerOutput?: tf.Tensor2D;
  hiddenStates?: tf.Tensor3D[];
  attentions?: tf.Tensor4D[];
};

/** transformers fills masked attention scores with the dtype's lowest value. */
const FLOAT32_MIN = -3.4028234663852886e38;

/** Token rows, plain or a tensor, as a tensor of `dtype`. */
export function asTensor(x: tf.Tensor2D | number[][], dtype: 'int32' | 'float32'): tf.Tensor2D {
  if (x instanceof tf.Tensor) return x.dtype === dtype ? x : tf.cast(x, dtype);
  return tf.tensor2d(x, undefined, dtype);
}

/** transformers' BertModel: the encoder and, unless built without, the pooler (module `bert` of every task model). */
export class BertModel extends Module {
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler?: BertPooler;

  /**
   * Creates the encoder's parameters in `params` (initialised from its source where given).
   * @param options.pooler build the pooler (BertForMaskedLM has none)
   * @param options.embeddings use this embeddings module (another model's, whose variables `params` shares) instead of making one
   */
  constructor(readonly config: BertConfig, params: Parameters, options: { pooler?: boolean; embeddings?: BertEmbeddings } = {}) {
    const name = BASE_PREFIX.slice(0, -1);
    super(name);
    const shared = options.embeddings?.config;
    const differ = shared && (['vocab_size', 'hidden_size', 'max_position_embeddings', 'type_vocab_size'] as const).filter((k) => shared[k] !== config[k]);
    if (differ?.length) {
      throw new Error(`cannot share embeddings between models whose ${differ.map((k) => `${k} differ (${shared![k]} and ${config[k]})`).join(', ')}; give both the same sizes`);
    }
    this.embeddings = options.embeddings ?? new BertEmbeddings(params, `${name}.embeddings`, config);
    this.encoder = new BertEncoder(params, `${name}.encoder`, config);
    if (options.pooler ?? true) this.pooler = new BertPooler(params, `${name}.pooler`, config.hidden_size);
  }

  /**
   * Runs the encoder (and pooler). The returned tensors belong to the caller (dispose them, or
   * call inside tf.tidy); nothing else is left allocated.
   */
  forward(inputs: BertInputs, options: ForwardOptions = {}): BertOutput {
    const context: ForwardContext = { training: options.training, dropoutSeeds: options.dropoutSeeds };
    return tf.tidy(() => {
      const ids = asTensor(inputs.inputIds, 'int32');
      const [batch, seq] = ids.shape;
      const mask = inputs.attentionMask ? asTensor(inputs.attentionMask, 'float32') : tf.ones([batch, seq]);
      const tokenTypes = inputs.tokenTypeIds ? asTensor(inputs.tokenTypeIds, 'int32') : tf.zeros<tf.Rank.R2>([batch, seq], 'int32');
      const maskBias = tf.mul(tf.sub(1, mask), FLOAT32_MIN).reshape([batch, 1, 1, seq]);

      let h = this.embeddings.forward(ids, tokenTypes, context);
      const hiddenStates = [h];
      const attentions: tf.Tensor4D[] = [];
      for (const layer of this.encoder.layer) {
        // A scope per layer frees its intermediates as soon as it is done (a gradient tape keeps
        // its own copies of what backpropagation needs): without it a bert-base forward pass
        // holds every layer's activations at once, several GB at batch 32 and 256 tokens.
        const [next, probs] = tf.tidy(() => {
          const [out, p] = layer.forward(h, maskBias, context);
          return options.outputAttentions ? [out, p] : [out];
        }) as [tf.Tensor3D, tf.Tensor4D?];
        if (!options.outputHiddenStates) h.dispose();
        h = next;
        hiddenStates.push(h);
        if (probs) attentions.push(probs);
      }
      const out: BertOutput = { lastHiddenState: h };
      if (this.pooler) out.poolerOutput = this.pooler.forward(h, context);
      if (options.outputHiddenStates) out.hiddenStates = hiddenStates;
      if (options.outputAttentions) out.attentions = attentions;
      return out;
    });
  }
}
