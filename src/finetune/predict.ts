import * as tf from '@tensorflow/tfjs';
import type { TruncationOptions } from '../data/loader.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import { OnnxModel } from '../onnx/index.js';
import { tokenScores, type ClassifierModel } from './classifiers.js';
import { argmax } from '../numbers.js';

export interface Prediction {
  text: string;
  /** The predicted class id and its name from the model's config. */
  label: number;
  labelName: string;
  /** Probability of each class. */
  probabilities: number[];
}

/** The course's settings have these fields, so they can be passed as they are. */
export interface PredictOptions extends TruncationOptions {
  /** Default 256. */
  maxLength?: number;
  /** Default 32. */
  batchSize?: number;
}

/**
 * Labels and class probabilities for new texts, in eval mode (no dropout) and without gradient
 * bookkeeping; on ONNX Runtime when given the model as an OnnxModel. Cut texts longer than
 * `maxLength` tokens as in training (the same `truncation`).
 */
export async function predict(model: ClassifierModel | OnnxModel<ClassifierModel>, tokenizer: BertTokenizer, texts: readonly string[], options: PredictOptions = {}): Promise<Prediction[]> {
  if (!Array.isArray(texts)) throw new Error('predict takes an array of texts, e.g. predict(model, tokenizer, ["a great film"])');
  texts.forEach((text, i) => {
    if (typeof text !== 'string') throw new Error(`text ${i} is ${typeof text}, not a string`);
    if (text.trim() === '') throw new Error(`text ${i} is empty; give the review's words`);
  });
  const { maxLength = 256, batchSize = 32, truncation = 'head', headTokens } = options;
  const names = (model instanceof OnnxModel ? model.model : model).config.id2label;
  const out: Prediction[] = [];
  for (let start = 0; start < texts.length; start += batchSize) {
    const chunk = texts.slice(start, start + batchSize);
    const enc = tokenizer.encodeToTensors(chunk, { maxLength, padding: 'longest', truncation, headTokens });
    const scores = model instanceof OnnxModel ? await model.output<tf.Rank.R2>(enc, 'logits') : tokenScores(model, enc);
    const probs = tf.softmax(scores);
    const rows = (await probs.array()) as number[][];
    tf.dispose([scores, probs, enc.input_ids, enc.token_type_ids, enc.attention_mask]);
    rows.forEach((p, i) => {
      const label = argmax(p);
      out.push({ text: chunk[i], label, labelName: names[String(label)] ?? String(label), probabilities: p });
    });
  }
  return out;
}
