/** `finetune-lab prompt`: zero-shot sentiment by cloze prompting a masked-language model, or filling in blanks. */
import { inferenceModel, loadMaskedLm } from '../course/models.js';
import { clozeSentiment } from '../course/prompting.js';
import { ENGINES, OnnxModel } from '../onnx/index.js';
import { fillMask, SENTIMENT_TEMPLATES } from '../prompting/index.js';
import { loadSettings } from '../course/settings.js';
import { ROW_TRUNCATIONS } from '../data/loader.js';
import { choice, integer, parseCommand } from './args.js';

export const usage = `Usage: finetune-lab prompt [options]
       finetune-lab prompt --fill "the movie was [MASK]." [--top-k N]

Scores every cloze template (${SENTIMENT_TEMPLATES.map((t) => t.name).join(', ')}) on the validation and the
held-out test reviews, raw and with contextual calibration, chooses one on validation accuracy, and
prints one JSON line: model, test_size, chance, templates (accuracy per template), chosen, test_accuracy.
With --fill, prints the most probable tokens for each [MASK] of the text instead (JSON).

  --model DIR|ID     masked-language model (default: the settings' model, the embedded one)
  --val-size N       validation reviews (default from the profile, FINETUNE_LAB_PROFILE)
  --test-size N      test reviews, from the held-out split
  --max-length N     prompt length in tokens (the review is cut, never the template)
  --truncation HOW   how a longer review is cut: head (keep its start) or head+tail (its start
                     and end; default: the profile's, FINETUNE_LAB_TRUNCATION)
  --head-tokens N    with head+tail, the review tokens kept from the start (default: a quarter)
  --fill TEXT        fill in the blanks of TEXT
  --top-k N          candidates per blank with --fill (default 5)
  --engine NAME      ${ENGINES.join('|')}: what runs the encoder (default: FINETUNE_LAB_ENGINE, else auto)
  -h, --help         show this help`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand({
    args,
    options: {
      model: { type: 'string' }, 'val-size': { type: 'string' }, 'test-size': { type: 'string' }, 'max-length': { type: 'string' },
      truncation: { type: 'string' }, 'head-tokens': { type: 'string' }, fill: { type: 'string' }, 'top-k': { type: 'string' }, engine: { type: 'string' },
    },
  });
  const settings = loadSettings();
  const maxLength = integer('max-length', values['max-length']) ?? settings.maxLength;
  const truncation = choice('truncation', values.truncation, ROW_TRUNCATIONS) ?? settings.truncation;
  const headTokens = integer('head-tokens', values['head-tokens'], 0) ?? settings.headTokens;
  const [valSize, testSize, topK] = [integer('val-size', values['val-size']), integer('test-size', values['test-size']), integer('top-k', values['top-k'])];
  const engine = choice('engine', values.engine, ENGINES);
  if (values.fill === undefined) {
    const given = { valSize: valSize ?? settings.valSize, testSize: testSize ?? settings.testSize, maxLength, truncation, headTokens };
    const summary = await clozeSentiment({ ...settings, ...given }, {
      model: values.model, engine,
      onRun: ({ test }) => console.error(`${test.template.name.padEnd(9)} test accuracy ${(100 * test.accuracy).toFixed(1)}%, calibrated ${(100 * test.calibratedAccuracy).toFixed(1)}%`),
    });
    console.log(JSON.stringify(summary));
    return 0;
  }
  const loaded = await loadMaskedLm(settings, values.model);
  const model = await inferenceModel(settings, loaded.model, { engine, task: 'feature-extraction' });
  try {
    const fillings = await fillMask(model, loaded.tokenizer, values.fill, { topK: topK ?? 5, maxLength });
    console.log(JSON.stringify({ model: loaded.source, text: values.fill, fillings }));
    return 0;
  } finally {
    if (model instanceof OnnxModel) await model.release();
    loaded.model.dispose();
  }
}
