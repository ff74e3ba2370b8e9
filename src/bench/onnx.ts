/**
 * The forward pass on ONNX Runtime: the same model and inputs as src/bench/bert.ts (a
 * BertForSequenceClassification of the benchmark size, random ids, full mask), exported into
 * memory and run by onnxruntime-node, so that its figure divides by torch_bert_reference.py's
 * `forward_samples_per_s`. Also counts the operators of ORT's optimised graph, to see which of its
 * fusions applied.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../backend/index.js';
import { BertForSequenceClassification } from '../bert/heads.js';
import { mulberry32 } from '../data/random.js';
import { createSession, decodeModel, onnxGraph, onnxRuntime, runBert, type OrtSessionOptions } from '../onnx/index.js';
import { round } from '../numbers.js';
import { benchConfig, type BertSize } from './bert.js';

export interface OnnxBenchOptions {
  size: BertSize;
  batch: number;
  seq: number;
  /** ONNX Runtime's intra-op threads (default 2, the reference's). */
  threads?: number;
  /** Timed runs after one warm-up (default 10). */
  steps?: number;
  graphOptimizationLevel?: OrtSessionOptions['graphOptimizationLevel'];
}

export interface OnnxBenchResult {
  impl: 'finetune-lab';
  engine: 'onnxruntime';
  onnxruntime: string;
  threads: number;
  size: BertSize;
  batch: number;
  seq: number;
  steps: number;
  forward_samples_per_s: number;
  /** Operators of the optimised graph by `domain:type`, the fused ones (com.microsoft) first. */
  optimized_ops: Record<string, number>;
}

export async function benchmarkOnnxForward(options: OnnxBenchOptions): Promise<OnnxBenchResult> {
  const { size, batch, seq } = options;
  const [threads, steps] = [options.threads ?? 2, options.steps ?? 10];
  // The weights are made by TensorFlow.js; its cpu backend is enough for that.
  await initBackend({ backend: 'cpu', quiet: true });
  const config = benchConfig(size, seq);
  const model = new BertForSequenceClassification(config, { seed: 0 });
  const { bytes } = await onnxGraph(model, 'sequence-classification');
  model.dispose();
  const random = mulberry32(0);
  const ids = Array.from({ length: batch }, () => Array.from({ length: seq }, () => 1000 + Math.floor(random() * (config.vocab_size - 1000))));
  const work = mkdtempSync(join(tmpdir(), 'finetune-lab-onnx-bench-'));
  try {
    const optimized = join(work, 'optimized.onnx');
    const session = await createSession(bytes, { threads, graphOptimizationLevel: options.graphOptimizationLevel, optimizedModelPath: optimized });
    const batchInputs = { input_ids: ids };
    await runBert(session, batchInputs); // warm-up: first allocations
    const start = performance.now();
    for (let i = 0; i < steps; i++) await runBert(session, batchInputs);
    const seconds = (performance.now() - start) / 1000;
    await session.release();
    const ops: Record<string, number> = {};
    for (const node of (decodeModel(readFileSync(optimized)) as { graph: { node: { domain?: string; opType: string }[] } }).graph.node) {
      const op = `${node.domain ?? ''}:${node.opType}`;
      ops[op] = (ops[op] ?? 0) + 1;
    }
    const sorted = Object.entries(ops).sort(([a, x], [b, y]) => Number(b.startsWith('com.')) - Number(a.startsWith('com.')) || y - x);
    return {
      impl: 'finetune-lab', engine: 'onnxruntime', onnxruntime: onnxRuntime().env.versions.common, threads, size, batch, seq, steps,
      forward_samples_per_s: round((batch * steps) / seconds, 3),
      optimized_ops: Object.fromEntries(sorted),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
