/**
 * Transpose on the wasm backend, for permutations that swap two blocks of trailing axes
 * (`[B, R, C] -> [B, C, R]` once adjacent axes are merged): a matrix transpose in cache-sized
 * tiles, written in JavaScript over the wasm heap.
 *
 * Why: tfjs-backend-wasm's Transpose walks the output in order and reads the input with a
 * stride of a whole row, so a 1024x256 matrix transpose took 7 ms, thirty times the time of an
 * element-wise add of the same size. The backward pass transposes every Linear's input
 * (matmul-gradient.ts), and the wasm Sum kernel transposes before reducing over leading axes
 * (every bias and LayerNorm gradient). Other permutations (attention's head split) go to the
 * stock kernel, which is fast for them.
 */
import { replaceKernel, WasmBackend } from '../tfjs-internals/index.js';

/** Tile edge: two 32x32 float tiles fit any L1 cache. */
const TILE = 32;

/**
 * `[batch, rows, cols]` such that `perm` is the transpose of the last two, or undefined when the
 * permutation is not of that form: `perm = [0..b), [s..rank), [b..s)`.
 */
export function asMatrixTranspose(shape: number[], perm: number[]): [number, number, number] | undefined {
  const rank = shape.length;
  let b = 0;
  while (b < rank && perm[b] === b) b++;
  if (b >= rank - 1) return undefined;
  const s = perm[b];
  for (let i = b; i < rank; i++) {
    const expected = i < b + rank - s ? s + (i - b) : b + (i - b - (rank - s));
    if (perm[i] !== expected) return undefined;
  }
  const size = (from: number, to: number) => shape.slice(from, to).reduce((x, y) => x * y, 1);
  return [size(0, b), size(b, s), size(s, rank)];
}

/** Writes `x[batch][rows][cols]` transposed into `out[batch][cols][rows]`. */
export function transposeMatrices(x: ArrayLike<number>, out: { [i: number]: number }, batch: number, rows: number, cols: number): void {
  const plane = rows * cols;
  for (let p = 0; p < batch; p++) {
    const base = p * plane;
    for (let i0 = 0; i0 < rows; i0 += TILE) {
      const i1 = Math.min(i0 + TILE, rows);
      for (let j0 = 0; j0 < cols; j0 += TILE) {
        const j1 = Math.min(j0 + TILE, cols);
        for (let i = i0; i < i1; i++) {
          const from = base + i * cols;
          for (let j = j0; j < j1; j++) out[base + j * rows + i] = x[from + j];
        }
      }
    }
  }
}

/** Replaces the wasm backend's Transpose with the tiled version for matrix-like permutations (idempotent). */
export function registerWasmTranspose(): void {
  replaceKernel('Transpose', 'wasm', (args, stock) => {
    const x = args.inputs.x!;
    const perm = (args.attrs as unknown as { perm: number[] }).perm;
    const dims = asMatrixTranspose(x.shape, perm);
    if (!dims || x.dtype === 'string' || x.dtype === 'complex64' || dims[0] * dims[1] * dims[2] === 0) {
      return stock(args);
    }
    const backend = WasmBackend.of(args.backend);
    const out = backend.output(perm.map((axis) => x.shape[axis]), x.dtype);
    // Views after the allocation, which may have grown (and so replaced) the heap.
    transposeMatrices(backend.view(x), backend.view(out), ...dims);
    return out;
  });
}
