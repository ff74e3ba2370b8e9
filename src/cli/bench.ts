/** `finetune-lab bench`: BERT forward and training throughput, the torch reference's JSON line. */
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, type BackendName } from '../backend/index.js';
import { BERT_SIZES, benchmarkBert, type BertSize } from '../bench/bert.js';

const SIZE_NAMES = Object.keys(BERT_SIZES);

const HELP = `Usage: finetune-lab bench [--size NAME] [--batch N] [--seq N] [--backend NAME] [--threads N] [--micro-batch N] [--steps N] [--profile]

Times a BERT sequence-classification forward pass and training step (AdamW) on random token ids,
the same work as PyTorch's src/bench/torch_bert_reference.py, and prints one JSON line:
impl, backend, size, batch, seq, forward_samples_per_s, train_samples_per_s, peak_rss_mb, peak_tensor_mb
and, on wasm, wasm_heap_mb (the wasm memory's high-water mark; it cannot pass 4 GB).

  --size NAME     ${SIZE_NAMES.join('|')} (default bert-mini)
  --batch N       sequences per batch (default 8)
  --seq N         tokens per sequence (default 128)
  --backend NAME  ${BACKEND_NAMES.join('|')} (default: FINETUNE_LAB_BACKEND, else the best available)
  --threads N     wasm threads (default: FINETUNE_LAB_THREADS, else one per core)
  --micro-batch N training: run the batch in parts of N sequences and add up their gradients
                  (gradient accumulation, e.g. bert-base at batch 32 within the wasm heap)
  --steps N       timed repetitions of each measurement after one warm-up (default 3, as the reference)
  --profile       add "profile": per-kernel calls and milliseconds of one training step (tf.profile)
  --help          show this help`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      size: { type: 'string', default: 'bert-mini' },
      batch: { type: 'string', default: '8' },
      seq: { type: 'string', default: '128' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      steps: { type: 'string', default: '3' },
      'micro-batch': { type: 'string' },
      profile: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!SIZE_NAMES.includes(values.size)) throw new Error(`--size ${values.size} is unknown; use one of ${SIZE_NAMES.join(', ')}`);
  if (values.backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(values.backend)) {
    throw new Error(`--backend ${values.backend} is not a backend; use one of ${BACKEND_NAMES.join(', ')}`);
  }
  const [batch, seq, steps, threads, microBatch] = (['batch', 'seq', 'steps', 'threads', 'micro-batch'] as const).map((flag) => {
    if (values[flag] === undefined) return undefined;
    const n = Number(values[flag]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, not ${values[flag]}`);
    return n;
  });
  const result = await benchmarkBert({ size: values.size as BertSize, batch: batch!, seq: seq!, steps, threads, microBatch, backend: values.backend as BackendName | undefined, profile: values.profile });
  console.log(JSON.stringify(result));
  return 0;
}
