/**
 * The masked-language model the notebooks use: the settings' model (the embedded one unless
 * another is named) or, until the embedded model exists, the one notebook 01 pretrains live.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BackendName } from '../backend/index.js';
import type { BertForMaskedLM } from '../bert/heads.js';
import { fromPretrained } from '../bert/pretrained.js';
import { EMBEDDED_MODEL, PROJECT_ROOT, resolveModelPath } from '../models.js';
import { loadSettings } from '../settings.js';
import { BertTokenizer } from '../tokenizer/index.js';

/** Where notebook 01's live pretraining run goes (`DIR/model` is the model). */
export const LIVE_RUN_DIR = join(PROJECT_ROOT, 'build', 'pretrain-live');

export interface MaskedLm {
  model: BertForMaskedLM;
  tokenizer: BertTokenizer;
  /** Where the model was read from. */
  source: string;
  /** Whether it is the embedded model. */
  embedded: boolean;
  /** Why another model than the one asked for was loaded, if one was. */
  note?: string;
}

/**
 * Loads `idOrPath` (default: the settings' model) as a BertForMaskedLM. When that is the embedded
 * model and it has not been made yet, loads notebook 01's live run instead and says so in `note`.
 */
export async function loadMaskedLm(idOrPath: string = loadSettings().model, options: { backend?: BackendName } = {}): Promise<MaskedLm> {
  let source = resolveModelPath(idOrPath);
  let note: string | undefined;
  // resolveModelPath leaves a missing path as it was, relative to the project root or not.
  const embedded = [resolve(source), resolve(PROJECT_ROOT, idOrPath)].includes(EMBEDDED_MODEL);
  if (embedded && !existsSync(join(EMBEDDED_MODEL, 'config.json'))) {
    const live = join(LIVE_RUN_DIR, 'model');
    if (!existsSync(join(live, 'config.json'))) {
      throw new Error(`the embedded model (${EMBEDDED_MODEL}) is not there yet and notebook 01's live pretraining run (${live}) has not been made; run notebooks/01-self-supervised-learning.ipynb first, or name a model with FINETUNE_LAB_MODEL`);
    }
    note = `The embedded model ${EMBEDDED_MODEL} does not exist yet, so this is the small model pretrained live in notebook 01 (${live}); once the embedded model is there, it is used instead.`;
    source = live;
  }
  const { model, tokenizer } = await fromPretrained(source, { task: 'mlm', backend: options.backend ?? (loadSettings().backend as BackendName | undefined), quiet: true });
  return { model, tokenizer: tokenizer ?? (await BertTokenizer.fromPretrained('bert-base-uncased')), source, embedded: embedded && !note, note };
}
