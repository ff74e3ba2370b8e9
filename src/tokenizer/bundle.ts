/**
 * Build step (`npm run build`): writes bert-base-uncased's `vocab.txt`, `tokenizer.json` and
 * `tokenizer_config.json` to dist/assets/bert-base-uncased/, to ship next to a model, and checks
 * the written `vocab.txt` against the official md5.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BertTokenizer } from './index.js';
import { BERT_BASE_UNCASED_VOCAB_MD5, md5 } from './vocab.js';

const BERT_BASE_UNCASED_ASSETS = join(__dirname, '..', 'assets', 'bert-base-uncased');

async function main(): Promise<void> {
  const tokenizer = await BertTokenizer.fromPretrained('bert-base-uncased');
  tokenizer.save(BERT_BASE_UNCASED_ASSETS);
  const digest = md5(readFileSync(join(BERT_BASE_UNCASED_ASSETS, 'vocab.txt'), 'utf8'));
  if (digest !== BERT_BASE_UNCASED_VOCAB_MD5) {
    throw new Error(`${BERT_BASE_UNCASED_ASSETS}/vocab.txt has md5 ${digest}, expected ${BERT_BASE_UNCASED_VOCAB_MD5}.`);
  }
  console.log(`bert-base-uncased tokenizer written to ${BERT_BASE_UNCASED_ASSETS} (vocab.txt md5 ${digest})`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
