/**
 * The list of private members declared in this folder, each with the project code that depends on
 * it, and the check that the installed tfjs still has them (run by tests/tfjs-internals.test.ts).
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { engine, recordTape } from './engine.js';
import { replacedKernels } from './kernels.js';
import { threadedBuild } from './wasm-build.js';

/** Where a member lives: what its dotted path starts from. */
export type Holder = 'engine' | 'tape node' | 'cpu backend' | 'wasm backend' | 'webgpu backend' | 'wasm module' | 'threaded wasm module' | 'single-threaded wasm module' | 'threaded build' | 'stock kernels';

export interface PrivateMember {
  on: Holder;
  /** Dotted path from the holder; a trailing `()` means a function. */
  member: string;
  /** The project code that relies on it. */
  usedBy: string;
  /** A stricter check than being there (or being a function). */
  check?: (value: unknown, holder: object) => boolean;
}

const BACKPROP = 'train/backprop.ts gradientsOf (the backward pass of every training step)';
const WASM_KERNELS = 'the wasm kernels of backend/kernels (matmul, transpose, sum, gather, scatter, identity, gelu, adamw)';
const VIEWS = 'backend/kernels/wasm-batch-matmul.ts (products on views of the heap)';
const THREADS = 'backend/wasm-threads.ts (the multi-threaded wasm build)';
const isArray = (v: unknown) => Array.isArray(v);
const isMemory = (v: unknown) => v instanceof WebAssembly.Memory;

export const PRIVATE_MEMBERS: readonly PrivateMember[] = [
  { on: 'engine', member: 'runKernelFunc()', usedBy: 'ops.ts customOp (every op with a written-out gradient: linear, layerNorm, gelu, dropout, attentionProbs, add, scale, reshape, embeddingLookup, sparseCrossEntropy)' },
  { on: 'engine', member: 'runKernel()', usedBy: "the project's own kernels (ops.gelu's GELU kernels, kernels/adamw.ts adamwUpdate)" },
  ...['startTape()', 'endTape()', 'scopedRun()'].map((member) => ({ on: 'engine' as const, member, usedBy: BACKPROP })),
  { on: 'engine', member: 'state.activeTape', usedBy: BACKPROP, check: (v) => v === null || Array.isArray(v) },
  { on: 'engine', member: 'state.gradientDepth', usedBy: BACKPROP, check: (v) => typeof v === 'number' },
  { on: 'engine', member: 'state.numBytes', usedBy: 'finetune/memory.ts measurePeakMemory', check: (_, state) => Object.getOwnPropertyDescriptor(state, 'numBytes')?.writable === true },
  { on: 'engine', member: 'state.numDataBuffers', usedBy: 'tests/backprop.test.ts (peak buffers)', check: (v) => typeof v === 'number' },
  ...['id', 'kernelName', 'inputs', 'outputs', 'saved', 'gradient()'].map((member) => ({ on: 'tape node' as const, member, usedBy: BACKPROP })),
  { on: 'cpu backend', member: 'data.get()', usedBy: 'kernels/adamw.ts (AdamW on cpu)' },
  { on: 'cpu backend', member: 'makeTensorInfo()', usedBy: 'kernels/adamw.ts (AdamW on cpu)' },
  { on: 'webgpu backend', member: 'runWebGPUProgram()', usedBy: 'kernels/adamw.ts (AdamW on webgpu)' },
  ...['makeOutput()', 'typedArrayFromHeap()', 'dataIdMap.get()'].map((member) => ({ on: 'wasm backend' as const, member, usedBy: WASM_KERNELS })),
  { on: 'wasm backend', member: 'incRef()', usedBy: 'backend/kernels/wasm-identity.ts' },
  { on: 'wasm backend', member: 'disposeData()', usedBy: VIEWS },
  { on: 'wasm backend', member: 'dataIdNextNumber', usedBy: VIEWS, check: (v) => typeof v === 'number' },
  { on: 'wasm module', member: 'cwrap()', usedBy: `${VIEWS}; ${THREADS}` },
  { on: 'wasm module', member: '__FusedMatMul()', usedBy: VIEWS },
  { on: 'wasm module', member: 'tfjs.registerTensor()', usedBy: VIEWS },
  { on: 'wasm module', member: 'tfjs.disposeData()', usedBy: VIEWS },
  { on: 'wasm module', member: 'HEAPU8', usedBy: 'bench/bert.ts (wasm_heap_mb)', check: (v) => v instanceof Uint8Array },
  ...['_init', '_init_with_threads_count', '_get_threads_count', '_register_tensor', '_dispose_data', '_dispose'].map((f) => ({ on: 'wasm module' as const, member: `${f}()`, usedBy: THREADS })),
  { on: 'threaded wasm module', member: 'wasmMemory', usedBy: 'backend/kernels/simd-kernels.ts (simd.wat on the shared heap)', check: isMemory },
  { on: 'single-threaded wasm module', member: 'asm.memory', usedBy: 'backend/kernels/simd-kernels.ts (simd.wat on the heap)', check: isMemory },
  { on: 'threaded wasm module', member: 'PThread.runningWorkers', usedBy: THREADS, check: isArray },
  { on: 'threaded wasm module', member: 'PThread.unusedWorkers', usedBy: THREADS, check: isArray },
  { on: 'threaded build', member: 'glue()', usedBy: THREADS },
  { on: 'threaded build', member: 'workerContents', usedBy: THREADS, check: (v) => typeof v === 'string' && v.length > 0 },
  { on: 'threaded build', member: 'coresImport', usedBy: `${THREADS} (its thread count)`, check: (v, build) => (build as { imports: string[] }).imports.includes(v as string) },
];

