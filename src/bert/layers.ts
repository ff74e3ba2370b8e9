/**
 * BERT's blocks as transformers' modeling_bert.py names them (BertEmbeddings, BertSelfAttention,
 * BertSelfOutput, BertAttention, BertIntermediate, BertOutput, BertLayer, BertEncoder, BertPooler),
 * with transformers' attribute names, so that each parameter's name is the path to it:
 * `bert.encoder.layer.0.attention.self.query.weight`.
 */
import * as tf from '@tensorflow/tfjs';
import { add, attentionProbs, dropout, reshape, type ForwardContext } from '../ops.js';
import type { BertConfig } from './config.js';
import { activation, Embedding, LayerNorm, Linear, Module, type LinearModule } from './modules.js';
import type { Parameters } from './weights.js';

/** LayerNorm(word[input_ids] + position[0..S) + token_type[token_type_ids]), then dropout. */
export class BertEmbeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;

  constructor(params: Parameters, name: string, readonly config: BertConfig) {
    super(name);
    const h = config.hidden_size;
    this.word_embeddings = new Embedding(params, `${name}.word_embeddings`, config.vocab_size, h, config.pad_token_id);
    this.position_embeddings = new Embedding(params, `${name}.position_embeddings`, config.max_position_embeddings, h);
    this.token_type_embeddings = new Embedding(params, `${name}.token_type_embeddings`, config.type_vocab_size, h);
    this.LayerNorm = new LayerNorm(params, `${name}.LayerNorm`, h, config.layer_norm_eps);
  }

  forward(ids: tf.Tensor2D, tokenTypes: tf.Tensor2D, context: ForwardContext): tf.Tensor3D {
    const seq = ids.shape[1];
    if (seq > this.config.max_position_embeddings) {
      throw new Error(`input length ${seq} exceeds max_position_embeddings ${this.config.max_position_embeddings}; truncate the inputs`);
    }
    const words = this.word_embeddings.forward(ids);
    const positions = this.position_embeddings.forward(tf.range(0, seq, 1, 'int32'));
    const types = this.token_type_embeddings.forward(tokenTypes);
    const sum = add(add(words, positions), types);
    return dropout(this.LayerNorm.forward(sum), this.config.hidden_dropout_prob, context) as tf.Tensor3D;
  }
}

/** Multi-head self-attention: the context `[B, S, H]` and the probabilities `[B, heads, S, S]`. */
export class BertSelfAttention extends Module {
  readonly query: LinearModule;
  readonly key: LinearModule;
  readonly value: LinearModule;

  constructor(params: Parameters, name: string, private readonly config: BertConfig) {
    super(name);
    const h = config.hidden_size;
    this.query = new Linear(params, `${name}.query`, h, h);
    this.key = new Linear(params, `${name}.key`, h, h);
    this.value = new Linear(params, `${name}.value`, h, h);
  }

  forward(h: tf.Tensor3D, maskBias: tf.Tensor, context: ForwardContext): [tf.Tensor3D, tf.Tensor4D] {
    const [batch, seq, hidden] = h.shape;
    const heads = this.config.num_attention_heads;
    const dh = hidden / heads;
    const split = (t: tf.Tensor) => reshape(t, [batch, seq, heads, dh]);
    const q = tf.transpose(split(this.query.forward(h, context)), [0, 2, 1, 3]);
    // k is laid out [B, heads, dh, S] directly so that q @ k^T is an untransposed product.
    const kT = tf.transpose(split(this.key.forward(h, context)), [0, 2, 3, 1]);
    const v = tf.transpose(split(this.value.forward(h, context)), [0, 2, 1, 3]);
    const probs = attentionProbs(tf.matMul(q, kT), maskBias, 1 / Math.sqrt(dh), this.config.attention_probs_dropout_prob, context);
    const attended = tf.matMul(probs, v);
    return [reshape(tf.transpose(attended, [0, 2, 1, 3]), [batch, seq, hidden]), probs];
  }
}

