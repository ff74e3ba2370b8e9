/**
 * BERT (Devlin et al., 2018) as Hugging Face `transformers`' `BertModel` computes it, written as
 * plain TensorFlow.js ops over named tf.Variables:
 *
 *   embeddings = LayerNorm(word[input_ids] + position[0..S) + token_type[token_type_ids])
 *   each layer (post-LN):  h = LayerNorm(h + Attention(h));  h = LayerNorm(h + FFN(h))
 *   pooler = tanh(Linear(h[:, 0]))
 *
 * Every Linear goes through `linear(name, x)`, keyed by its Hugging Face module name, so that
 * adapters (LoRA, ...) can be attached to any of them with `setLinearHook` without changing this
 * file; the task heads in heads.ts add their parameters to the same `Parameters`.
 */
import * as tf from '@tensorflow/tfjs';
import { add, attentionProbs, dropout, embeddingLookup, gelu, layerNorm, linear, reshape, type ForwardContext } from '../ops.js';
import type { BertConfig } from './config.js';
import { BASE_PREFIX, Parameters } from './weights.js';

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

/**
 * An adapter on a Linear module: receives the module's input and its output `x @ W + b` and
 * returns the output to use (LoRA: `y + scale * (x @ A) @ B`).
 */
export type LinearHook = (x: tf.Tensor2D, y: tf.Tensor2D, context: ForwardContext) => tf.Tensor2D;

/** transformers fills masked attention scores with the dtype's lowest value. */
const FLOAT32_MIN = -3.4028234663852886e38;

const P = BASE_PREFIX;

function asTensor(x: tf.Tensor2D | number[][], dtype: 'int32' | 'float32'): tf.Tensor2D {
  if (x instanceof tf.Tensor) return x.dtype === dtype ? x : tf.cast(x, dtype);
  return tf.tensor2d(x, undefined, dtype);
}

export class BertModel {
  private readonly hooks = new Map<string, LinearHook>();
  private readonly linears = new Set<string>();
  readonly hasPooler: boolean;

  /**
   * Creates the encoder's parameters in `params` (initialised from its source where given).
   * @param options.pooler build the pooler (BertForMaskedLM has none)
   */
  constructor(readonly config: BertConfig, readonly params: Parameters, options: { pooler?: boolean } = {}) {
    const { hidden_size: h, intermediate_size: ff } = config;
    this.hasPooler = options.pooler ?? true;
    params.create(`${P}embeddings.word_embeddings.weight`, { shape: [config.vocab_size, h], init: 'normal', paddingIdx: config.pad_token_id });
    params.create(`${P}embeddings.position_embeddings.weight`, { shape: [config.max_position_embeddings, h], init: 'normal' });
    params.create(`${P}embeddings.token_type_embeddings.weight`, { shape: [config.type_vocab_size, h], init: 'normal' });
    this.addLayerNorm(`${P}embeddings.LayerNorm`, h);
    for (let i = 0; i < config.num_hidden_layers; i++) {
      const l = `${P}encoder.layer.${i}.`;
      for (const m of ['query', 'key', 'value']) this.addLinear(`${l}attention.self.${m}`, h, h);
      this.addLinear(`${l}attention.output.dense`, h, h);
      this.addLayerNorm(`${l}attention.output.LayerNorm`, h);
      this.addLinear(`${l}intermediate.dense`, h, ff);
      this.addLinear(`${l}output.dense`, ff, h);
      this.addLayerNorm(`${l}output.LayerNorm`, h);
    }
    if (this.hasPooler) this.addLinear(`${P}pooler.dense`, h, h);
  }

  /** Defines the Linear module `name` (`name.weight` stored `[in, out]`, `name.bias`). */
  addLinear(name: string, inFeatures: number, outFeatures: number): void {
    this.params.create(`${name}.weight`, { shape: [inFeatures, outFeatures], init: 'normal', linear: true });
    this.params.create(`${name}.bias`, { shape: [outFeatures], init: 'zeros' });
    this.linears.add(name);
  }

  /** Defines the LayerNorm module `name` (`name.weight` = 1, `name.bias` = 0). */
  addLayerNorm(name: string, size: number): void {
    this.params.create(`${name}.weight`, { shape: [size], init: 'ones' });
    this.params.create(`${name}.bias`, { shape: [size], init: 'zeros' });
  }

  /** The names of all Linear modules (targets for `setLinearHook`). */
  linearNames(): string[] {
    return [...this.linears];
  }

  /** Attaches an adapter to the Linear module `name`, or removes it (`undefined`). */
  setLinearHook(name: string, hook: LinearHook | undefined): void {
    if (!this.linears.has(name)) throw new Error(`no Linear module ${name}; see linearNames()`);
    if (hook) this.hooks.set(name, hook);
    else this.hooks.delete(name);
  }

  /** `x @ W + b` over the last axis of x, through the module's hook if one is attached. */
  linear(name: string, x: tf.Tensor, context: ForwardContext): tf.Tensor {
    const w = this.params.get(`${name}.weight`) as tf.Tensor2D;
    const b = this.params.get(`${name}.bias`);
    const rows = reshape<tf.Tensor2D>(x, [-1, x.shape[x.rank - 1]]);
    let y = linear(rows, w, b as tf.Tensor1D);
    const hook = this.hooks.get(name);
    if (hook) y = hook(rows, y, context);
    return reshape(y, [...x.shape.slice(0, -1), w.shape[1]]);
  }

