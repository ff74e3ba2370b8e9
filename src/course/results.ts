/**
 * Each method's results, kept in one JSON file so that the comparison notebook can put the
 * methods side by side without training them again. A method's latest run replaces its entry.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../files/atomic.js';
import { RESULTS_FILE } from './paths.js';

/** The figures every method reports; anything else (profile, model, ...) may come along. */
export interface MethodResult {
  test_accuracy: number;
  test_f1: number;
  trainable_params: number;
  total_params: number;
  train_seconds: number;
  train_samples_per_s: number;
  /** Peak bytes held by TensorFlow.js tensors while training, the model's own included. */
  peak_memory_bytes: number;
  [field: string]: unknown;
}

/** Every recorded method's result, by method name; empty when nothing was recorded yet. */
export function readResults(file = RESULTS_FILE): Record<string, MethodResult> {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, MethodResult>;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); delete it and run the method notebooks again`);
  }
}

/** Stores `result` as `method`'s entry, replacing an earlier one and keeping the others. */
export function recordResult(method: string, result: MethodResult, file = RESULTS_FILE): void {
  if (!method) throw new Error('recordResult needs a method name, e.g. recordResult("lora", result)');
  const results = { ...readResults(file), [method]: { ...result, recorded_at: new Date().toISOString() } };
  writeFileAtomic(file, JSON.stringify(results, null, 2) + '\n');
}
