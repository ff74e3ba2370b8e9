/**
 * How the wasm kernels here take over from tfjs-backend-wasm's own: each handles the cases it is
 * faster at and hands every other case to the stock kernel it replaced.
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's BackendWasm (not exported by tfjs) that the kernels here use. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** The tensor's data as a view of the wasm heap. */
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): void;
  incRef(dataId: object): void;
  wasm: {
    cwrap(name: string, returnType: null, argTypes: string[]): (...args: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
    /** The heap: `wasmMemory` in the threaded build (shared), `asm.memory` in the others. */
    wasmMemory?: WebAssembly.Memory;
    asm?: { memory: WebAssembly.Memory };
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
}

/** Where each tensor's data starts in the wasm heap (byte offsets), for kernels that run on the heap itself. */
export function heapOffsets(backend: WasmBackend, ...tensors: tf.TensorInfo[]): number[] {
  return tensors.map((t) => backend.dataIdMap.get(t.dataId).memoryOffset);
}

export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** A replacement kernel; `stock` runs the kernel it replaced. */
export type WasmKernelFunc = (args: KernelArgs, stock: (args: KernelArgs) => tf.TensorInfo) => tf.TensorInfo;

const REPLACED = Symbol('finetune-lab kernel');

/** Replaces tfjs-backend-wasm's kernel `name` with `kernelFunc` (idempotent; nothing when wasm is not loaded). */
export function replaceWasmKernel(name: string, kernelFunc: WasmKernelFunc): void {
  const stock = tf.getKernel(name, 'wasm');
  if (!stock || (stock as unknown as Record<symbol, boolean>)[REPLACED]) return;
  const stockFunc = (args: KernelArgs) => stock.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...stock, kernelFunc: (args: KernelArgs) => kernelFunc(args, stockFunc), [REPLACED]: true } as tf.KernelConfig);
}
