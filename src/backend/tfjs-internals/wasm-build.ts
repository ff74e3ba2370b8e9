/**
 * tfjs-backend-wasm's multi-threaded build as the project loads it itself (backend/wasm-threads.ts):
 * its files in the package, the pthread worker script it exports, the import through which its
 * glue asks for the core count, the JavaScript bindings of its C functions, and its pthread pool.
 */
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { WasmModule } from './backends.js';

/** The Emscripten module of the threaded build. */
export interface ThreadedWasmModule extends Pick<WasmModule, 'cwrap'> {
  PThread: { runningWorkers: { unref(): void }[]; unusedWorkers: { terminate(): void }[] };
  tfjs?: Record<string, unknown>;
}

export interface ThreadedBuild {
  dir: string;
  /** The Emscripten glue: `require(glue)` is the module factory. */
  glue: string;
  binary: string;
  /** The pthread worker script, as the build exports it (a string with `\n` escapes). */
  workerContents: string;
  /** The `env` import that reports the logical core count to the glue. */
  coresImport: string;
}

export function threadedBuild(): ThreadedBuild {
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const worker: { wasmWorkerContents: string } = require(path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js'));
  return {
    dir,
    glue: path.join(dir, 'tfjs-backend-wasm-threaded-simd.js'),
    binary: path.join(dir, 'tfjs-backend-wasm-threaded-simd.wasm'),
    workerContents: worker.wasmWorkerContents,
    coresImport: 'emscripten_num_logical_cores',
  };
}

/** A BackendWasm on a loaded module, with the bindings that tfjs-backend-wasm's own init() gives it. */
export function wasmBackendOn(module: ThreadedWasmModule): tf.KernelBackend {
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  const wasm: typeof import('@tensorflow/tfjs-backend-wasm') = require('@tensorflow/tfjs-backend-wasm');
  return new wasm.BackendWasm(module as never);
}

/** The pool's started workers, and those the glue started ahead that the pool did not take. */
export function pthreadWorkers(module: ThreadedWasmModule): { running: { unref(): void }[]; unused: { terminate(): void }[] } {
  return { running: module.PThread.runningWorkers, unused: module.PThread.unusedWorkers };
}
