/**
 * Fine-tuning from start to end, as the article does it: load the reviews, split them, tokenize,
 * build the model, choose what trains, train and validate, keep the best, test, predict.
 * `finetune()` is what `finetune-lab train` runs; notebooks call the same steps one by one.
 */
import { join } from 'node:path';
import type { AdapterModel, BottleneckConfig, LoraConfig } from '../adapters/index.js';
import { saveCheckpoint } from '../bert/checkpoint.js';
import { classifierPooling, type Pooling } from '../bert/pooling.js';
import { fromPretrained } from '../bert/pretrained.js';
import { loadCsv } from '../data/csv.js';
import type { TextDataset } from '../data/dataset.js';
import { loadImdb } from '../data/imdb.js';
import { splitLoaders, type TruncationOptions } from '../data/loader.js';
import { splitDataset } from '../data/split.js';
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../backend/index.js';
import { OnnxModel, resolveEngine, type EngineChoice } from '../onnx/index.js';
import { EMBEDDED_MODEL, resolveModelPath } from '../package/root.js';
import type { BertTokenizer } from '../tokenizer/index.js';
import { evaluate, type BatchSource, type Classifier, type Evaluation, type LabelledBatch, type Scorer } from '../train/classifier.js';
import { fit, type EpochRecord, type FitResult } from '../train/trainer.js';
import { FeatureCache, featureClassifier, onnxTokenScorer, tokenClassifier, type ClassifierModel } from './classifiers.js';
import { FINETUNE_DEFAULTS } from './defaults.js';
import { applyMethod, countParameters, METHOD_SPECS, type Method } from './methods.js';
import { withTokenizer } from './pretrained.js';
import { round } from '../numbers.js';

/** What to train and how; every option left out takes its value from FINETUNE_DEFAULTS unless said otherwise. */
export interface FinetuneOptions extends TruncationOptions {
  method: Method;
  /** A model directory or Hub id (default: the embedded model, EMBEDDED_MODEL). */
  model?: string;
  /** `imdb` (default) or a CSV file with `text` and `label` columns. */
  data?: string;
  trainSize?: number;
  valSize?: number;
  /** Test reviews from the held-out split; 0: none, and no test figures (as when choosing settings on validation). */
  testSize?: number;
  epochs?: number;
  batchSize?: number;
  /** Gradient accumulation: run each batch in parts of this many reviews (see FitOptions). */
  microBatchSize?: number;
  /** Default: the method's (METHOD_SPECS). */
  lr?: number;
  maxLength?: number;
  seed?: number;
  /** Default: the backend in use, else the best available (see initBackend). */
  backend?: BackendName;
  /** Where the best model and the resumable state go. */
  outputDir?: string;
  resume?: boolean;
  /** Start afresh in an `outputDir` that holds an earlier run, replacing it. */
  overwrite?: boolean;
  /** Feature extraction only: compute the frozen encoder's features once (default true). */
  cacheFeatures?: boolean;
  /** Feature extraction only: what the head reads, the pooled [CLS] vector (default) or the mean of the tokens; saved in its config. */
  pooling?: Pooling;
  /**
   * What runs the frozen encoder's features and the final evaluations, the work that does not
   * train: `onnx` (ONNX Runtime), `tfjs`, or `auto` (default: see src/onnx/engine.ts). Training is TensorFlow.js'.
   */
  engine?: EngineChoice;
  lora?: Partial<LoraConfig>;
  adapter?: Partial<BottleneckConfig>;
  progress?: boolean;
  /** Stop early, saved in `outputDir` and resumable (see RunControl). */
  maxSteps?: number;
  maxSeconds?: number;
  signal?: AbortSignal;
}

/** What `finetune-lab train` prints as its last line. */
export interface FinetuneSummary {
  method: Method;
  model: string;
  trainable_params: number;
  total_params: number;
  epochs: number;
  train_size: number;
  train_seconds: number;
  train_samples_per_s: number;
  /** Optimizer steps taken, and whether the run trained all its epochs (false when it stopped early, resumably). */
  steps: number;
  completed: boolean;
  /** The best model's validation and test figures; NaN (null in JSON) when the run stopped early, or for a test split of 0. */
  val_loss: number;
  val_accuracy: number;
  test_size: number;
  test_accuracy: number;
  test_f1: number;
  checkpoint: string | null;
}

export interface FinetuneResult {
  summary: FinetuneSummary;
  history: EpochRecord[];
  /** The test evaluation; absent when the run stopped early or had no test split. */
  test?: Evaluation;
  model: ClassifierModel;
  adapter?: AdapterModel;
  tokenizer: BertTokenizer;
}

/**
 * What `fit` calls to write the best model: the adapter alone when there is one, else the whole
 * model in Hugging Face's layout with its tokenizer, so that `fromPretrained(dir)` loads it.
 */
export function modelSaver(model: ClassifierModel, tokenizer: BertTokenizer, adapter?: AdapterModel): (dir: string) => Promise<void> {
  return async (dir) => {
    if (adapter) return adapter.save(dir);
    await saveCheckpoint(model, dir);
    tokenizer.save(dir);
  };
}

async function loadDataset(data: string): Promise<TextDataset> {
  return data === 'imdb' ? loadImdb() : loadCsv(data);
}

