/**
 * Zero-shot classification by cloze prompting a masked-language model: the class whose
 * verbaliser words are most probable in the blank wins. No training: the model's pretraining
 * alone decides. Small models are biased towards some words whatever the review says, which
 * contextual calibration (Zhao et al., 2021, "Calibrate Before Use") corrects by dividing the
 * class probabilities by those the prompt gets with a content-free review ("N/A", "", "[MASK]").
 */
import * as tf from '@tensorflow/tfjs';
import type { BertForMaskedLM } from '../bert/heads.js';
import type { TextDataset } from '../data/dataset.js';
import { OnnxModel } from '../onnx/index.js';
import type { TruncationOptions } from '../data/loader.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import { buildPrompt, verbalizerIds, type Prompt, type PromptTemplate, type Verbalizer } from './templates.js';
import { argmax } from '../numbers.js';

export interface ClozeOptions extends TruncationOptions {
  /** Prompt length limit in tokens (the review is cut to fit). Default 128. */
  maxLength?: number;
  batchSize?: number;
}

/**
 * A masked-language model on TensorFlow.js, or its encoder on ONNX Runtime (an OnnxModel created
 * for 'feature-extraction'), whose MLM head then runs on TensorFlow.js at the blanks alone: the
 * fill-mask graph would compute the vocabulary's logits at every position.
 */
export type MaskedLanguageModel = BertForMaskedLM | OnnxModel<BertForMaskedLM>;

/** The encoder's `[batch, seq, hidden]` states (the caller disposes them) and the model whose head reads them. */
async function encode(model: MaskedLanguageModel, inputIds: number[][], attentionMask?: number[][]): Promise<[tf.Tensor3D, BertForMaskedLM]> {
  if (!(model instanceof OnnxModel)) return [tf.tidy(() => model.bert.forward({ inputIds, attentionMask }).lastHiddenState), model];
  if (model.task !== 'feature-extraction') throw new Error(`prompting runs the encoder alone on ONNX Runtime; create the OnnxModel with task 'feature-extraction', not '${model.task}'`);
  return [await model.output<tf.Rank.R3>({ input_ids: inputIds, attention_mask: attentionMask }, 'last_hidden_state'), model.model];
}

/** Log-probabilities `[prompts, ids]` of the given vocabulary ids at each prompt's blank. */
async function blankLogProbs(model: MaskedLanguageModel, prompts: readonly Prompt[], ids: readonly number[], padTokenId: number, batchSize: number): Promise<number[][]> {
  const rows: number[][] = [];
  for (let start = 0; start < prompts.length; start += batchSize) {
    const chunk = prompts.slice(start, start + batchSize);
    const length = Math.max(...chunk.map((p) => p.inputIds.length));
    const inputIds = chunk.map((p) => [...p.inputIds, ...new Array<number>(length - p.inputIds.length).fill(padTokenId)]);
    const attentionMask = chunk.map((p) => p.inputIds.map(() => 1).concat(new Array<number>(length - p.inputIds.length).fill(0)));
    const [hidden, mlm] = await encode(model, inputIds, attentionMask);
    const logProbs = tf.tidy(() => {
      const logits = mlm.logitsAt(hidden, chunk.map((p, row) => row * length + p.maskPosition));
      return tf.gather(tf.logSoftmax(logits), tf.tensor1d([...ids], 'int32'), 1);
    });
    hidden.dispose();
    rows.push(...((await logProbs.array()) as number[][]));
    logProbs.dispose();
  }
  return rows;
}

function logSumExp(xs: readonly number[]): number {
  const max = Math.max(...xs);
  return max + Math.log(xs.reduce((sum, x) => sum + Math.exp(x - max), 0));
}

/**
 * Each class's score for each review: the log of the summed probability of the class's words
 * in the blank, `[reviews, classes]`.
 */
export async function clozeScores(
  model: MaskedLanguageModel, tokenizer: BertTokenizer, reviews: readonly string[], template: PromptTemplate, verbalizer: Verbalizer, options: ClozeOptions = {},
): Promise<number[][]> {
  const { maxLength = 128, batchSize = 16 } = options;
  const classes = verbalizerIds(tokenizer, verbalizer);
  const prompts = reviews.map((review) => buildPrompt(tokenizer, template, review, maxLength, options));
  const logProbs = await blankLogProbs(model, prompts, classes.flat(), tokenizer.padTokenId, batchSize);
  return logProbs.map((row) => {
    let at = 0;
    return classes.map((words) => logSumExp(row.slice(at, (at += words.length))));
  });
}

/** The content-free inputs of contextual calibration. */
export const CONTENT_FREE_INPUTS: readonly string[] = ['N/A', '', '[MASK]'];

/** Scores normalised over the classes: log-probabilities of the classes that sum to 1. */
export function classLogProbs(scores: readonly number[]): number[] {
  const total = logSumExp(scores);
  return scores.map((s) => s - total);
}

/** The prompt's class probabilities with no review: the mean over the content-free inputs. */
export async function contentFreePrior(model: MaskedLanguageModel, tokenizer: BertTokenizer, template: PromptTemplate, verbalizer: Verbalizer, options: ClozeOptions = {}): Promise<number[]> {
  const scores = await clozeScores(model, tokenizer, CONTENT_FREE_INPUTS, template, verbalizer, options);
  const probabilities = scores.map((row) => classLogProbs(row).map(Math.exp));
  return verbalizer.map((_, c) => probabilities.reduce((sum, p) => sum + p[c], 0) / probabilities.length);
}

/** Calibrated scores: class log-probabilities minus the log of the content-free prior (p(c|x) / p_cf(c)). */
export function calibrate(scores: readonly (readonly number[])[], prior: readonly number[]): number[][] {
  return scores.map((row) => classLogProbs(row).map((s, c) => s - Math.log(prior[c])));
}

