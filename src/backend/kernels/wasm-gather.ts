/**
 * GatherV2 along axis 0 on the wasm backend (embedding lookups) as row copies on the wasm heap.
 *
 * Why: tfjs-backend-wasm gathers element by element with a full index computation for each, so
 * looking up 1024 rows of 256 floats (1 MB) took 10 to 14 ms, longer than the Linear layer that
 * follows it. Copying whole rows with `TypedArray.set` moves the same megabyte in
 * well under a millisecond. Other axes and batch dimensions go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceKernel, WasmBackend } from '../tfjs-internals/index.js';

/** Replaces the wasm backend's GatherV2 with row copies for gathers along axis 0 (idempotent). */
export function registerWasmGather(): void {
  replaceKernel('GatherV2', 'wasm', (args, stock) => {
    const x = args.inputs.x!;
    const indices = args.inputs.indices!;
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
    const rows = x.shape[0];
    const width = x.shape.slice(1).reduce((a, b) => a * b, 1);
    if ((axis !== 0 && axis !== -x.shape.length) || batchDims || x.dtype === 'string' || x.dtype === 'complex64' || indices.dtype !== 'int32' || x.shape.length === 0) {
      return stock(args);
    }
    const backend = WasmBackend.of(args.backend);
    // As tf.gather on cpu: an index outside the table is an error, not a silent read.
    for (const row of backend.view(indices)) {
      if (row < 0 || row >= rows) throw new Error(`GatherV2: the index value ${row} is not in [0, ${rows - 1}]`);
    }
    const out = backend.output([...indices.shape, ...x.shape.slice(1)], x.dtype);
    // Views after the allocation, which may have grown (and so replaced) the heap.
    const [source, ids, target] = [x, indices, out].map((t) => backend.view(t));
    for (let i = 0; i < ids.length; i++) target.set(source.subarray(ids[i] * width, (ids[i] + 1) * width), i * width);
    return out;
  });
}
