/**
 * Cloze prompting as the course reports it (`finetune-lab prompt`, the pretraining curve): every
 * sentiment template on the settings' validation and test reviews, raw and calibrated, and the
 * one chosen on validation with its test accuracy.
 */
import { loadImdb } from '../data/imdb.js';
import { splitDataset } from '../data/split.js';
import { OnnxModel, type EngineChoice } from '../onnx/index.js';
import { compareTemplates, SENTIMENT_TEMPLATES, SENTIMENT_VERBALIZER, type TemplateRun } from '../prompting/index.js';
import { inferenceModel, loadMaskedLm } from './models.js';
import type { Settings } from './settings.js';

/** What `finetune-lab prompt` prints. */
export interface PromptingSummary {
  model: string;
  val_size: number;
  test_size: number;
  max_length: number;
  truncation: Settings['truncation'];
  /** The accuracy of always answering the larger class. */
  chance: number;
  templates: { name: string; test_accuracy: number; test_calibrated_accuracy: number }[];
  chosen: { name: string; calibrated: boolean; val_accuracy: number };
  test_accuracy: number;
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

/** Prompts `idOrPath` (default: the settings' model) on the settings' validation and test reviews. */
export async function clozeSentiment(settings: Settings, options: { model?: string; engine?: EngineChoice; onRun?: (run: TemplateRun) => void } = {}): Promise<PromptingSummary> {
  const loaded = await loadMaskedLm(settings, options.model);
  const model = await inferenceModel(settings, loaded.model, { engine: options.engine, task: 'feature-extraction' });
  try {
    const { validation, test } = splitDataset(loadImdb(), { trainSize: 0, valSize: settings.valSize, testSize: settings.testSize, seed: settings.seed });
    const { maxLength, truncation, headTokens, batchSize } = settings;
    const { runs, chosen } = await compareTemplates(model, loaded.tokenizer, { validation, test }, SENTIMENT_TEMPLATES, SENTIMENT_VERBALIZER, { maxLength, truncation, headTokens, batchSize, onRun: options.onRun });
    const positive = test.label.filter((l) => l === 1).length / test.label.length;
    return {
      model: loaded.source,
      val_size: validation.text.length,
      test_size: test.text.length,
      max_length: maxLength,
      truncation,
      chance: round(Math.max(positive, 1 - positive)),
      templates: runs.map((r) => ({ name: r.test.template.name, test_accuracy: round(r.test.accuracy), test_calibrated_accuracy: round(r.test.calibratedAccuracy) })),
      chosen: { name: chosen.template.name, calibrated: chosen.calibrated, val_accuracy: round(chosen.validationAccuracy) },
      test_accuracy: round(chosen.testAccuracy),
    };
  } finally {
    if (model instanceof OnnxModel) await model.release();
    loaded.model.dispose();
  }
}
