/**
 * The embedded model (models/finetune-lab-bert), which every notebook and command uses when no
 * other model is named: it loads offline as a masked-language model with no missing weights, and
 * its model card's held-out MLM figures (recorded in pretraining.json by `finetune-lab pretrain`)
 * are reproduced from the committed files.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../src/backend/index.js';
import { fromPretrained } from '../src/bert/pretrained.js';
import { EMBEDDED_MODEL } from '../src/models.js';
import { heldOutMlm } from '../src/pretrain/index.js';
import { fillMask } from '../src/prompting/index.js';

const record = JSON.parse(readFileSync(join(EMBEDDED_MODEL, 'pretraining.json'), 'utf8'));

before(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
});

test('the embedded model is small enough to ship', () => {
  const bytes = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']
    .reduce((sum, file) => sum + statSync(join(EMBEDDED_MODEL, file)).size, 0);
  assert.ok(bytes < 25e6, `${bytes} bytes`);
});

test('it loads as a masked-language model with every weight, and reproduces its recorded held-out MLM loss and accuracy', async () => {
  const { model, tokenizer, info } = await fromPretrained(EMBEDDED_MODEL, { task: 'mlm', quiet: true });
  assert.deepEqual(info.missingKeys, []);
  assert.ok(tokenizer, 'the embedded model ships its tokenizer');
  const { options, summary } = record;
  const measured = await heldOutMlm(model, tokenizer!, { seqLength: options.seqLength, heldOutTexts: options.heldOutTexts, sequences: options.evalSequences, masking: options.masking });
  assert.equal(measured.tokens, summary.eval_masked_tokens);
  assert.ok(Math.abs(measured.loss - summary.mlm_loss) < 1e-3, `held-out MLM loss ${measured.loss}, card ${summary.mlm_loss}`);
  assert.ok(Math.abs(measured.accuracy - summary.mlm_accuracy) < 1e-3, `held-out MLM accuracy ${measured.accuracy}, card ${summary.mlm_accuracy}`);
  // Well above what guessing the most common token would give (under 5% of masked tokens).
  assert.ok(measured.accuracy > 0.1, `accuracy ${measured.accuracy}`);

  const [fills] = await fillMask(model, tokenizer!, 'this movie was [MASK] and i loved every minute of it.', { topK: 5 });
  assert.equal(fills.length, 5);
  for (const fill of fills) assert.doesNotMatch(fill.token, /^\[.*\]$/, 'a special token as a fill');
  model.dispose();
});