/** The holders that exist in this process now (the wasm module holders and builds only on wasm). */
function holders(): Partial<Record<Holder, object>> {
  const found: Partial<Record<Holder, object>> = { engine: engine(), 'tape node': tapeNode() };
  const name = tf.getBackend();
  if (name === 'cpu' || name === 'wasm' || name === 'webgpu') found[`${name} backend`] = tf.backend();
  if (name === 'wasm') {
    const module = (tf.backend() as unknown as { wasm: object }).wasm;
    found['wasm module'] = module;
    found['PThread' in module ? 'threaded wasm module' : 'single-threaded wasm module'] = module;
    const build = threadedBuild();
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(build.binary))).map((i) => i.name);
    found['threaded build'] = { glue: require(build.glue), workerContents: build.workerContents, coresImport: build.coresImport, imports };
    found['stock kernels'] = Object.fromEntries(replacedKernels());
  }
  return found;
}

/** A node of a real tape, its tensors freed; none if the tape cannot be recorded. */
function tapeNode(): object {
  const x = tf.variable(tf.ones([2]));
  try {
    const { value, tape } = recordTape(() => tf.mul(x, 2));
    tf.dispose([value, ...tape.flatMap((node) => node.saved ?? [])]);
    return tape[0] ?? {};
  } catch {
    return {};
  } finally {
    x.dispose();
  }
}

function present(holder: object, member: PrivateMember): boolean {
  const steps = member.member.replace(/\(\)$/, '').split('.');
  let parent: unknown = holder;
  let value: unknown = holder;
  for (const step of steps) {
    parent = value;
    value = value === null || value === undefined ? undefined : (value as Record<string, unknown>)[step];
  }
  if (member.member.endsWith('()')) return typeof value === 'function';
  return member.check ? member.check(value, parent as object) : value !== undefined;
}

/**
 * Checks every member whose holder exists now, and every stock kernel the project replaced: the
 * members checked, and a message for each missing one that names the code depending on it.
 */
export function checkPrivateMembers(): { checked: string[]; missing: string[] } {
  const found = holders();
  const version = tf.version.tfjs;
  const checked: string[] = [];
  const missing: string[] = [];
  for (const member of PRIVATE_MEMBERS) {
    const holder = found[member.on];
    if (!holder) continue;
    checked.push(`${member.on}: ${member.member}`);
    if (!present(holder, member)) missing.push(`tfjs ${version} has no ${member.on} member ${member.member}; ${member.usedBy} relies on it`);
  }
  for (const [kernel, wasThere] of Object.entries(found['stock kernels'] ?? {})) {
    if (!wasThere) missing.push(`tfjs ${version} has no stock kernel ${kernel}, which backend/kernels replaces: the replacement never runs`);
  }
  return { checked, missing };
}
