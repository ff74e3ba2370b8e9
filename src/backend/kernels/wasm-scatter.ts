/**
 * ScatterNd on the wasm backend as slice additions on the wasm heap.
 *
 * Why: the embedding gradient is a scatter-add of the batch's rows into a zero table the size of
 * the vocabulary (bert.embeddings: `tf.scatterND(ids, dy, [30522, hidden])`). In a profile of a
 * bert-mini training step tfjs-backend-wasm's ScatterNd took 194 ms for its 3 calls (machine
 * under load), more than any element-wise kernel; zero-filling the table with `fill` and adding
 * each row is a memset plus batch x seq x hidden additions.
 */
import { replaceKernel, WasmBackend } from '../tfjs-internals/index.js';

/** Replaces the wasm backend's ScatterNd with slice additions for float32 and int32 updates (idempotent). */
export function registerWasmScatterNd(): void {
  replaceKernel('ScatterNd', 'wasm', (args, stock) => {
    const indices = args.inputs.indices!;
    const updates = args.inputs.updates!;
    const { shape } = args.attrs as unknown as { shape: number[] };
    const depth = indices.shape[indices.shape.length - 1];
    if ((updates.dtype !== 'float32' && updates.dtype !== 'int32') || indices.dtype !== 'int32' || depth > shape.length) {
      return stock(args);
    }
    const backend = WasmBackend.of(args.backend);
    const sliceSize = shape.slice(depth).reduce((a, b) => a * b, 1);
    const strides = shape.slice(0, depth).map((_, j) => shape.slice(j + 1, depth).reduce((a, b) => a * b, 1) * sliceSize);
    const ids = backend.view(indices);
    const offsets = new Int32Array(ids.length / depth);
    for (let i = 0; i < offsets.length; i++) {
      for (let j = 0; j < depth; j++) {
        const index = ids[i * depth + j];
        // As tfjs' cpu kernel: an index outside the output is an error, not a silent write.
        if (index < 0 || index >= shape[j]) throw new Error(`ScatterNd: index ${index} is outside dimension ${j} of the output, of size ${shape[j]}`);
        offsets[i] += index * strides[j];
      }
    }
    const out = backend.output(shape, updates.dtype);
    // Views after the allocation, which may have grown (and so replaced) the heap.
    const [values, target] = [updates, out].map((t) => backend.view(t));
    target.fill(0);
    for (let i = 0; i < offsets.length; i++) {
      const [to, from] = [offsets[i], i * sliceSize];
      for (let k = 0; k < sliceSize; k++) target[to + k] += values[from + k];
    }
    return out;
  });
}
