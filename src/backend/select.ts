/**
 * Chooses the TensorFlow.js backend, once, for the whole process.
 *
 * Preference order: `tensorflow` (the native libtensorflow binding, only if the user installed
 * `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node`), then `webgpu` (Dawn) on a real GPU,
 * then `wasm`, then `cpu`. The `backend` option forces one (the course and the command line pass
 * FINETUNE_LAB_BACKEND or --backend there); a software WebGPU adapter (llvmpipe and the like) is
 * used only when forced, since it is slower than wasm.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_BLAS_LIBRARY, useBlas, type ProductsEngine } from './kernels/blas.js';
import { installKernels } from './kernels/index.js';
import { registerThreadedWasm, threadsSupported } from './wasm-threads.js';
import { adapterName, webgpuAdapter } from './webgpu.js';

export type BackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** The backends in the order in which they are preferred. */
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

/** What a backend would run on, or why it cannot run here. */
export interface BackendProbe {
  available: boolean;
  /** The hardware it computes on, e.g. the GPU adapter's name. */
  device?: string;
  /** Why it is unavailable, or why it would not be chosen automatically. */
  reason?: string;
  /** Set for a software (CPU-emulated) GPU adapter: available, but chosen only when forced. */
  software?: boolean;
}

/** The backend in use. */
export interface BackendInfo {
  name: BackendName;
  device: string;
  /** Why this backend was chosen. */
  reason: string;
}

export interface InitBackendOptions {
  /** Force a backend (default: the first available in BACKEND_NAMES' order, a software GPU adapter skipped). */
  backend?: BackendName;
  /** Who forced `backend`, as the chosen backend's reason and the errors name it (default "the backend option"). */
  forcedBy?: string;
  /** Do not print the line that says which backend was chosen. */
  quiet?: boolean;
  /** Threads of the wasm backend (default: one per core, see wasm-threads.ts). Fixed once wasm is loaded. */
  threads?: number;
  /**
   * The OpenBLAS shared library the wasm backend's matrix products run on (default: DEFAULT_BLAS_LIBRARY,
   * `libopenblas.so.0` on Linux, Debian's libopenblas0-pthread); null runs them on XNNPACK, as does a
   * library that cannot be loaded (the backend's line says so). Fixed once wasm is loaded.
   */
  blas?: string | null;
}

