/**
 * The leading singular vectors of a large sparse matrix by randomized SVD (Halko, Martinsson and
 * Tropp 2011, "Finding structure with randomness", algorithms 4.4 and 5.1): the matrix is only
 * ever multiplied by thin dense blocks, so a 30,000 x 30,000 matrix with tens of millions of
 * entries needs tens of megabytes, not the 7 GB of its dense form.
 *
 * The sparse products and the tall dense blocks are written here (flat row-major Float64Arrays,
 * whose inner loops V8 compiles well); the small `l x l` eigenproblems go to ml-matrix. Its QR of
 * a tall 30,000 x 266 block took two minutes here, so tall blocks are orthonormalised through
 * their small Gram matrix instead (fine in float64 for the condition numbers power iteration
 * leaves, about the ratio of the largest to the l-th singular value).
 */
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { mulberry32 } from '../data/random.js';

/** A sparse matrix in compressed sparse row form: row r's entries are `rowStart[r] .. rowStart[r + 1] - 1`. */
export interface CsrMatrix {
  rows: number;
  cols: number;
  rowStart: Uint32Array;
  col: Uint32Array;
  value: Float32Array;
}

/** A dense row-major `rows x cols` block. */
interface Block {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** `A X` for X `A.cols x w`, or with `transpose` `A^T X` for X `A.rows x w`. */
function times(a: CsrMatrix, x: Block, transpose = false): Block {
  const w = x.cols;
  const rows = transpose ? a.cols : a.rows;
  const out = new Float64Array(rows * w);
  for (let r = 0; r < a.rows; r++) {
    for (let e = a.rowStart[r]; e < a.rowStart[r + 1]; e++) {
      const v = a.value[e];
      const o = (transpose ? a.col[e] : r) * w;
      const xi = (transpose ? r : a.col[e]) * w;
      for (let k = 0; k < w; k++) out[o + k] += v * x.data[xi + k];
    }
  }
  return { rows, cols: w, data: out };
}

/** `Y^T Y`, as an ml-matrix. */
function gram(y: Block): Matrix {
  const w = y.cols;
  const g = new Float64Array(w * w);
  for (let r = 0; r < y.rows; r++) {
    const o = r * w;
    for (let i = 0; i < w; i++) {
      const yi = y.data[o + i];
      if (yi === 0) continue;
      const gi = i * w;
      for (let j = i; j < w; j++) g[gi + j] += yi * y.data[o + j];
    }
  }
  for (let i = 0; i < w; i++) for (let j = 0; j < i; j++) g[i * w + j] = g[j * w + i];
  return Matrix.from1DArray(w, w, g);
}

/** `Y M` for a small `M` (Y.cols x m.columns). */
function timesSmall(y: Block, m: Matrix): Block {
  const w = y.cols;
  const c = m.columns;
  const flat = Float64Array.from(m.to1DArray());
  const out = new Float64Array(y.rows * c);
  for (let r = 0; r < y.rows; r++) {
    const o = r * c;
    for (let i = 0; i < w; i++) {
      const yi = y.data[r * w + i];
      if (yi === 0) continue;
      const mi = i * c;
      for (let j = 0; j < c; j++) out[o + j] += yi * flat[mi + j];
    }
  }
  return { rows: y.rows, cols: c, data: out };
}

/** The eigenpairs of a symmetric matrix, largest eigenvalue first. */
function symmetricEigen(g: Matrix): { values: number[]; vectors: Matrix } {
  const evd = new EigenvalueDecomposition(g, { assumeSymmetric: true });
  const order = evd.realEigenvalues.map((_, i) => i).sort((i, j) => evd.realEigenvalues[j] - evd.realEigenvalues[i]);
  return { values: order.map((i) => evd.realEigenvalues[i]), vectors: evd.eigenvectorMatrix.subMatrixColumn(order) };
}

/**
 * An orthonormal basis of Y's columns: with `Y^T Y = V L V^T`, `Q = Y V L^(-1/2)`. Directions
 * with no weight (eigenvalues below 1e-12 of the largest) are dropped, so Q may be narrower.
 */
function orthonormalize(y: Block): Block {
  const { values, vectors } = symmetricEigen(gram(y));
  const keep = values.filter((v) => v > values[0] * 1e-12).length;
  const m = vectors.subMatrix(0, y.cols - 1, 0, keep - 1);
  for (let j = 0; j < keep; j++) m.mulColumn(j, 1 / Math.sqrt(values[j]));
  return timesSmall(y, m);
}

/** A `rows x cols` block of independent standard normal numbers (Box-Muller), fixed by `seed`. */
function gaussianBlock(rows: number, cols: number, seed: number): Block {
  const random = mulberry32(seed);
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < data.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    data[i] = radius * Math.cos(angle);
    if (i + 1 < data.length) data[i + 1] = radius * Math.sin(angle);
  }
  return { rows, cols, data };
}

export interface RandomizedSvdOptions {
  /** Extra random directions beyond `rank` (Halko et al.'s p). Default 10. */
  oversampling?: number;
  /** Passes of `A A^T` that sharpen a slowly decaying spectrum (Halko et al.'s q). Default 3. */
  powerIterations?: number;
  /** Seed of the random test matrix. Default 0. */
  seed?: number;
}

/** The leading left singular vectors and singular values of a sparse matrix. */
export interface TruncatedSvd {
  /** Row-major `a.rows x rank`: column i is the i-th left singular vector. */
  u: Float64Array;
  /** The singular values, largest first; fewer than asked when the matrix has lower rank. */
  s: Float64Array;
}

/** The top `rank` singular triplets' left half of `a` (A ~ U S V^T), deterministic for a seed. */
export function randomizedSvd(a: CsrMatrix, rank: number, options: RandomizedSvdOptions = {}): TruncatedSvd {
  const { oversampling = 10, powerIterations = 3, seed = 0 } = options;
  const width = Math.min(rank + oversampling, a.rows, a.cols);
  // The range of A, sharpened: Q spans (A A^T)^q A Omega, orthonormalised after every product.
  let q = orthonormalize(times(a, gaussianBlock(a.cols, width, seed)));
  for (let i = 0; i < powerIterations; i++) q = orthonormalize(times(a, orthonormalize(times(a, q, true))));
  // B = Q^T A is small (l x cols): its left singular vectors W are the eigenvectors of B B^T = Z^T Z, Z = A^T Q; U = Q W.
  const { values, vectors } = symmetricEigen(gram(times(a, q, true)));
  const k = Math.min(rank, values.filter((v) => v > values[0] * 1e-12).length);
  const u = timesSmall(q, vectors.subMatrix(0, q.cols - 1, 0, k - 1));
  return { u: u.data, s: Float64Array.from(values.slice(0, k), Math.sqrt) };
}
