/** A pretrained model with a tokenizer for certain: most checkpoints ship one, the course's own BERT miniatures may not. */
import type { BertTask } from '../bert/heads.js';
import type { Pretrained } from '../bert/pretrained.js';
import { BertTokenizer } from '../tokenizer/index.js';

/** `pretrained` with its own tokenizer, else bert-base-uncased's, which ships with the package. */
export async function withTokenizer<T extends BertTask>(pretrained: Pretrained<T>): Promise<Pretrained<T> & { tokenizer: BertTokenizer }> {
  return { ...pretrained, tokenizer: pretrained.tokenizer ?? (await BertTokenizer.fromPretrained('bert-base-uncased')) };
}