/** LayerNorm(dropout(dense(hidden)) + input): the output projection of attention (BertSelfOutput) and of the feed-forward block (BertOutput). */
export class BertResidualOutput extends Module {
  readonly dense: LinearModule;
  readonly LayerNorm: LayerNorm;

  constructor(params: Parameters, name: string, inFeatures: number, private readonly config: BertConfig) {
    super(name);
    this.dense = new Linear(params, `${name}.dense`, inFeatures, config.hidden_size);
    this.LayerNorm = new LayerNorm(params, `${name}.LayerNorm`, config.hidden_size, config.layer_norm_eps);
  }

  forward(hidden: tf.Tensor, input: tf.Tensor, context: ForwardContext): tf.Tensor3D {
    const out = dropout(this.dense.forward(hidden, context), this.config.hidden_dropout_prob, context);
    return this.LayerNorm.forward(add(out, input)) as tf.Tensor3D;
  }
}

export class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;

  constructor(params: Parameters, name: string, config: BertConfig) {
    super(name);
    this.self = new BertSelfAttention(params, `${name}.self`, config);
    this.output = new BertResidualOutput(params, `${name}.output`, config.hidden_size, config);
  }

  forward(h: tf.Tensor3D, maskBias: tf.Tensor, context: ForwardContext): [tf.Tensor3D, tf.Tensor4D] {
    const [attended, probs] = this.self.forward(h, maskBias, context);
    return [this.output.forward(attended, h, context), probs];
  }
}

/** The feed-forward block's first half: activation(dense(x)), hidden to intermediate size. */
export class BertIntermediate extends Module {
  readonly dense: LinearModule;

  constructor(params: Parameters, name: string, private readonly config: BertConfig) {
    super(name);
    this.dense = new Linear(params, `${name}.dense`, config.hidden_size, config.intermediate_size);
  }

  forward(x: tf.Tensor, context: ForwardContext): tf.Tensor {
    return activation(this.config.hidden_act)(this.dense.forward(x, context));
  }
}

/** One encoder layer (post-LN): h = LayerNorm(h + Attention(h)); h = LayerNorm(h + FFN(h)). */
export class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;

  constructor(params: Parameters, name: string, config: BertConfig) {
    super(name);
    this.attention = new BertAttention(params, `${name}.attention`, config);
    this.intermediate = new BertIntermediate(params, `${name}.intermediate`, config);
    this.output = new BertResidualOutput(params, `${name}.output`, config.intermediate_size, config);
  }

  /** The layer's output and its attention probabilities. */
  forward(h: tf.Tensor3D, maskBias: tf.Tensor, context: ForwardContext): [tf.Tensor3D, tf.Tensor4D] {
    const [a, probs] = this.attention.forward(h, maskBias, context);
    return [this.output.forward(this.intermediate.forward(a, context), a, context), probs];
  }
}

export class BertEncoder extends Module {
  readonly layer: BertLayer[];

  constructor(params: Parameters, name: string, config: BertConfig) {
    super(name);
    this.layer = Array.from({ length: config.num_hidden_layers }, (_, i) => new BertLayer(params, `${name}.layer.${i}`, config));
  }
}

/** tanh(dense(h[:, 0])): the [CLS] token's vector, pooled. */
export class BertPooler extends Module {
  readonly dense: LinearModule;

  constructor(params: Parameters, name: string, hidden: number) {
    super(name);
    this.dense = new Linear(params, `${name}.dense`, hidden, hidden);
  }

  forward(h: tf.Tensor3D, context: ForwardContext): tf.Tensor2D {
    const batch = h.shape[0];
    const cls = h.slice([0, 0, 0], [batch, 1, -1]).reshape([batch, -1]);
    return tf.tanh(this.dense.forward(cls, context)) as tf.Tensor2D;
  }
}
