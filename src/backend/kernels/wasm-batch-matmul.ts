/**
 * BatchMatMul on the wasm backend with every batch through XNNPACK.
 *
 * Why: tfjs-backend-wasm sends a product to XNNPACK (SIMD, multi-threaded) only when both
 * operands have batch size 1; any batched product (attention's q @ k^T and probs @ v, and
 * their gradients) runs a scalar blocked loop at about 1 GFLOP/s against XNNPACK's 10 to 20.
 * This kernel registers, for each batch, views into the operands' and the output's memory on
 * the wasm heap (no copies) and runs the backend's own fast path on them; products that are
 * transposed, broadcast or not float32 go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmBackend {
  wasm: {
    cwrap(name: string, returnType: null, argTypes: string[]): (...args: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

type WasmMatMul = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, transposeA: boolean, transposeB: boolean, outId: number) => void;

const cwraps = new WeakMap<object, WasmMatMul>();

function wasmMatMul(backend: WasmBackend): WasmMatMul {
  let f = cwraps.get(backend);
  if (!f) {
    f = backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']) as WasmMatMul;
    cwraps.set(backend, f);
  }
  return f;
}

const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);

/** Replaces the wasm backend's BatchMatMul with the per-batch XNNPACK version (idempotent). */
export function registerWasmBatchMatMul(): void {
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (!stock || (stock as { perBatch?: boolean }).perBatch) return;
  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo => {
    const a = args.inputs.a!;
    const b = args.inputs.b!;
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const outer = a.shape.slice(0, -2);
    const batch = outer.reduce((x, y) => x * y, 1);
    const [m, k] = a.shape.slice(-2);
    const n = b.shape[b.shape.length - 1];
    const sameBatch = b.shape.length === a.shape.length && outer.every((d, i) => d === b.shape[i]);
    if (transposeA || transposeB || batch <= 1 || !sameBatch || a.dtype !== 'float32' || b.dtype !== 'float32' || m * k * n === 0) {
      return stock.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    }
    const backend = args.backend as WasmBackend;
    const matMul = wasmMatMul(backend);
    const out = backend.makeOutput([...outer, m, n], 'float32');
    const offsets = [a, b, out].map((t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset);
    const sizes = [m * k, k * n, m * n];
    const [aShape, bShape] = [shapeBytes([1, m, k]), shapeBytes([1, k, n])];
    const { registerTensor, disposeData } = backend.wasm.tfjs;
    for (let i = 0; i < batch; i++) {
      const ids = sizes.map((size, j) => {
        const id = backend.dataIdNextNumber++;
        registerTensor(id, size, offsets[j] + i * size * 4);
        return id;
      });
      matMul(ids[0], aShape, 3, ids[1], bShape, 3, false, false, ids[2]);
      // Forgets the views (and the XNNPACK operator cached on b's view); the memory stays with its tensors.
      for (const id of ids) disposeData(id);
    }
    return out;
  };
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ ...stock, kernelFunc, perBatch: true } as tf.KernelConfig);
}
