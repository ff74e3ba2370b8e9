/**
 * The BERT speed benchmark: the same work as src/bench/torch_bert_reference.py, so that
 * the two figures can be divided. A BertForSequenceClassification (random weights, no dropout,
 * as the reference has none) on random token ids `[1000, vocab)` with a full attention mask;
 * the forward pass in eval mode, and the training step: forward, cross-entropy, gradients of
 * every parameter, AdamW (lr 2e-5, weight decay 0.01 on all parameters, as the reference).
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../backend/index.js';
import { wasmHeapBytes } from '../backend/tfjs-internals/index.js';
import { bertConfig, type BertConfig } from '../bert/config.js';
import { BertForSequenceClassification } from '../bert/heads.js';
import { mulberry32 } from '../data/random.js';
import { accumulatedValueAndGrads, AdamW } from '../train/optimizer.js';
import { disposeMicroBatches, microBatches } from '../train/trainer.js';
import { round } from '../numbers.js';

/** hidden, layers, heads, intermediate: Google's BERT miniatures and bert-base, as the torch reference defines them. */
export const BERT_SIZES = {
  'bert-tiny': [128, 2, 2, 512],
  'bert-mini': [256, 4, 4, 1024],
  'bert-small': [512, 4, 8, 2048],
  'bert-base': [768, 12, 12, 3072],
} as const satisfies Record<string, readonly [number, number, number, number]>;

export type BertSize = keyof typeof BERT_SIZES;

export interface BenchOptions {
  size: BertSize;
  batch: number;
  seq: number;
  backend?: BackendName;
  /** Threads of the wasm backend (default: one per core). */
  threads?: number;
  /** Training in parts of this many sequences, gradients added up (gradient accumulation). */
  microBatch?: number;
  /** Timed repetitions of each measurement after one warm-up (the reference's `--reps`). */
  steps?: number;
  /** Also return a tf.profile of one training step: kernel names and summed times. */
  profile?: boolean;
}

/** One benchmark result; the keys shared with the torch reference's JSON line are spelled as there. */
export interface BenchResult {
  impl: 'finetune-lab';
  backend: string;
  device: string;
  /** Threads the wasm backend's XNNPACK pool really has (1 on other backends). */
  threads: number;
  size: BertSize;
  batch: number;
  seq: number;
  steps: number;
  /** Sequences per part of the training batch (the batch itself without gradient accumulation). */
  micro_batch: number;
  forward_samples_per_s: number;
  train_samples_per_s: number;
  /** The process's peak resident memory (includes the wasm heap). */
  peak_rss_mb: number;
  /**
   * wasm only: the size the wasm memory grew to, its high-water mark (it never shrinks), which
   * holds every tensor and cannot pass 4 GB. Optimizer moments live outside it (`hostMoments`).
   */
  wasm_heap_mb?: number;
  /**
   * The largest tf.memory().numBytes seen during one training step (profiled after the timed
   * runs). tfjs adds a buffer's bytes once per tensor viewing it (reshapes, shared clones), so
   * this overstates; `peak_rss_mb` is the memory really used.
   */
  peak_tensor_mb: number;
  /** Per kernel: calls and summed milliseconds in one training step, slowest first (with `profile`). */
  profile?: KernelTime[];
}

export interface KernelTime {
  kernel: string;
  calls: number;
  ms: number;
}

/** The config of a benchmark size: no dropout, as the reference model has none. */
export function benchConfig(size: BertSize, seq: number): BertConfig {
  const [hidden_size, num_hidden_layers, num_attention_heads, intermediate_size] = BERT_SIZES[size];
  return bertConfig({
    hidden_size, num_hidden_layers, num_attention_heads, intermediate_size,
    max_position_embeddings: Math.max(512, seq), hidden_dropout_prob: 0, attention_probs_dropout_prob: 0,
  });
}

