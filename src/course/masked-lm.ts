/** The masked-language model the notebooks use. */
import type { BackendName } from '../backend/index.js';
import type { BertForMaskedLM } from '../bert/heads.js';
import { fromPretrained } from '../bert/pretrained.js';
import { resolveModelPath } from '../package/root.js';
import { BertTokenizer } from '../tokenizer/index.js';
import { loadSettings } from './settings.js';

export interface MaskedLm {
  model: BertForMaskedLM;
  tokenizer: BertTokenizer;
  /** Where the model was read from. */
  source: string;
}

/** Loads `idOrPath` (default: the settings' model, the embedded one unless another is named) as a BertForMaskedLM. */
export async function loadMaskedLm(idOrPath: string = loadSettings().model, options: { backend?: BackendName } = {}): Promise<MaskedLm> {
  const source = resolveModelPath(idOrPath);
  const { model, tokenizer } = await fromPretrained(source, { task: 'mlm', backend: options.backend ?? (loadSettings().backend as BackendName | undefined), quiet: true });
  return { model, tokenizer: tokenizer ?? (await BertTokenizer.fromPretrained('bert-base-uncased')), source };
}