/** Trains `options.method` end to end and evaluates the best model on the held-out test split. */
export async function finetune(options: FinetuneOptions): Promise<FinetuneResult> {
  const method = options.method;
  const spec = METHOD_SPECS[method];
  const seed = options.seed ?? FINETUNE_DEFAULTS.seed;
  const batchSize = options.batchSize ?? FINETUNE_DEFAULTS.batchSize;
  const maxLength = options.maxLength ?? FINETUNE_DEFAULTS.maxLength;
  const epochs = options.epochs ?? FINETUNE_DEFAULTS.epochs;
  const lr = options.lr ?? spec.lr;
  const modelId = resolveModelPath(options.model ?? EMBEDDED_MODEL);

  const dataset = await loadDataset(options.data ?? 'imdb');
  const splits = splitDataset(dataset, {
    trainSize: options.trainSize ?? FINETUNE_DEFAULTS.trainSize,
    valSize: options.valSize ?? FINETUNE_DEFAULTS.valSize,
    testSize: options.testSize ?? FINETUNE_DEFAULTS.testSize,
    seed,
  });
  if (options.pooling !== undefined && method !== 'frozen') {
    throw new Error(`pooling is a setting of feature extraction (method frozen), whose head reads one vector per review; method ${method} trains transformers' classifier on [CLS]; leave pooling out`);
  }
  const { model, tokenizer } = await withTokenizer(await fromPretrained(modelId, {
    task: spec.task,
    labels: [...dataset.labelNames],
    pooling: options.pooling,
    seed,
    backend: options.backend,
    quiet: true,
  }));
  const { truncation, headTokens } = options;
  const loaderOptions = { tokenizer, batchSize, maxLength, truncation, headTokens, padding: 'longest', seed } as const;
  const { test: testSplit, ...trainAndValidation } = splits;
  const { train, validation } = splitLoaders(trainAndValidation, loaderOptions);
  // A test split of 0 is never tokenized, let alone scored.
  const test = testSplit.text.length > 0 ? splitLoaders({ test: testSplit }, loaderOptions).test : undefined;

  const adapter = applyMethod(model, method, { lora: options.lora, adapter: options.adapter, seed });
  const counts = countParameters(model, adapter);
  // The default cut and pooling leave the fingerprint as it was before head+tail and mean pooling existed, so runs saved then still resume.
  const fitOptions = {
    epochs, lr, seed, microBatchSize: options.microBatchSize, outputDir: options.outputDir, resume: options.resume, overwrite: options.overwrite, saveBest: modelSaver(model, tokenizer, adapter),
    progress: options.progress, maxSteps: options.maxSteps, maxSeconds: options.maxSeconds, signal: options.signal,
    fingerprint: { method, model: modelId, batchSize, maxLength, trainSize: splits.train.text.length, ...(truncation === 'head+tail' && { truncation, headTokens }), ...(method === 'frozen' && classifierPooling(model.config) === 'mean' && { pooling: 'mean' }) },
  };

  // The evaluations are of the best model, so none when the run stopped early.
  const evaluations = async <B extends LabelledBatch>(classifier: Classifier<B> | Scorer<B>, result: FitResult, sources: [BatchSource<B>, BatchSource<B> | undefined]) =>
    result.interrupted ? undefined : ([await evaluate(classifier, sources[0]), sources[1] && (await evaluate(classifier, sources[1]))] as const);
  const onnx = resolveEngine(options.engine ?? 'auto', tf.getBackend()) === 'onnx';
  let run: FitResult;
  let trainSeconds: number;
  let samplesPerSecond: number;
  let evaluated: readonly [Evaluation, Evaluation | undefined] | undefined;
  if (method === 'frozen' && (options.cacheFeatures ?? true)) {
    const start = performance.now();
    const encoder = onnx ? await OnnxModel.create(model, { task: 'feature-extraction' }) : model;
    const pooling = classifierPooling(model.config);
    const [trainF, valF] = [await FeatureCache.build(encoder, train, batchSize, pooling), await FeatureCache.build(encoder, validation, batchSize, pooling)];
    const testF = test && (await FeatureCache.build(encoder, test, batchSize, pooling));
    if (encoder instanceof OnnxModel) await encoder.release();
    const featureSeconds = (performance.now() - start) / 1000;
    try {
      const head = featureClassifier(model);
      run = await fit(head, trainF, valF, fitOptions);
      // The encoder pass over the training reviews is part of the cost of training.
      trainSeconds = run.trainSeconds + featureSeconds * (train.size / (train.size + validation.size + (test?.size ?? 0)));
      samplesPerSecond = (train.size * run.history.length) / trainSeconds;
      evaluated = await evaluations(head, run, [valF, testF]);
    } finally {
      trainF.dispose(); valF.dispose(); testF?.dispose();
    }
  } else {
    const classifier = tokenClassifier(model, adapter);
    run = await fit(classifier, train, validation, fitOptions);
    trainSeconds = run.trainSeconds;
    samplesPerSecond = run.trainSamplesPerSecond;
    if (onnx && !run.interrupted) {
      const exported = await OnnxModel.create(model);
      evaluated = await evaluations(onnxTokenScorer(exported), run, [validation, test]);
      await exported.release();
    } else {
      evaluated = await evaluations(classifier, run, [validation, test]);
    }
  }
  const [valEval, testEval] = evaluated ?? [];

  const summary: FinetuneSummary = {
    method,
    model: modelId,
    trainable_params: counts.trainable,
    total_params: counts.total,
    epochs: run.history.length,
    train_size: train.size,
    train_seconds: round(trainSeconds, 2),
    train_samples_per_s: round(samplesPerSecond, 2),
    steps: run.steps,
    completed: !run.interrupted,
    val_loss: round(valEval?.loss ?? NaN, 5),
    val_accuracy: round(valEval?.accuracy ?? NaN, 4),
    test_size: test?.size ?? 0,
    test_accuracy: round(testEval?.accuracy ?? NaN, 4),
    test_f1: round(testEval?.f1 ?? NaN, 4),
    checkpoint: options.outputDir ? join(options.outputDir, 'best') : null,
  };
  return { summary, history: run.history, test: testEval, model, adapter, tokenizer };
}
