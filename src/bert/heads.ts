/**
 * BERT with task heads, each named and computed as its transformers class (or, for
 * `BertArticleClassifier`, as the PyTorch module of the fine-tuning article), so that their
 * checkpoints load in Python without missing keys.
 */
import * as tf from '@tensorflow/tfjs';
import { numLabels, type BertConfig } from './config.js';
import { dropout, embeddingLookup, EVAL, type ForwardContext } from '../ops.js';
import { BertOnlyMLMHead, BertPreTrainingHeads, ElectraDiscriminatorPredictions } from './mlm-head.js';
import { asTensor, BertModel, type BertInputs, type BertOutput, type ForwardOptions } from './model.js';
import { Linear, Module, type LinearModule } from './modules.js';
import { classifierPooling, pool } from './pooling.js';
import { Parameters, type ParameterSource } from './weights.js';

/** The model classes fromPretrained builds: `base` is transformers' BertModel. */
export type BertTask = 'base' | 'mlm' | 'pretraining' | 'classification' | 'article' | 'rtd';

/** The transformers class of each task (config.json `architectures`); the article's and `rtd`'s are this project's. */
export const ARCHITECTURES: Record<BertTask, string> = {
  base: 'BertModel',
  mlm: 'BertForMaskedLM',
  pretraining: 'BertForPreTraining',
  classification: 'BertForSequenceClassification',
  article: 'BertArticleClassifier',
  rtd: 'BertForReplacedTokenDetection',
};

/** The task of a transformers class name, if it is one of ARCHITECTURES. */
export function taskOfArchitecture(architecture: string): BertTask | undefined {
  return (Object.keys(ARCHITECTURES) as BertTask[]).find((task) => ARCHITECTURES[task] === architecture);
}

export interface BuildOptions {
  /** Initial values (a checkpoint); what it lacks is initialised as transformers does. */
  source?: ParameterSource;
  /** Seed of the fresh initialisation. */
  seed?: number;
  /** Build the pooler even where the transformers class has none (a BertForMaskedLM whose pretraining trained one). */
  pooler?: boolean;
  /**
   * Use this model's embeddings module, its very variables (word, position and token-type
   * embeddings and their LayerNorm), instead of making new ones: ELECTRA's generator shares its
   * discriminator's. The sizes of the embeddings must agree; `dispose` leaves them to their owner.
   */
  embeddingsOf?: BertTaskModel;
}

/** What every task model has: the encoder, all parameters, and its transformers class name. It owns its head's modules. */
export abstract class BertTaskModel extends Module {
  /** The transformers class, written to config.json's `architectures`. */
  abstract readonly architecture: string;
  readonly params: Parameters;
  readonly bert: BertModel;

  constructor(readonly config: BertConfig, options: BuildOptions = {}, pooler = true) {
    super('');
    this.params = new Parameters(config.initializer_range, options.source, options.seed);
    const shared = options.embeddingsOf;
    if (shared) this.params.share(shared.params, `${shared.bert.embeddings.name}.`);
    this.bert = this.define(() => new BertModel(config, this.params, { pooler: options.pooler ?? pooler, embeddings: shared?.bert.embeddings }));
  }

  /** Builds a part of the model; if that fails (a checkpoint of the wrong shape), frees the variables made so far before rethrowing. */
  protected define<T>(build: () => T): T {
    try {
      return build();
    } catch (err) {
      this.params.dispose();
      throw err;
    }
  }

  /** Frees all parameters. */
  dispose(): void {
    this.params.dispose();
  }
}

/** transformers' BertModel: the encoder and pooler, no head. */
export class BertBase extends BertTaskModel {
  readonly architecture = ARCHITECTURES.base;

  forward(inputs: BertInputs, options: ForwardOptions = {}): BertOutput {
    return this.bert.forward(inputs, options);
  }
}

/**
 * transformers' BertForMaskedLM: no pooler, unless built with `pooler: true` for a pretraining
 * objective that trains one (transformers then skips the pooler's weights when loading it).
 */
export class BertForMaskedLM extends BertTaskModel {
  readonly architecture = ARCHITECTURES.mlm;
  readonly cls: BertOnlyMLMHead;

  constructor(config: BertConfig, options: BuildOptions = {}) {
    super(config, options, false);
    this.cls = this.define(() => new BertOnlyMLMHead(this.params, 'cls', this.bert));
  }