/** The class with the highest score for each row. */
export function argmaxRows(scores: readonly (readonly number[])[]): number[] {
  return scores.map(argmax);
}

export interface TemplateEvaluation {
  template: PromptTemplate;
  /** Accuracy of the raw scores and of the calibrated ones. */
  accuracy: number;
  calibratedAccuracy: number;
  /** Content-free class probabilities of this template. */
  prior: number[];
  /** Share of each class among the raw and the calibrated predictions. */
  predictedShares: number[];
  calibratedShares: number[];
  scores: number[][];
  predictions: number[];
  calibratedPredictions: number[];
}

function accuracy(predictions: readonly number[], labels: readonly number[]): number {
  return predictions.filter((p, i) => p === labels[i]).length / Math.max(labels.length, 1);
}

function shares(predictions: readonly number[], classes: number): number[] {
  return Array.from({ length: classes }, (_, c) => predictions.filter((p) => p === c).length / Math.max(predictions.length, 1));
}

/** Zero-shot accuracy of one template on a labelled dataset, raw and calibrated. */
export async function evaluateTemplate(
  model: MaskedLanguageModel, tokenizer: BertTokenizer, dataset: TextDataset, template: PromptTemplate, verbalizer: Verbalizer, options: ClozeOptions = {},
): Promise<TemplateEvaluation> {
  if (verbalizer.length !== dataset.labelNames.length) {
    throw new Error(`the verbaliser has words for ${verbalizer.length} classes but the dataset has ${dataset.labelNames.length} (${dataset.labelNames.join(', ')})`);
  }
  const scores = await clozeScores(model, tokenizer, dataset.text, template, verbalizer, options);
  const prior = await contentFreePrior(model, tokenizer, template, verbalizer, options);
  const predictions = argmaxRows(scores);
  const calibratedPredictions = argmaxRows(calibrate(scores, prior));
  return {
    template,
    accuracy: accuracy(predictions, dataset.label),
    calibratedAccuracy: accuracy(calibratedPredictions, dataset.label),
    prior,
    predictedShares: shares(predictions, verbalizer.length),
    calibratedShares: shares(calibratedPredictions, verbalizer.length),
    scores,
    predictions,
    calibratedPredictions,
  };
}

/** A candidate for a blank. */
export interface Filling {
  token: string;
  probability: number;
}

/** The `topK` most probable tokens for each `[MASK]` in `text`, in order of the blanks. */
export async function fillMask(model: MaskedLanguageModel, tokenizer: BertTokenizer, text: string, options: { topK?: number; maxLength?: number } = {}): Promise<Filling[][]> {
  const { topK = 5, maxLength = 128 } = options;
  const ids = tokenizer.encode(text, { maxLength }).input_ids[0];
  const positions = ids.flatMap((id, i) => (id === tokenizer.maskTokenId ? [i] : []));
  if (positions.length === 0) throw new Error(`${JSON.stringify(text)} has no [MASK] (within ${maxLength} tokens) to fill in`);
  const [hidden, mlm] = await encode(model, [ids]);
  const [values, indices] = tf.tidy(() => {
    const { values, indices } = tf.topk(tf.softmax(mlm.logitsAt(hidden, positions)), topK);
    return [values, indices];
  });
  const [p, top] = [(await values.array()) as number[][], (await indices.array()) as number[][]];
  tf.dispose([hidden, values, indices]);
  return top.map((row, k) => tokenizer.convertIdsToTokens(row).map((token, j) => ({ token, probability: p[k][j] })));
}

/** One template scored on a validation set (to choose with) and a test set (to report). */
export interface TemplateRun {
  validation: TemplateEvaluation;
  test: TemplateEvaluation;
}

/** The prompt to ship: a template, with or without calibration, chosen on validation accuracy. */
export interface TemplateChoice {
  template: PromptTemplate;
  calibrated: boolean;
  validationAccuracy: number;
  testAccuracy: number;
  /** Test predictions of that choice. */
  predictions: number[];
}

/**
 * The template and calibration setting with the best validation accuracy (the first on a tie),
 * with its test figures: choosing by test accuracy would flatter the winner.
 */
export function chooseTemplate(runs: readonly TemplateRun[]): TemplateChoice {
  if (runs.length === 0) throw new Error('no templates to choose from');
  const options = runs.flatMap(({ validation, test }) => [false, true].map((calibrated): TemplateChoice => ({
    template: test.template,
    calibrated,
    validationAccuracy: calibrated ? validation.calibratedAccuracy : validation.accuracy,
    testAccuracy: calibrated ? test.calibratedAccuracy : test.accuracy,
    predictions: calibrated ? test.calibratedPredictions : test.predictions,
  })));
  return options.reduce((best, option) => (option.validationAccuracy > best.validationAccuracy ? option : best));
}

/** Every template scored on `validation` (to choose with) and `test` (to report), and the one to ship (`chooseTemplate`). */
export async function compareTemplates(
  model: MaskedLanguageModel, tokenizer: BertTokenizer, splits: { validation: TextDataset; test: TextDataset },
  templates: readonly PromptTemplate[], verbalizer: Verbalizer, options: ClozeOptions & { onRun?: (run: TemplateRun) => void } = {},
): Promise<{ runs: TemplateRun[]; chosen: TemplateChoice }> {
  const runs: TemplateRun[] = [];
  for (const template of templates) {
    const run = {
      validation: await evaluateTemplate(model, tokenizer, splits.validation, template, verbalizer, options),
      test: await evaluateTemplate(model, tokenizer, splits.test, template, verbalizer, options),
    };
    options.onRun?.(run);
    runs.push(run);
  }
  return { runs, chosen: chooseTemplate(runs) };
}
