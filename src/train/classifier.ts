/**
 * What a training loop trains and how it is scored: any `Classifier` over any `BatchSource`, which
 * is how frozen features (batches of cached vectors) and fine-tuning (batches of token ids) share
 * one loop, and the article's `evaluate()`.
 */
import * as tf from '@tensorflow/tfjs';
import { classificationReport, type ClassificationReport } from './metrics.js';
import { argmax } from '../numbers.js';
import { EVAL, type ForwardContext } from '../ops.js';

/** A batch of anything the classifier reads, with its class ids. */
export interface LabelledBatch {
  labels: tf.Tensor1D;
}

/** Batches for one epoch at a time; epoch k's order must depend only on k (and a seed). */
export interface BatchSource<B extends LabelledBatch> {
  /** Number of examples. */
  readonly size: number;
  readonly numBatches: number;
  /** The batches of epoch `epoch`; their tensors live until the loop moves on to the next one. */
  epoch(epoch: number): Iterable<B>;
}

/** What the loop trains: its trainable variables, its scores for a batch and its loss. */
export interface Classifier<B extends LabelledBatch> {
  /** The variables the optimizer updates, by parameter name. */
  trainable(): [string, tf.Variable][];
  /** Class scores `[batch, classes]`: logits or log-probabilities (their argmax is the prediction). */
  scores(batch: B, context: ForwardContext): tf.Tensor2D;
  /** The training loss of those scores. */
  loss(scores: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar;
}

/**
 * What evaluation needs and training does not: eval-mode class scores of a batch computed by
 * another engine (ONNX Runtime, src/finetune/classifiers.ts' `onnxTokenScorer`), and their loss.
 */
export interface Scorer<B extends LabelledBatch> {
  /** Class scores `[batch, classes]` in eval mode; the caller disposes them. */
  evalScores(batch: B): Promise<tf.Tensor2D>;
  loss(scores: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar;
}

export interface Evaluation extends ClassificationReport {
  /** Mean loss per example. */
  loss: number;
  labels: number[];
  predictions: number[];
  /** Class probabilities per example. */
  probabilities: number[][];
}

/**
 * The article's `evaluate()`: mean loss and predictions over a whole source, without gradient
 * bookkeeping and without dropout, by the classifier itself or by a scorer on another engine.
 */
export async function evaluate<B extends LabelledBatch>(classifier: Classifier<B> | Scorer<B>, source: BatchSource<B>): Promise<Evaluation> {
  let lossSum = 0;
  const labels: number[] = [];
  const predictions: number[] = [];
  const probabilities: number[][] = [];
  for (const batch of source.epoch(0)) {
    // Read back asynchronously: synchronous reads are not available on every backend (webgpu in Node).
    const scores = 'evalScores' in classifier ? await classifier.evalScores(batch) : tf.tidy(() => classifier.scores(batch, EVAL));
    const [lossTensor, probsTensor] = tf.tidy(() => [classifier.loss(scores, batch.labels), tf.softmax(scores)]);
    scores.dispose();
    const [loss, probs, y] = [(await lossTensor.data())[0], (await probsTensor.array()) as number[][], await batch.labels.data()];
    tf.dispose([lossTensor, probsTensor]);
    lossSum += loss * y.length;
    for (let i = 0; i < y.length; i++) {
      labels.push(y[i]);
      probabilities.push(probs[i]);
      predictions.push(argmax(probs[i]));
    }
  }
  const report = classificationReport(labels, predictions, probabilities[0]?.length ?? 2);
  return { ...report, loss: lossSum / Math.max(labels.length, 1), labels, predictions, probabilities };
}
