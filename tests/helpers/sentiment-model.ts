/**
 * A sentiment classifier for the deployment tests: the embedded model with a classification head
 * set as a trained one would be (a fresh head gives every review the same label), exported to ONNX, and our TensorFlow.js forward pass as the reference.
 */
import * as tf from '@tensorflow/tfjs';
import { fromPretrained } from '../../src/bert/pretrained.js';
import type { BertForSequenceClassification } from '../../src/bert/heads.js';
import { exportOnnx, type ExportResult } from '../../src/onnx/index.js';
import { EMBEDDED_MODEL } from '../../src/package/root.js';
import type { BertTokenizer } from '../../src/tokenizer/index.js';
import { SAMPLE_REVIEWS } from '../../src/course/reviews.js';

export const LABELS = ['negative', 'positive'];

export interface SentimentModel {
  model: BertForSequenceClassification;
  tokenizer: BertTokenizer;
  /** Our forward pass: each row's logits, on ids as given. */
  logits(ids: number[][]): number[][];
}

export async function sentimentModel(): Promise<SentimentModel> {
  const { model, tokenizer } = await fromPretrained(EMBEDDED_MODEL, { task: 'classification', labels: LABELS, seed: 7, backend: 'cpu', quiet: true });
  // A head that separates the course's first two sample reviews (one glowing, one scathing) as a trained one would:
  // its positive row points from the one's pooled [CLS] vector to the other's, and the bias puts the boundary halfway.
  tf.tidy(() => {
    const anchors = tokenizer!.encode(SAMPLE_REVIEWS.slice(0, 2), { padding: 'longest' });
    const pooled = model.bert.forward({ inputIds: anchors.input_ids, attentionMask: anchors.attention_mask }).poolerOutput!;
    const [positive, negative] = tf.unstack(pooled);
    // Scaled so that the two anchors' logits are +-2 (probabilities 0.98): clear labels, scores not saturated.
    const gap = positive.sub(negative);
    const direction = gap.mul(4 / (gap.square().sum().arraySync() as number));
    const bias = direction.dot(positive.add(negative).div(2)).neg();
    const named = new Map(model.params.named());
    named.get('classifier.weight')!.assign(tf.stack([direction.neg(), direction], 1)); // stored [in, out]
    named.get('classifier.bias')!.assign(tf.stack([bias.neg(), bias]));
  });
  const logits = (ids: number[][]) => tf.tidy(() => model.forward({ inputIds: ids }).logits.arraySync() as number[][]);
  return { model, tokenizer: tokenizer!, logits };
}

/** The model exported to `dir` (float and int8), as `finetune-lab export --quantize` writes it. */
export function exportSentiment(s: SentimentModel, dir: string): Promise<ExportResult> {
  return exportOnnx(s.model, dir, { tokenizer: s.tokenizer, quantize: true });
}

export const softmax = (row: number[]): number[] => {
  const top = Math.max(...row);
  const e = row.map((x) => Math.exp(x - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
};