  /** The encoder's outputs and `logits` `[B, S, vocab]`. */
  forward(inputs: BertInputs, options: ForwardOptions = {}): BertOutput & { logits: tf.Tensor3D } {
    return tf.tidy(() => {
      const out = this.bert.forward(inputs, options);
      return { ...out, logits: this.cls.predictions.forward(out.lastHiddenState, options) };
    });
  }

  /**
   * Logits `[N, vocab]` at chosen tokens only: `positions` index the `B * S` tokens of the batch
   * (row-major). MLM training and cloze prompts need the few masked tokens, and the vocabulary
   * product for every token would cost more than the encoder itself.
   */
  logitsAt(lastHiddenState: tf.Tensor3D, positions: tf.Tensor1D | number[], context: ForwardContext = EVAL): tf.Tensor2D {
    return tf.tidy(() => {
      const index = positions instanceof tf.Tensor ? tf.cast(positions, 'int32') : tf.tensor1d(positions, 'int32');
      const rows = embeddingLookup(lastHiddenState.reshape([-1, this.config.hidden_size]), index) as tf.Tensor2D;
      return this.logitsOf(rows, context);
    });
  }

  /** Vocabulary logits `[N, vocab]` of any vectors `[N, hidden]`, e.g. pooled [CLS] vectors. */
  logitsOf(rows: tf.Tensor2D, context: ForwardContext = EVAL): tf.Tensor2D {
    return tf.tidy(() => this.cls.predictions.forward(rows, context));
  }
}

/** transformers' BertForPreTraining: the MLM head and the next-sentence head `cls.seq_relationship`. */
export class BertForPreTraining extends BertTaskModel {
  readonly architecture = ARCHITECTURES.pretraining;
  readonly cls: BertPreTrainingHeads;

  constructor(config: BertConfig, options: BuildOptions = {}) {
    super(config, options, true);
    this.cls = this.define(() => new BertPreTrainingHeads(this.params, 'cls', this.bert));
  }

  /** The encoder's outputs, MLM `logits` `[B, S, vocab]` and `seqRelationshipLogits` `[B, 2]`. */
  forward(inputs: BertInputs, options: ForwardOptions = {}): BertOutput & { logits: tf.Tensor3D; seqRelationshipLogits: tf.Tensor2D } {
    return tf.tidy(() => {
      const out = this.bert.forward(inputs, options);
      const seqRelationshipLogits = this.cls.seq_relationship.forward(out.poolerOutput as tf.Tensor2D, options) as tf.Tensor2D;
      return { ...out, logits: this.cls.predictions.forward(out.lastHiddenState, options), seqRelationshipLogits };
    });
  }
}

/**
 * ELECTRA's discriminator (Clark et al., 2020) on a BERT: the encoder, no pooler, and the per-token
 * head `discriminator_predictions` as transformers' ElectraForPreTraining names it. Not a
 * transformers class: the encoder keeps BERT's `bert.` names, so that every BERT class loads it
 * (reporting the head as unused), while transformers' ELECTRA classes would look for `electra.`.
 */
export class BertForReplacedTokenDetection extends BertTaskModel {
  readonly architecture = ARCHITECTURES.rtd;
  readonly discriminator_predictions: ElectraDiscriminatorPredictions;

  constructor(config: BertConfig, options: BuildOptions = {}) {
    super(config, options, false);
    this.discriminator_predictions = this.define(() => new ElectraDiscriminatorPredictions(this.params, 'discriminator_predictions', config));
  }

  /** The encoder's outputs and `logits` `[B, S]`: positive where the token is predicted to be a replacement. */
  forward(inputs: BertInputs, options: ForwardOptions = {}): BertOutput & { logits: tf.Tensor2D } {
    return tf.tidy(() => {
      const out = this.bert.forward(inputs, options);
      return { ...out, logits: this.discriminator_predictions.forward(out.lastHiddenState, options) };
    });
  }
}

/** transformers' BertForSequenceClassification: pooler output -> dropout -> `classifier`. */
export class BertForSequenceClassification extends BertTaskModel {
  readonly architecture = ARCHITECTURES.classification;
  readonly classifier: LinearModule;

  constructor(config: BertConfig, options: BuildOptions = {}) {
    super(config, options, true);
    this.classifier = this.define(() => new Linear(this.params, 'classifier', config.hidden_size, numLabels(config)));
  }

  /** The encoder's outputs and `logits` `[B, num_labels]`. */
  forward(inputs: BertInputs, options: ForwardOptions = {}): BertOutput & { logits: tf.Tensor2D } {
    return tf.tidy(() => {
      const out = this.bert.forward(inputs, options);
      return { ...out, logits: this.classify(out.poolerOutput as tf.Tensor2D, options) };
    });
  }

