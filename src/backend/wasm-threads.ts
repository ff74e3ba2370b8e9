/**
 * The multi-threaded build of tfjs-backend-wasm (XNNPACK with a pthreadpool), run in Node.
 *
 * tfjs ships `tfjs-backend-wasm-threaded-simd.wasm` but never loads it in Node
 * (`WASM_HAS_MULTITHREAD_SUPPORT` is false there, tensorflow/tfjs#3830): its loader hands
 * Emscripten a Blob URL for the pthread worker script, which Node's worker_threads cannot open.
 * The Emscripten glue itself supports Node (worker_threads as pthreads, a shared
 * WebAssembly.Memory), so this module runs it directly: the worker script is written to a file,
 * and the binary is instantiated here so that one import can be corrected. tfjs sizes its
 * thread pool as `min(requested, logical cores / 2)`, assuming two hyper-threads per core;
 * `os.cpus()` in Node counts the cores the process may use, so the pool would be capped at
 * one thread on a 2-core machine. `emscripten_num_logical_cores` therefore reports twice the
 * requested count. Idle pool threads must not keep the process alive, so their workers are
 * unref'd once started, and the workers the glue pre-starts beyond the pool are ended.
 *
 * The default is one thread per core the process may use (FINETUNE_LAB_THREADS or
 * `initBackend({ threads })` choose another count). Measured on this project's 2-core machine at
 * bert-mini, batch 8, seq 128, five alternating runs on a quiet machine: two threads ran the
 * forward pass at 33 samples/s (26 to 38) against 22 (19 to 25) on one, and training at 8.3
 * (5.6 to 9.7) against 6.0. Under load from other processes it is the other way round (forward
 * 14.9 against 25.1 samples/s, training 4.35 against 5.94): each XNNPACK call wakes the pool's
 * workers through Atomics, and a worker that must wait for a core stalls the whole product. So
 * on a machine busy with other work, FINETUNE_LAB_THREADS=1 is faster.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../files/atomic.js';
import { pthreadWorkers, threadedBuild, wasmBackendOn, type ThreadedWasmModule } from './tfjs-internals/index.js';

const WASM_PRIORITY = 2;

type Factory = (config: Record<string, unknown>) => Promise<ThreadedWasmModule>;

/** Whether this Node can run wasm threads (shared memory and worker_threads). */
export function threadsSupported(): boolean {
  try {
    return typeof SharedArrayBuffer === 'function' && new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/** Writes the pthread worker script once per content (a file named by its hash), atomically. */
function workerScript(contents: string): string {
  // The exported string holds `\n` escapes that tfjs itself re-escapes before making its Blob.
  const script = contents.replace(/\n/g, '\\n');
  const file = path.join(os.tmpdir(), `finetune-lab-tfjs-wasm-worker-${createHash('sha256').update(script).digest('hex').slice(0, 16)}.cjs`);
  if (!existsSync(file)) writeFileAtomic(file, script);
  return file;
}

async function loadThreadedModule(threads: number): Promise<ThreadedWasmModule> {
  const { dir, glue, binary, workerContents, coresImport } = threadedBuild();
  const factory: Factory = require(glue);
  const worker = workerScript(workerContents);
  return factory({
    mainScriptUrlOrBlob: glue,
    locateFile: (file: string) => (file.endsWith('.worker.js') ? worker : file.endsWith('.wasm') ? binary : path.join(dir, file)),
    instantiateWasm(imports: { env: Record<string, unknown> }, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
      imports.env[coresImport] = () => 2 * threads;
      WebAssembly.instantiate(readFileSync(binary), imports as WebAssembly.Imports).then(({ instance, module }) => receive(instance, module));
      return {};
    },
  });
}

/**
 * Makes the `wasm` backend, when it is first created, the threaded build with `threads` threads.
 * Must run before the wasm backend is initialised; the kernels registered for `wasm` apply as they are.
 */
export function registerThreadedWasm(threads: number): void {
  const wasm: typeof import('@tensorflow/tfjs-backend-wasm') = require('@tensorflow/tfjs-backend-wasm');
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', async () => {
    const module = await loadThreadedModule(threads);
    wasm.setThreadsCount(threads);
    const backend = wasmBackendOn(module);
    const workers = pthreadWorkers(module);
    for (const worker of workers.running) worker.unref();
    // The glue starts 8 workers up front; those the pool did not take are ~20 MB each, idle for good.
    for (const worker of workers.unused.splice(0)) worker.terminate();
    return backend;
  }, WASM_PRIORITY);
}
