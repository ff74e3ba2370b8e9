/** The masked-language model the notebooks use. */
import { initBackend, type BackendName } from '../backend/index.js';
import type { BertForMaskedLM } from '../bert/heads.js';
import { fromPretrained } from '../bert/pretrained.js';
import { resolveModelPath } from '../package/root.js';
import { BertTokenizer } from '../tokenizer/index.js';
import { backendOptions, loadSettings } from './settings.js';

export interface MaskedLm {
  model: BertForMaskedLM;
  tokenizer: BertTokenizer;
  /** Where the model was read from. */
  source: string;
}

/**
 * Loads `idOrPath` (default: the settings' model, the embedded one unless another is named) as a
 * BertForMaskedLM, on the settings' backend unless `options.backend` names another.
 */
export async function loadMaskedLm(idOrPath?: string, options: { backend?: BackendName } = {}): Promise<MaskedLm> {
  const settings = loadSettings();
  await initBackend(backendOptions(settings, { backend: options.backend, quiet: true }));
  const source = resolveModelPath(idOrPath ?? settings.model);
  const { model, tokenizer } = await fromPretrained(source, { task: 'mlm', quiet: true });
  return { model, tokenizer: tokenizer ?? (await BertTokenizer.fromPretrained('bert-base-uncased')), source };
}
