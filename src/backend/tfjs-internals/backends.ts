/**
 * The backends' tensor storage, for the project's kernels that work on it directly:
 * tfjs-backend-wasm's heap and Emscripten module, the cpu backend's arrays, and
 * tfjs-backend-webgpu's program runner.
 */
import * as tf from '@tensorflow/tfjs';

/** tfjs-backend-wasm's Emscripten module (the parts used here). */
export interface WasmModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: unknown[]) => unknown;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  /** The heap: `wasmMemory` in the threaded build (shared), `asm.memory` in the others. */
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory: WebAssembly.Memory };
  HEAPU8: Uint8Array;
}

/** tfjs-backend-wasm's BackendWasm (the parts used here). */
export interface BackendWasm {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): void;
  incRef(dataId: object): void;
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
  wasm: WasmModule;
}

/** The C++ _FusedMatMul of tfjs-backend-wasm (activation 0 is linear; bias id 0 is none). */
export type WasmFusedMatMul = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, transposeA: boolean, transposeB: boolean, activation: number, biasId: number, preluId: number, leakyreluAlpha: number, outId: number) => void;

const FUSED_MATMUL_ARGS = ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number', 'number', 'number', 'number', 'number'];

const wasmBackends = new WeakMap<object, WasmBackend>();

/** The wasm backend's tensors and heap, for the kernels that work on the heap itself. */
export class WasmBackend {
  private fusedMatMulFunc?: WasmFusedMatMul;

  private constructor(private readonly backend: BackendWasm) {}

  /** The backend a kernel was called with, seen as the wasm backend (one object per backend). */
  static of(backend: unknown): WasmBackend {
    let wrapped = wasmBackends.get(backend as object);
    if (!wrapped) wasmBackends.set(backend as object, (wrapped = new WasmBackend(backend as BackendWasm)));
    return wrapped;
  }

  /** A new tensor on the heap (which may grow, detaching every view made before). */
  output(shape: number[], dtype: tf.DataType): tf.TensorInfo {
    return this.backend.makeOutput(shape, dtype);
  }

  /** The tensor's data as a view of the heap. */
  view(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array {
    return this.backend.typedArrayFromHeap(t);
  }

  /** Where each tensor's data starts in the heap (byte offsets). */
  offsets(...tensors: tf.TensorInfo[]): number[] {
    return tensors.map((t) => this.backend.dataIdMap.get(t.dataId).memoryOffset);
  }

  /** The id the C++ side knows the tensor by. */
  id(t: tf.TensorInfo): number {
    return this.backend.dataIdMap.get(t.dataId).id;
  }

  /** Another tensor on the same memory (the memory is freed with the last of them). */
  share(t: tf.TensorInfo): tf.TensorInfo {
    this.backend.incRef(t.dataId);
    return { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  }

  free(t: tf.TensorInfo): void {
    this.backend.disposeData(t.dataId);
  }

  get memory(): WebAssembly.Memory {
    return this.backend.wasm.wasmMemory ?? this.backend.wasm.asm!.memory;
  }

  /** Makes `size` floats at `byteOffset` a tensor of the C++ side without copying; returns its id for forgetView. */
  viewAt(byteOffset: number, size: number): number {
    const id = this.backend.dataIdNextNumber++;
    this.backend.wasm.tfjs.registerTensor(id, size, byteOffset);
    return id;
  }

  /** Forgets a view (and what the C++ side cached for it); the memory stays with its tensor. */
  forgetView(id: number): void {
    this.backend.wasm.tfjs.disposeData(id);
  }

  get fusedMatMul(): WasmFusedMatMul {
    return (this.fusedMatMulFunc ??= this.backend.wasm.cwrap('_FusedMatMul', null, FUSED_MATMUL_ARGS) as WasmFusedMatMul);
  }

  /** Runs the wasm kernel `name` registered now on this backend. */
  run(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap): tf.TensorInfo {
    return tf.getKernel(name, 'wasm')!.kernelFunc({ inputs, backend: this.backend as unknown as tf.KernelBackend, attrs }) as tf.TensorInfo;
  }
}

/** The size of the current wasm backend's heap in bytes (its high-water mark: it never shrinks). */
export function wasmHeapBytes(): number {
  return (tf.backend() as unknown as BackendWasm).wasm.HEAPU8.length;
}

/** tfjs-backend-cpu's MathBackendCPU (the parts used here). */
export interface BackendCpu {
  data: { get(dataId: object): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** A tensor's values on the cpu backend. */
export function cpuValues(backend: unknown, t: tf.TensorInfo): ArrayLike<number> {
  return (backend as BackendCpu).data.get(t.dataId).values;
}

/** A new float32 tensor of the cpu backend holding `values`. */
export function cpuOutput(backend: unknown, shape: number[], values: Float32Array): tf.TensorInfo {
  return (backend as BackendCpu).makeTensorInfo(shape, 'float32', values);
}

/** A program of tfjs-backend-webgpu's (its WebGPUProgram); `getUserCode` returns the WGSL `main`. */
export interface WebGPUProgram {
  outputShape: number[];
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  variableNames: string[];
  uniforms: string;
  size: boolean;
  shaderKey: string;
  getUserCode(): string;
}

/** tfjs-backend-webgpu's WebGPUBackend (the part used here). */
export interface BackendWebGPU {
  runWebGPUProgram(program: WebGPUProgram, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms: { type: string; data: number[] }[]): tf.TensorInfo;
}

/** Runs a WGSL program with a float32 output on the webgpu backend. */
export function runWebGPUProgram(backend: unknown, program: WebGPUProgram, inputs: tf.TensorInfo[], uniforms: { type: string; data: number[] }[]): tf.TensorInfo {
  return (backend as BackendWebGPU).runWebGPUProgram(program, inputs, 'float32', uniforms);
}