  layerNorm(name: string, x: tf.Tensor): tf.Tensor {
    const gamma = this.params.get(`${name}.weight`) as tf.Tensor1D;
    const beta = this.params.get(`${name}.bias`) as tf.Tensor1D;
    return layerNorm(x, gamma, beta, this.config.layer_norm_eps);
  }

  /** The config's hidden_act (exact erf GELU for BERT). */
  activation(x: tf.Tensor): tf.Tensor {
    return this.config.hidden_act === 'relu' ? tf.relu(x) : gelu(x);
  }

  private embeddings(ids: tf.Tensor2D, tokenTypes: tf.Tensor2D, context: ForwardContext): tf.Tensor3D {
    const seq = ids.shape[1];
    if (seq > this.config.max_position_embeddings) {
      throw new Error(`input length ${seq} exceeds max_position_embeddings ${this.config.max_position_embeddings}; truncate the inputs`);
    }
    const words = embeddingLookup(this.params.get(`${P}embeddings.word_embeddings.weight`), ids);
    const positions = embeddingLookup(this.params.get(`${P}embeddings.position_embeddings.weight`), tf.range(0, seq, 1, 'int32'));
    const types = embeddingLookup(this.params.get(`${P}embeddings.token_type_embeddings.weight`), tokenTypes);
    const sum = add(add(words, positions), types);
    return dropout(this.layerNorm(`${P}embeddings.LayerNorm`, sum), this.config.hidden_dropout_prob, context) as tf.Tensor3D;
  }

  /** Multi-head self-attention; returns the context `[B, S, H]` and the probabilities `[B, heads, S, S]`. */
  private selfAttention(name: string, h: tf.Tensor3D, maskBias: tf.Tensor, context: ForwardContext): [tf.Tensor3D, tf.Tensor4D] {
    const [batch, seq, hidden] = h.shape;
    const heads = this.config.num_attention_heads;
    const dh = hidden / heads;
    const split = (t: tf.Tensor) => reshape(t, [batch, seq, heads, dh]);
    const q = tf.transpose(split(this.linear(`${name}.query`, h, context)), [0, 2, 1, 3]);
    // k is laid out [B, heads, dh, S] directly so that q @ k^T is an untransposed product.
    const kT = tf.transpose(split(this.linear(`${name}.key`, h, context)), [0, 2, 3, 1]);
    const v = tf.transpose(split(this.linear(`${name}.value`, h, context)), [0, 2, 1, 3]);
    const probs = attentionProbs(tf.matMul(q, kT), maskBias, 1 / Math.sqrt(dh), this.config.attention_probs_dropout_prob, context);
    const attended = tf.matMul(probs, v);
    return [reshape(tf.transpose(attended, [0, 2, 1, 3]), [batch, seq, hidden]), probs];
  }

  private layer(i: number, h: tf.Tensor3D, maskBias: tf.Tensor, context: ForwardContext): [tf.Tensor3D, tf.Tensor4D] {
    const l = `${P}encoder.layer.${i}.`;
    const drop = this.config.hidden_dropout_prob;
    const [attention, probs] = this.selfAttention(`${l}attention.self`, h, maskBias, context);
    const attended = dropout(this.linear(`${l}attention.output.dense`, attention, context), drop, context);
    const a = this.layerNorm(`${l}attention.output.LayerNorm`, add(attended, h));
    const inner = this.activation(this.linear(`${l}intermediate.dense`, a, context));
    const out = dropout(this.linear(`${l}output.dense`, inner, context), drop, context);
    return [this.layerNorm(`${l}output.LayerNorm`, add(out, a)) as tf.Tensor3D, probs];
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

      let h = this.embeddings(ids, tokenTypes, context);
      const hiddenStates = [h];
      const attentions: tf.Tensor4D[] = [];
      for (let i = 0; i < this.config.num_hidden_layers; i++) {
        // A scope per layer frees its intermediates as soon as it is done (a gradient tape keeps
        // its own copies of what backpropagation needs): without it a bert-base forward pass
        // holds every layer's activations at once, several GB at batch 32 and 256 tokens.
        const [next, probs] = tf.tidy(() => {
          const [out, p] = this.layer(i, h, maskBias, context);
          return options.outputAttentions ? [out, p] : [out];
        }) as [tf.Tensor3D, tf.Tensor4D?];
        if (!options.outputHiddenStates) h.dispose();
        h = next;
        hiddenStates.push(h);
        if (probs) attentions.push(probs);
      }
      const out: BertOutput = { lastHiddenState: h };
      if (this.hasPooler) {
        const cls = h.slice([0, 0, 0], [batch, 1, -1]).reshape([batch, -1]);
        out.poolerOutput = tf.tanh(this.linear(`${P}pooler.dense`, cls, context)) as tf.Tensor2D;
      }
      if (options.outputHiddenStates) out.hiddenStates = hiddenStates;
      if (options.outputAttentions) out.attentions = attentions;
      return out;
    });
  }
}
