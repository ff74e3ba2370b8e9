// The randomized SVD of a sparse matrix against a dense SVD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import { mulberry32 } from '../src/data/random.js';
import { randomizedSvd, type CsrMatrix } from '../src/pretrain/index.js';

/** A sparse matrix from dense rows. */
function csr(dense: number[][]): CsrMatrix {
  const rowStart = new Uint32Array(dense.length + 1);
  const col: number[] = [];
  const value: number[] = [];
  dense.forEach((row, r) => {
    row.forEach((v, c) => { if (v !== 0) { col.push(c); value.push(v); } });
    rowStart[r + 1] = col.length;
  });
  return { rows: dense.length, cols: dense[0].length, rowStart, col: Uint32Array.from(col), value: Float32Array.from(value) };
}

test('randomized SVD: the leading singular values and vectors of a sparse matrix, as a dense SVD finds them', () => {
  // 60 x 40 of rank 12 (sparse factors), so oversampled power iteration recovers the top 6 to rounding.
  const random = mulberry32(1);
  const sparse = (n: number) => Array.from({ length: n }, () => (random() < 0.3 ? Math.round(8 * random()) - 4 : 0));
  const factors = Array.from({ length: 12 }, (_, i) => ({ u: sparse(60), v: sparse(40), w: 12 - i }));
  const dense = Array.from({ length: 60 }, (_, r) => Array.from({ length: 40 }, (_, c) => factors.reduce((s, f) => s + f.w * f.u[r] * f.v[c], 0)));
  const a = csr(dense);
  assert.ok(a.value.length < 0.8 * 60 * 40, `the matrix should be sparse: ${a.value.length} entries`);
  const exact = new SingularValueDecomposition(new Matrix(dense), { autoTranspose: true });
  const { u, s } = randomizedSvd(a, 6, { seed: 3 });
  assert.equal(s.length, 6);
  for (let i = 0; i < 6; i++) {
    assert.ok(Math.abs(s[i] - exact.diagonal[i]) < 1e-8 * exact.diagonal[0], `singular value ${i}: ${s[i]} vs ${exact.diagonal[i]}`);
    // The same vector up to sign.
    const dot = Array.from({ length: 60 }, (_, r) => u[r * 6 + i] * exact.leftSingularVectors.get(r, i)).reduce((x, y) => x + y, 0);
    assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-8, `left singular vector ${i}: |cos| ${Math.abs(dot)}`);
  }
  // A rank-12 matrix has 12 singular values, however many are asked for.
  assert.equal(randomizedSvd(a, 20, { seed: 3 }).s.length, 12);
});
