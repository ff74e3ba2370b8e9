/**
 * The plain baseline that gives BERT's numbers a meaning: a bag-of-words logistic regression
 * (tf-idf of words and word pairs, L2-regularised), trained on the same split in seconds.
 * A method that does not beat it has not learnt anything a word count could not tell.
 */
import type { TextDataset } from '../data/dataset.js';
import type { Splits } from '../data/split.js';
import { classificationReport, type ClassificationReport } from '../train/metrics.js';
import { LogisticRegression, type LogisticOptions } from './logistic.js';
import { BagOfWords, type VectorizerOptions } from './vectorizer.js';


export type BaselineOptions = VectorizerOptions & LogisticOptions;

export class BagOfWordsClassifier {
  private constructor(
    readonly vectorizer: BagOfWords,
    readonly model: LogisticRegression,
    readonly labelNames: readonly string[],
  ) {}

  /** Learns the vocabulary from `train`'s texts, then the weights. */
  static fit(train: TextDataset, options: BaselineOptions = {}): BagOfWordsClassifier {
    const { l2, iterations, ...vectorizerOptions } = options;
    const vectorizer = BagOfWords.fit(train.text, vectorizerOptions);
    const rows = train.text.map((t) => vectorizer.transform(t));
    const model = LogisticRegression.fit(rows, train.label, vectorizer.size, train.labelNames.length, { l2, iterations });
    return new BagOfWordsClassifier(vectorizer, model, train.labelNames);
  }

  /** Class ids, one per text. */
  predict(texts: readonly string[]): number[] {
    return texts.map((t) => this.model.predict(this.vectorizer.transform(t)));
  }

  /** Class probabilities, one row per text. */
  probabilities(texts: readonly string[]): number[][] {
    return texts.map((t) => this.model.probabilities(this.vectorizer.transform(t)));
  }

  evaluate(dataset: TextDataset): ClassificationReport {
    return classificationReport(dataset.label, this.predict(dataset.text), this.labelNames.length);
  }

  /**
   * The terms that push hardest towards `label` (largest weight for it minus the mean of the
   * other classes' weights): what the model has learnt, in words.
   */
  topTerms(label: number, n = 10): { term: string; weight: number }[] {
    const K = this.model.numClasses;
    const w = this.model.weights;
    return this.vectorizer.vocabulary
      .map((term, j) => {
        let others = 0;
        for (let c = 0; c < K; c++) if (c !== label) others += w[j * K + c];
        return { term, weight: w[j * K + label] - others / (K - 1) };
      })
      .sort((a, b) => b.weight - a.weight || (a.term < b.term ? -1 : 1))
      .slice(0, n);
  }
}

/** What `trainBaseline` measured, in the shape of the fine-tuning summaries. */
export interface BaselineSummary {
  method: 'bag-of-words';
  vocabulary_size: number;
  trainable_params: number;
  total_params: number;
  train_size: number;
  train_seconds: number;
  train_samples_per_s: number;
  /** `LogisticRegression.trainingBytes`: the counterpart of the tensor bytes measured for the BERT methods. */
  peak_memory_bytes: number;
  val_accuracy: number;
  test_size: number;
  test_accuracy: number;
  test_f1: number;
}

export interface BaselineResult {
  summary: BaselineSummary;
  classifier: BagOfWordsClassifier;
  test: ClassificationReport;
}

/** Trains on `splits.train` (vocabulary included) and scores the validation and test sets. */
export function trainBaseline(splits: Splits, options: BaselineOptions = {}): BaselineResult {
  const start = performance.now();
  const classifier = BagOfWordsClassifier.fit(splits.train, options);
  const trainSeconds = (performance.now() - start) / 1000;
  const test = classifier.evaluate(splits.test);
  const params = classifier.model.parameterCount;
  return {
    summary: {
      method: 'bag-of-words',
      vocabulary_size: classifier.vectorizer.size,
      trainable_params: params,
      total_params: params,
      train_size: splits.train.text.length,
      train_seconds: Math.round(trainSeconds * 100) / 100,
      train_samples_per_s: Math.round((splits.train.text.length / trainSeconds) * 10) / 10,
      peak_memory_bytes: classifier.model.trainingBytes,
      val_accuracy: classifier.evaluate(splits.validation).accuracy,
      test_size: splits.test.text.length,
      test_accuracy: test.accuracy,
      test_f1: test.f1,
    },
    classifier,
    test,
  };
}
