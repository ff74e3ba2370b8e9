/** `finetune-lab bench`: BERT forward and training throughput, the torch reference's JSON line. */
import { BACKEND_NAMES, initBackend } from '../backend/index.js';
import { BERT_SIZES, benchmarkBert, type BertSize } from '../bench/bert.js';
import { benchmarkOnnxForward } from '../bench/onnx.js';
import { backendOptions, loadSettings } from '../course/settings.js';
import { choice, integer, parseCommand } from './args.js';

const SIZE_NAMES = Object.keys(BERT_SIZES) as BertSize[];

export const usage = `Usage: finetune-lab bench [--size NAME] [--batch N] [--seq N] [--backend NAME] [--threads N] [--micro-batch N] [--steps N] [--profile]
       finetune-lab bench --engine onnx [--size NAME] [--batch N] [--seq N] [--threads N] [--steps N]

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
  --engine onnx   time the forward pass alone on ONNX Runtime (training is TensorFlow.js'): the model
                  exported into memory, --threads intra-op threads (default 2), --steps timed runs
                  (default 10); prints forward_samples_per_s and optimized_ops, the operators of
                  ORT's optimised graph (which fusions applied)
  -h, --help      show this help`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand({
    args,
    options: {
      size: { type: 'string', default: 'bert-mini' },
      batch: { type: 'string', default: '8' },
      seq: { type: 'string', default: '128' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      steps: { type: 'string' },
      'micro-batch': { type: 'string' },
      profile: { type: 'boolean' },
      engine: { type: 'string', default: 'tfjs' },
    },
  });
  if (choice('engine', values.engine, ['tfjs', 'onnx']) === 'onnx') {
    console.log(JSON.stringify(await benchmarkOnnxForward({
      size: choice('size', values.size, SIZE_NAMES), batch: integer('batch', values.batch), seq: integer('seq', values.seq),
      threads: integer('threads', values.threads), steps: integer('steps', values.steps),
    })));
    return 0;
  }
  const options = backendOptions(loadSettings(), { backend: choice('backend', values.backend, BACKEND_NAMES), threads: integer('threads', values.threads), quiet: true });
  await initBackend(options);
  const result = await benchmarkBert({
    size: choice('size', values.size, SIZE_NAMES),
    batch: integer('batch', values.batch),
    seq: integer('seq', values.seq),
    steps: integer('steps', values.steps),
    threads: options.threads,
    microBatch: integer('micro-batch', values['micro-batch']),
    backend: options.backend,
    profile: values.profile,
  });
  console.log(JSON.stringify(result));
  return 0;
}
