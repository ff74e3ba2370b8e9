/**
 * Forward throughput of BertForSequenceClassification (eval mode, random weights, random token
 * ids, full attention mask), the same work as ../shared/bench/torch_bert_reference.py's forward.
 * Run after `npm run build`:
 *
 *   node dist/bert/bench.js [--backend wasm] [--size tiny-bert|bert-mini|bert-small|bert-base] [--batch 8] [--seq 128] [--reps 5]
 *
 * Prints one JSON line with samples/s.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_NAMES, initBackend, type BackendName } from '../backend/index.js';
import { bertConfig } from './config.js';
import { BertForSequenceClassification } from './heads.js';

/** hidden, layers, heads, intermediate; tiny-bert is the test fixture's size. */
const SIZES: Record<string, [number, number, number, number]> = {
  'tiny-bert': [64, 2, 4, 96],
  'bert-mini': [256, 4, 4, 1024],
  'bert-small': [512, 4, 8, 2048],
  'bert-base': [768, 12, 12, 3072],
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'wasm' },
      size: { type: 'string', default: 'bert-mini' },
      batch: { type: 'string', default: '8' },
      seq: { type: 'string', default: '128' },
      reps: { type: 'string', default: '5' },
    },
  });
  const dims = SIZES[values.size];
  if (!dims) throw new Error(`--size ${values.size} is unknown; use one of ${Object.keys(SIZES).join(', ')}`);
  if (!(BACKEND_NAMES as readonly string[]).includes(values.backend)) throw new Error(`--backend must be one of ${BACKEND_NAMES.join(', ')}`);
  const [batch, seq, reps] = [values.batch, values.seq, values.reps].map(Number);
  const backend = await initBackend({ backend: values.backend as BackendName, quiet: true });
  const [hidden_size, num_hidden_layers, num_attention_heads, intermediate_size] = dims;
  const config = bertConfig({ hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, max_position_embeddings: Math.max(512, seq) });
  const model = new BertForSequenceClassification(config, { seed: 0 });
  const inputs = {
    inputIds: Array.from({ length: batch }, () => Array.from({ length: seq }, () => Math.floor(Math.random() * config.vocab_size))),
  };
  const once = async () => {
    const logits = tf.tidy(() => model.forward(inputs).logits);
    await logits.data();
    logits.dispose();
  };
  await once(); // warm-up: kernel compilation, first allocations
  const start = performance.now();
  for (let i = 0; i < reps; i++) await once();
  const seconds = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ size: values.size, backend: backend.name, device: backend.device, batch, seq, reps, forward_samples_per_s: (batch * reps) / seconds }));
  model.dispose();
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