const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** Loads the native binding if the user installed it; returns the package name, or why not. */
function loadNative(): { pkg?: string; reason: string } {
  const reasons: string[] = [];
  for (const pkg of NATIVE_PACKAGES) {
    let name: string;
    try {
      name = require(`${pkg}/package.json`).name;
    } catch {
      reasons.push(`${pkg} is not installed`);
      continue;
    }
    // danfojs-node's dependency on tfjs-node is overridden with plain tfjs, which has no native binding.
    if (name !== pkg) {
      reasons.push(`${pkg} resolves to ${name}, not the native binding`);
      continue;
    }
    try {
      require(pkg);
    } catch (err) {
      reasons.push(`${pkg} failed to load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      continue;
    }
    if (tf.findBackendFactory('tensorflow')) return { pkg, reason: `${pkg} is installed` };
    reasons.push(`${pkg} registered no "tensorflow" backend`);
  }
  return { reason: reasons.join('; ') };
}

let wasmThreads: number | undefined;
let wasmProducts: ProductsEngine | undefined;

/** The threads the wasm backend computes with, once it is loaded (else undefined): other engines in the process (ONNX Runtime) use as many. */
export function wasmThreadCount(): number | undefined {
  return wasmThreads;
}

/**
 * Loads the wasm backend with its .wasm binaries taken from node_modules: the multi-threaded
 * build when more than one thread is asked for (see wasm-threads.ts), else the SIMD one; its
 * matrix products on OpenBLAS from `blas` with as many threads, where it loads (kernels/blas.ts).
 */
function loadWasm(threads = os.availableParallelism(), blas: string | null | undefined = DEFAULT_BLAS_LIBRARY): void {
  if (wasmThreads !== undefined) return;
  const wasm: typeof import('@tensorflow/tfjs-backend-wasm') = require('@tensorflow/tfjs-backend-wasm');
  wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
  wasmThreads = threads > 1 && threadsSupported() ? threads : 1;
  if (wasmThreads > 1) registerThreadedWasm(wasmThreads);
  wasmProducts = useBlas(blas, wasmThreads);
}

const PROBES: Record<BackendName, () => Promise<BackendProbe>> = {
  async tensorflow() {
    const native = loadNative();
    if (!native.pkg) return { available: false, reason: native.reason };
    const gpu = native.pkg.endsWith('-gpu');
    return { available: true, device: gpu ? 'libtensorflow (CUDA)' : `libtensorflow (${cpuName()})`, reason: native.reason };
  },
  async webgpu() {
    let dawn;
    try {
      dawn = await webgpuAdapter();
    } catch (err) {
      return { available: false, reason: `Dawn (the webgpu package) failed to load: ${err instanceof Error ? err.message : String(err)}` };
    }
    const adapter = dawn.adapter;
    if (!adapter) return { available: false, reason: noAdapterReason(dawn.warnings) };
    const device = adapterName(adapter);
    if (adapter.software) {
      return { available: true, software: true, device, reason: 'software adapter (the CPU emulating a GPU): used only when forced (backend webgpu; FINETUNE_LAB_BACKEND=webgpu for the course)' };
    }
    return { available: true, device, reason: 'GPU adapter found through Dawn' };
  },
  async wasm() {
    try {
      loadWasm();
    } catch (err) {
      return { available: false, reason: `@tensorflow/tfjs-backend-wasm failed to load: ${err instanceof Error ? err.message : String(err)}` };
    }
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return { available: true, device: `WebAssembly${simd ? ' SIMD' : ''}, ${wasmThreads === 1 ? '1 thread' : `${wasmThreads} threads`} (${cpuName()}), ${wasmProducts!.description}` };
  },
  async cpu() {
    return { available: true, device: `JavaScript (${cpuName()})` };
  },
};

/** Why Dawn found no adapter, in its own words where it gave them, and what would give it one. */
function noAdapterReason(warnings: string[]): string {
  const why = warnings.length ? warnings.join('; ') : process.platform === 'linux' ? 'no Vulkan driver' : 'no Metal or D3D12 driver';
  const fix = process.platform === 'linux'
    ? ". Install your GPU's Vulkan driver or, without a GPU, Mesa's software one: mesa-vulkan-drivers 25 or later (on Debian 12 from bookworm-backports; `node kernel-setup/setup.mjs --for tests` installs it when run as root)"
    : '';
  return `Dawn found no GPU adapter (${why})${fix}`;
}

/** The CPU model and core count, e.g. "AMD EPYC, 2 cores". */
export function cpuName(): string {
  const cpus = os.cpus();
  return cpus.length ? `${cpus[0].model.trim()}, ${cpus.length} cores` : 'CPU';
}

/** Checks which backends can run here, without switching the current one. */
export async function probeBackends(): Promise<Record<BackendName, BackendProbe>> {
  const entries = [];
  for (const name of BACKEND_NAMES) entries.push([name, await PROBES[name]()] as const);
  return Object.fromEntries(entries) as Record<BackendName, BackendProbe>;
}

let current: BackendInfo | undefined;
// Calls run one after another, so that concurrent callers never race tf.setBackend.
let pending: Promise<unknown> = Promise.resolve();

/**
 * Selects the TensorFlow.js backend and prints one line that says which and why.
 * Idempotent: a second call returns the backend in use, unless it forces a different one.
 */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  // tfjs' only use of production mode is to silence its console warnings, among them a banner on
  // first use telling every Node user to install tfjs-node; the line printed here says instead
  // which backend runs and why.
  tf.enableProdMode();
  const next = pending.catch(() => undefined).then(() => select(options));
  pending = next;
  return next;
}

/** The backend chosen by `initBackend`, or undefined before it ran. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}

async function select(options: InitBackendOptions): Promise<BackendInfo> {
  const forced = options.backend;
  const by = options.forcedBy ?? 'the backend option';
  if (options.threads !== undefined || options.blas !== undefined) loadWasm(options.threads, options.blas);
  if (current && (forced === undefined || forced === current.name) && tf.getBackend() === current.name) return current;

  const info = forced ? await forcedBackend(forced, by) : await bestBackend();
  installKernels();
  if (!(await tf.setBackend(info.name))) {
    throw new Error(`TensorFlow.js could not initialise the ${info.name} backend (see the warning above); choose another (${BACKEND_NAMES.filter((n) => n !== info.name).join('|')}) with ${by}`);
  }
  await tf.ready();
  current = info;
  if (!options.quiet) console.log(`finetune-lab: TensorFlow.js backend "${info.name}" on ${info.device}: ${info.reason}`);
  return info;
}

async function forcedBackend(name: BackendName, by: string): Promise<BackendInfo> {
  const probe = await PROBES[name]();
  if (!probe.available) throw new Error(`The ${name} backend was forced by ${by} but is unavailable: ${probe.reason}. Choose another backend or unset it.`);
  loadTfjsBackend(name);
  return { name, device: probe.device ?? name, reason: `forced by ${by}` };
}

async function bestBackend(): Promise<BackendInfo> {
  const skipped: string[] = [];
  for (const name of BACKEND_NAMES) {
    const probe = await PROBES[name]();
    if (probe.available && !probe.software) {
      loadTfjsBackend(name);
      const why = skipped.length ? `preferred backends skipped: ${skipped.join('; ')}` : 'the preferred backend';
      return { name, device: probe.device ?? name, reason: `chosen automatically (${why})` };
    }
    skipped.push(`${name}: ${probe.reason}${probe.software && probe.device ? ` (${probe.device})` : ''}`);
  }
  throw new Error('No TensorFlow.js backend is available, not even cpu; reinstall @tensorflow/tfjs');
}

/**
 * Registers the tfjs backend whose probe succeeded (tensorflow and wasm register while probing).
 * `require`, not `import()`: the ES module build would bring a second tfjs-core engine.
 */
function loadTfjsBackend(name: BackendName): void {
  if (name === 'webgpu') require('@tensorflow/tfjs-backend-webgpu');
}

/**
 * `err` with the cause and the fix spelled out when it is the wasm backend aborting, which in a
 * training step almost always means its memory ran out: WebAssembly addresses at most 4 GB, and
 * the heap aborts when it cannot grow. Any other error is returned as it is.
 */
export function explainWasmAbort(err: unknown, during: string): unknown {
  if (tf.getBackend() !== 'wasm' || !(err instanceof WebAssembly.RuntimeError)) return err;
  return new Error(
    `the wasm backend aborted during ${during} (${err.message}), most likely out of memory: its heap cannot grow past 4 GB. ` +
      'Run each batch in parts (finetune-lab train --micro-batch N; fit({ microBatchSize })), or use shorter sequences or smaller batches. ' +
      'The wasm backend cannot continue after an abort: restart the process or the notebook kernel.',
    { cause: err },
  );
}