/** Runs the forward and training measurements and returns the figures. */
export async function benchmarkBert(options: BenchOptions): Promise<BenchResult> {
  const { size, batch, seq } = options;
  const steps = options.steps ?? 3;
  const backend = await initBackend({ backend: options.backend, threads: options.threads, quiet: true });
  const config = benchConfig(size, seq);
  const model = new BertForSequenceClassification(config, { seed: 0 });
  const random = mulberry32(0);
  const ids = tf.tensor2d(Array.from({ length: batch * seq }, () => 1000 + Math.floor(random() * (config.vocab_size - 1000))), [batch, seq], 'int32');
  const mask = tf.ones([batch, seq], 'int32') as tf.Tensor2D;
  const labels = tf.tensor1d(Array.from({ length: batch }, () => Math.floor(random() * 2)), 'int32');
  const inputs = { inputIds: ids, attentionMask: mask };
  const params = model.params.named();
  const optimizer = new AdamW(params, { lr: 2e-5, weightDecay: 0.01 });

  const forward = async () => {
    const logits = model.forward(inputs).logits;
    await logits.data();
    logits.dispose();
  };
  const parts = microBatches({ inputIds: ids, attentionMask: mask, labels }, options.microBatch);
  const train = async () => {
    const { value, grads } = accumulatedValueAndGrads(
      (i) => model.loss(model.forward(parts[i], { training: true }).logits, parts[i].labels),
      parts.map((p) => p.labels.shape[0] / batch),
      params,
    );
    optimizer.applyGradients(grads);
    tf.dispose([...grads.values()]);
    await value.data();
    value.dispose();
  };
  const samplesPerSecond = async (run: () => Promise<void>) => {
    await run(); // warm-up: kernel compilation, first allocations, optimizer state
    const start = performance.now();
    for (let i = 0; i < steps; i++) await run();
    return round((batch * steps) / ((performance.now() - start) / 1000), 3);
  };

  try {
    const forwardRate = await samplesPerSecond(forward);
    const trainRate = await samplesPerSecond(train);
    const { peakBytes, kernels } = await profileStep(train);
    const result: BenchResult = {
      impl: 'finetune-lab', backend: backend.name, device: backend.device, threads: backendThreads(backend.name), size, batch, seq, steps, micro_batch: parts[0].labels.shape[0],
      forward_samples_per_s: forwardRate, train_samples_per_s: trainRate,
      peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 3),
      peak_tensor_mb: round(peakBytes / 2 ** 20, 3),
    };
    if (backend.name === 'wasm') result.wasm_heap_mb = round(wasmHeapBytes() / 2 ** 20, 3);
    if (options.profile) result.profile = kernels;
    return result;
  } finally {
    optimizer.dispose();
    model.dispose();
    disposeMicroBatches(parts);
    tf.dispose([ids, mask, labels]);
  }
}

/**
 * One profiled run: peak tensor bytes and per-kernel times (tf.profile), without the per-kernel
 * NaN check's reads; `byShape` keeps kernels of different input shapes apart.
 */
export async function profileStep(run: () => Promise<void>, byShape = false): Promise<{ peakBytes: number; kernels: KernelTime[] }> {
  const check = tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS');
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);
  try {
    const info = await tf.profile(run);
    const byName = new Map<string, KernelTime>();
    for (const k of info.kernels) {
      const name = byShape ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
      const entry = byName.get(name) ?? { kernel: name, calls: 0, ms: 0 };
      entry.calls++;
      const ms = await k.kernelTimeMs;
      if (typeof ms === 'number') entry.ms += ms;
      byName.set(name, entry);
    }
    const kernels = [...byName.values()].map((k) => ({ ...k, ms: round(k.ms, 3) })).sort((a, b) => b.ms - a.ms);
    return { peakBytes: info.peakBytes, kernels };
  } finally {
    tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', check);
  }
}

function backendThreads(name: string): number {
  if (name !== 'wasm') return 1;
  const wasm: typeof import('@tensorflow/tfjs-backend-wasm') = require('@tensorflow/tfjs-backend-wasm');
  return wasm.getThreadsCount();
}

