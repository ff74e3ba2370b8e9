/**
 * The pretraining heads as transformers names them: `cls.predictions` (BertLMPredictionHead, the
 * masked-language-model head), `cls.seq_relationship` (the next-sentence head) and ELECTRA's
 * `discriminator_predictions` (the replaced-token-detection head).
 */
import * as tf from '@tensorflow/tfjs';
import { linear, type ForwardContext } from '../ops.js';
import type { BertConfig } from './config.js';
import type { BertModel } from './model.js';
import { activation, LayerNorm, Linear, Module, type LinearModule } from './modules.js';
import type { Parameters } from './weights.js';

/** dense -> activation -> LayerNorm (transformers' BertPredictionHeadTransform). */
export class BertPredictionHeadTransform extends Module {
  readonly dense: LinearModule;
  readonly LayerNorm: LayerNorm;

  constructor(params: Parameters, name: string, private readonly config: BertConfig) {
    super(name);
    this.dense = new Linear(params, `${name}.dense`, config.hidden_size, config.hidden_size);
    this.LayerNorm = new LayerNorm(params, `${name}.LayerNorm`, config.hidden_size, config.layer_norm_eps);
  }

  forward(hidden: tf.Tensor, context: ForwardContext): tf.Tensor {
    return this.LayerNorm.forward(activation(this.config.hidden_act)(this.dense.forward(hidden, context)));
  }
}

/** The transform, then the decoder to vocabulary logits plus `bias`. */
export class BertLMPredictionHead extends Module {
  readonly transform: BertPredictionHeadTransform;
  readonly bias: tf.Variable;
  /** The decoder's weight `[vocab, hidden]` (`decoder.weight`): the word embeddings' when tied (transformers' default). */
  readonly decoder: tf.Variable;

  constructor(params: Parameters, name: string, bert: BertModel) {
    super(name);
    const { hidden_size: h, vocab_size: vocab, tie_word_embeddings: tied } = bert.config;
    this.transform = new BertPredictionHeadTransform(params, `${name}.transform`, bert.config);
    this.bias = params.create(`${name}.bias`, { shape: [vocab], init: 'zeros' });
    this.decoder = tied ? bert.embeddings.word_embeddings.weight : params.create(`${name}.decoder.weight`, { shape: [vocab, h], init: 'normal' });
  }

  /** Vocabulary logits `[..., vocab]` of hidden states `[..., hidden]` (a sequence output, or rows of one). */
  forward<T extends tf.Tensor>(hidden: T, context: ForwardContext): T {
    const width = hidden.shape[hidden.rank - 1];
    const transformed = this.transform.forward(hidden, context);
    const logits = linear(transformed.reshape([-1, width]) as tf.Tensor2D, this.decoder as tf.Tensor2D, this.bias as tf.Tensor1D, true);
    return logits.reshape([...hidden.shape.slice(0, -1), -1]) as T;
  }
}

/** BertForMaskedLM's `cls`: the MLM head alone. */
export class BertOnlyMLMHead extends Module {
  readonly predictions: BertLMPredictionHead;

  constructor(params: Parameters, name: string, bert: BertModel) {
    super(name);
    this.predictions = new BertLMPredictionHead(params, `${name}.predictions`, bert);
  }
}

/** BertForPreTraining's `cls`: the MLM head and the next-sentence head `seq_relationship` (hidden -> 2). */
export class BertPreTrainingHeads extends Module {
  readonly predictions: BertLMPredictionHead;
  readonly seq_relationship: LinearModule;

  constructor(params: Parameters, name: string, bert: BertModel) {
    super(name);
    this.predictions = new BertLMPredictionHead(params, `${name}.predictions`, bert);
    this.seq_relationship = new Linear(params, `${name}.seq_relationship`, bert.config.hidden_size, 2);
  }
}

/**
 * transformers' ElectraDiscriminatorPredictions: dense (hidden -> hidden), the config's activation,
 * `dense_prediction` (hidden -> 1): one logit per token, positive for "replaced".
 */
export class ElectraDiscriminatorPredictions extends Module {
  readonly dense: LinearModule;
  readonly dense_prediction: LinearModule;

  constructor(params: Parameters, name: string, private readonly config: BertConfig) {
    super(name);
    this.dense = new Linear(params, `${name}.dense`, config.hidden_size, config.hidden_size);
    this.dense_prediction = new Linear(params, `${name}.dense_prediction`, config.hidden_size, 1);
  }

  /** Logits `[B, S]` of hidden states `[B, S, hidden]`. */
  forward(hidden: tf.Tensor3D, context: ForwardContext): tf.Tensor2D {
    const [batch, seq] = hidden.shape;
    const h = activation(this.config.hidden_act)(this.dense.forward(hidden, context));
    return this.dense_prediction.forward(h, context).reshape([batch, seq]);
  }
}
