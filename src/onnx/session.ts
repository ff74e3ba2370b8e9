/**
 * ONNX Runtime sessions over exported files, with the few settings that decide their speed in
 * one place: threads, graph optimisation level (where ORT's BERT fusions happen) and execution
 * provider. onnxruntime-node is an optional peer (src/package/peers.ts): only running ONNX files
 * needs it, not exporting them.
 */
import type * as Ort from 'onnxruntime-node';
import { optionalPeer } from '../package/peers.js';
import { ONNX_INPUTS } from './layout.js';

export interface OrtSessionOptions {
  /** Intra-op threads; default 0, ONNX Runtime's choice (one per physical core). */
  threads?: number;
  /** Default 'all': every fusion, BERT's included (Attention, Gelu, SkipLayerNormalization, ...). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Default ['cpu']; 'cuda' needs the CUDA provider, which onnxruntime-node's install script downloads (see environment.md). */
  executionProviders?: string[];
  /** Write the optimised graph here, to see which fusions applied (ORT's `optimizedModelFilePath`). */
  optimizedModelPath?: string;
}

/** onnxruntime-node, or an error that says how to install it. */
export function onnxRuntime(): typeof Ort {
  return optionalPeer<typeof Ort>('onnxruntime-node', 'Running ONNX models');
}

/** An ONNX Runtime session over the `.onnx` file at `path`, or over a graph's bytes (onnxGraph). */
export async function createSession(model: string | Uint8Array, options: OrtSessionOptions = {}): Promise<Ort.InferenceSession> {
  const ort = onnxRuntime();
  const settings: Ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: options.threads ?? 0,
    // Sequential execution: BERT's graph is a chain, and a second thread pool only competes for the cores.
    executionMode: 'sequential',
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    executionProviders: options.executionProviders ?? ['cpu'],
    // ORT warns that a graph optimised at level 'all' may hold this machine's layouts: it is written to be read, not run elsewhere.
    ...(options.optimizedModelPath ? { optimizedModelFilePath: options.optimizedModelPath, logSeverityLevel: 3 as const } : {}),
  };
  return typeof model === 'string' ? ort.InferenceSession.create(model, settings) : ort.InferenceSession.create(model, settings);
}

/** A batch as the exported graphs take it: rows of token ids, mask (1 = attend) and segment ids. */
export interface OnnxBatch {
  input_ids: number[][];
  attention_mask?: number[][];
  token_type_ids?: number[][];
}

/** The outputs of a run: each float32 output with its shape. */
export type OnnxOutputs = Record<string, { dims: number[]; data: Float32Array }>;

/** Runs an exported BERT graph on a batch; a missing mask attends everywhere, missing segment ids are 0 (as transformers). */
export async function runBert(session: Ort.InferenceSession, batch: OnnxBatch): Promise<OnnxOutputs> {
  const ort = onnxRuntime();
  const rows = batch.input_ids;
  const width = rows[0]?.length ?? 0;
  if (rows.some((row) => row.length !== width)) throw new Error('input_ids rows have different lengths; pad them to one length (the tokenizer\'s padding)');
  const tensor = (matrix: number[][] | undefined, fill: number) =>
    new ort.Tensor('int64', BigInt64Array.from(matrix ? matrix.flat() : new Array<number>(rows.length * width).fill(fill), BigInt), [rows.length, width]);
  const values = { input_ids: tensor(rows, 0), attention_mask: tensor(batch.attention_mask, 1), token_type_ids: tensor(batch.token_type_ids, 0) };
  const feeds = Object.fromEntries(ONNX_INPUTS.map((name) => [name, values[name]]));
  const results = await session.run(feeds);
  return Object.fromEntries(Object.entries(results).map(([name, t]) => [name, { dims: [...t.dims], data: t.data as Float32Array }]));
}
