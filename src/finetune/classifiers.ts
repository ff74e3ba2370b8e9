/**
 * The two kinds of batches the training loop sees for BERT classifiers: token ids (fine-tuning,
 * where the encoder runs every step) and cached features (feature extraction, where the frozen
 * encoder ran once and only the head trains), pooled from [CLS] or from every token.
 */
import * as tf from '@tensorflow/tfjs';
import type { BertArticleClassifier, BertForSequenceClassification } from '../bert/heads.js';
import { pool, type Pooling } from '../bert/pooling.js';
import type { Batch, DataLoader } from '../data/loader.js';
import type { AdapterModel } from '../adapters/index.js';
import { OnnxModel } from '../onnx/index.js';
import { EVAL, type ForwardContext } from '../ops.js';
import type { BatchSource, Classifier, LabelledBatch, Scorer } from '../train/classifier.js';

/** The classification models the methods train: transformers' head or the article's. */
export type ClassifierModel = BertForSequenceClassification | BertArticleClassifier;

/** Class scores from token ids (in eval mode by default): logits for transformers' head, log-probabilities for the article's. */
export function tokenScores(model: ClassifierModel, batch: Omit<Batch, 'labels' | 'indices'>, context: ForwardContext = EVAL): tf.Tensor2D {
  const inputs = { inputIds: batch.input_ids, attentionMask: batch.attention_mask, tokenTypeIds: batch.token_type_ids };
  return tf.tidy(() => {
    const out = model.forward(inputs, context);
    return 'logits' in out ? out.logits : out.logProbs;
  });
}

/**
 * A classifier over token ids whose trainable variables are the model's (full fine-tuning,
 * or the frozen encoder with its head) or an adapter's.
 */
export function tokenClassifier(model: ClassifierModel, adapter?: AdapterModel): Classifier<Batch> {
  return {
    trainable: () => (adapter ? adapter.trainableParameters() : model.params.trainable()),
    scores: (batch, context) => tokenScores(model, batch, context),
    loss: (scores, labels) => model.loss(scores, labels),
  };
}

/** The classifier's scores from its exported graph on ONNX Runtime, for `evaluate` (the same as tokenScores' to float tolerance). */
export function onnxTokenScorer(onnx: OnnxModel<ClassifierModel>): Scorer<Batch> {
  return {
    evalScores: (batch) => onnx.output<tf.Rank.R2>(batch, 'logits'),
    loss: (scores, labels) => onnx.model.loss(scores, labels),
  };
}

/** A batch of cached pooled vectors. */
export interface FeatureBatch extends LabelledBatch {
  features: tf.Tensor2D;
}

/**
 * The pooled vectors of a whole dataset, computed once by the frozen encoder in eval mode,
 * served in the loader's batch order. Because the encoder is frozen and runs without dropout,
 * its output for a review never changes, so computing it once and reusing it every epoch is the
 * same computation as running the encoder in every step, only much faster.
 */
export class FeatureCache implements BatchSource<FeatureBatch> {
  readonly size: number;
  readonly numBatches: number;

  private constructor(
    /** The pooled vectors `[size, hidden]`, in dataset order. */
    readonly features: tf.Tensor2D,
    /** Their class ids, in dataset order. */
    readonly labels: tf.Tensor1D,
    private readonly loader: DataLoader,
    private readonly batchSize: number,
  ) {
    this.size = loader.size;
    this.numBatches = loader.numBatches;
  }

  /**
   * Runs the encoder over every batch of `loader` (in dataset order) and keeps the pooled outputs
   * (default: the pooled [CLS]); on ONNX Runtime when given the model as an OnnxModel.
   */
  static async build(model: ClassifierModel | OnnxModel<ClassifierModel>, loader: DataLoader, batchSize: number, pooling: Pooling = 'cls'): Promise<FeatureCache> {
    return (await FeatureCache.buildEach(model, loader, batchSize, [pooling]))[pooling];
  }

  /** One cache per pooling, all from one pass of the encoder over `loader`. */
  static async buildEach<P extends Pooling>(model: ClassifierModel | OnnxModel<ClassifierModel>, loader: DataLoader, batchSize: number, poolings: readonly P[]): Promise<Record<P, FeatureCache>> {
    const parts = poolings.map((): tf.Tensor2D[] => []);
    const labels: tf.Tensor1D[] = [];
    for (const batch of loader.inDatasetOrder()) {
      const exported = model instanceof OnnxModel ? await model.encoderOutput(batch) : undefined;
      const pooled = tf.tidy(() => {
        const out = exported ?? (model as ClassifierModel).bert.forward({ inputIds: batch.input_ids, attentionMask: batch.attention_mask, tokenTypeIds: batch.token_type_ids });
        return poolings.map((p) => pool(out, batch.attention_mask, p));
      });
      if (exported) tf.dispose([exported.lastHiddenState, exported.poolerOutput ?? []]);
      pooled.forEach((features, k) => parts[k].push(features));
      labels.push(batch.labels.clone());
      await tf.nextFrame(); // let progress output and other work through between batches
    }
    const caches = poolings.map((p, k) => [p, new FeatureCache(tf.concat(parts[k]), tf.concat(labels), loader, batchSize)] as const);
    tf.dispose([...parts.flat(), ...labels]);
    return Object.fromEntries(caches) as Record<P, FeatureCache>;
  }

  *epoch(epoch: number): Generator<FeatureBatch> {
    const order = this.loader.order(epoch);
    for (let start = 0; start < order.length; start += this.batchSize) {
      const rows = tf.tensor1d(order.slice(start, start + this.batchSize), 'int32');
      const batch = { features: tf.gather(this.features, rows), labels: tf.gather(this.labels, rows) };
      rows.dispose();
      try {
        yield batch;
      } finally {
        tf.dispose([batch.features, batch.labels]);
      }
    }
  }

  dispose(): void {
    tf.dispose([this.features, this.labels]);
  }
}

/** The model's head alone, trained on cached features. */
export function featureClassifier(model: ClassifierModel): Classifier<FeatureBatch> {
  return {
    trainable: () => model.params.trainable(),
    scores: (batch, context) => model.classify(batch.features, context),
    loss: (scores, labels) => model.loss(scores, labels),
  };
}