  /** The head alone: logits from pooled outputs `[B, hidden]` (e.g. cached features). */
  classify(pooled: tf.Tensor2D, context: ForwardContext = EVAL): tf.Tensor2D {
    return tf.tidy(() => {
      const rate = this.config.classifier_dropout ?? this.config.hidden_dropout_prob;
      return this.classifier.forward(dropout(pooled, rate, context), context) as tf.Tensor2D;
    });
  }

  /** transformers' loss for these logits: cross-entropy, or mean squared error with one label (regression). */
  loss(logits: tf.Tensor2D, labels: tf.Tensor1D | number[]): tf.Scalar {
    return tf.tidy(() => {
      if (logits.shape[1] === 1) return tf.mean(tf.square(tf.sub(logits.reshape([-1]), labelTensor(labels, 'float32'))));
      return nllLoss(tf.logSoftmax(logits), labels);
    });
  }
}

/**
 * The classifier of the fine-tuning article (PyTorch `BERT_Arch`): the pooled [CLS] vector
 * (`cls_hs`) -> `fc1` Linear(hidden, 512) -> ReLU -> Dropout(0.1) -> `fc2` Linear(512, labels)
 * -> LogSoftmax, trained with the NLL loss. With `classifier_pooling: "mean"` in its config it
 * reads the mean of the token vectors instead of [CLS] (pooling.ts).
 */
export class BertArticleClassifier extends BertTaskModel {
  readonly architecture = ARCHITECTURES.article;
  static readonly HIDDEN = 512;
  static readonly DROPOUT = 0.1;
  readonly fc1: LinearModule;
  readonly fc2: LinearModule;

  constructor(config: BertConfig, options: BuildOptions = {}) {
    super(config, options, true);
    this.fc1 = this.define(() => new Linear(this.params, 'fc1', config.hidden_size, BertArticleClassifier.HIDDEN));
    this.fc2 = this.define(() => new Linear(this.params, 'fc2', BertArticleClassifier.HIDDEN, numLabels(config)));
  }

  /** The encoder's outputs and `logProbs` `[B, num_labels]` (log-softmax). */
  forward(inputs: BertInputs, options: ForwardOptions = {}): BertOutput & { logProbs: tf.Tensor2D } {
    return tf.tidy(() => {
      const out = this.bert.forward(inputs, options);
      return { ...out, logProbs: this.classify(pool(out, inputs.attentionMask && asTensor(inputs.attentionMask, 'float32'), classifierPooling(this.config)), options) };
    });
  }

  /** The head alone: log-probabilities from pooled outputs `[B, hidden]` (e.g. cached features). */
  classify(pooled: tf.Tensor2D, context: ForwardContext = EVAL): tf.Tensor2D {
    return tf.tidy(() => {
      const hidden = tf.relu(this.fc1.forward(pooled, context));
      const logits = this.fc2.forward(dropout(hidden, BertArticleClassifier.DROPOUT, context), context);
      return tf.logSoftmax(logits) as tf.Tensor2D;
    });
  }

  /** PyTorch's `nn.NLLLoss` (mean) of the log-probabilities. */
  loss(logProbs: tf.Tensor2D, labels: tf.Tensor1D | number[]): tf.Scalar {
    return nllLoss(logProbs, labels);
  }
}

/** Mean negative log-likelihood of the labels' log-probabilities (PyTorch `nn.NLLLoss`). */
export function nllLoss(logProbs: tf.Tensor2D, labels: tf.Tensor1D | number[]): tf.Scalar {
  return tf.tidy(() => {
    const picked = tf.sum(tf.mul(logProbs, tf.oneHot(labelTensor(labels, 'int32'), logProbs.shape[1])), 1);
    return tf.neg(tf.mean(picked)) as tf.Scalar;
  });
}

/** The task model class of each task. */
export const TASK_MODELS = {
  base: BertBase,
  mlm: BertForMaskedLM,
  pretraining: BertForPreTraining,
  classification: BertForSequenceClassification,
  article: BertArticleClassifier,
  rtd: BertForReplacedTokenDetection,
} as const;

function labelTensor(labels: tf.Tensor1D | number[], dtype: 'int32' | 'float32'): tf.Tensor1D {
  return labels instanceof tf.Tensor ? tf.cast(labels, dtype) : tf.tensor1d(labels, dtype);
}
