/**
 * OpenBLAS's sgemm for the wasm backend's matrix products, called through the koffi FFI on the
 * wasm heap itself.
 *
 * Why: the products are most of a training step (pretraining bert-tiny: about 1,500 of 1,860 ms of
 * kernel time), and XNNPACK's wasm GEMM has 128-bit SIMD and no fused multiply-add, while OpenBLAS
 * (a well-kept library, Debian's `libopenblas0-pthread`) picks AVX2/AVX-512 kernels with FMA for
 * the CPU at run time. It also multiplies transposed operands natively, so no product needs an
 * explicit transpose.
 *
 * No copies: koffi passes a typed array's data pointer, byteOffset included, for a `float *`
 * (checked for the unshared and the shared memory of both wasm builds), so sgemm reads and writes
 * the tensors where they lie. Views are taken at each call, as the heap may have grown (and moved)
 * since the last. Where the library cannot be loaded (another OS, not installed), the products stay
 * on XNNPACK: `useBlas` says why, for the backend's one-line description.
 */

/** Debian's package that provides the library, for the messages that say how to install it. */
export const BLAS_PACKAGE = 'libopenblas0-pthread';

/** The shared library's name where the dynamic loader finds it without a path, per OS. */
export const DEFAULT_BLAS_LIBRARY: string | undefined = ({ linux: 'libopenblas.so.0' } as Partial<Record<NodeJS.Platform, string>>)[process.platform];

// cblas.h's enums.
const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

type Sgemm = (order: number, transA: number, transB: number, m: number, n: number, k: number, alpha: number, a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number) => void;

interface Blas {
  sgemm: Sgemm;
  /** e.g. "OpenBLAS 0.3.21 (SkylakeX kernels, 2 threads)". */
  description: string;
}

let active: Blas | undefined;

/** How the wasm backend multiplies matrices now: OpenBLAS's description, or XNNPACK and why. */
export interface ProductsEngine {
  blas: boolean;
  description: string;
}

/**
 * Makes the wasm products run on OpenBLAS loaded from `library` (a name the dynamic loader finds, or
 * a path) with `threads` threads, or on XNNPACK where `library` is null or cannot be loaded. The
 * thread count is OpenBLAS's for the whole process. Fixed counts keep products bit-identical from
 * run to run (OpenBLAS splits a product the same way for the same shape and count).
 */
export function useBlas(library: string | null | undefined, threads: number): ProductsEngine {
  active = undefined;
  if (!library) {
    const why = library === null ? 'OpenBLAS turned off' : `no OpenBLAS library is known for ${process.platform}; pass its path as the blas option`;
    return { blas: false, description: `matrix products on XNNPACK (${why})` };
  }
  try {
    const lib = require('koffi').load(library);
    lib.func('void openblas_set_num_threads(int)')(threads);
    const corename = lib.func('const char *openblas_get_corename()')() as string;
    const version = (lib.func('const char *openblas_get_config()')() as string).split(' ').slice(0, 2).join(' ');
    const sgemm = lib.func('void cblas_sgemm(int, int, int, int, int, int, float, float *, int, float *, int, float, float *, int)') as Sgemm;
    active = { sgemm, description: `${version} (${corename} kernels, ${threads === 1 ? '1 thread' : `${threads} threads`})` };
    return { blas: true, description: `matrix products on ${active.description}` };
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { blas: false, description: `matrix products on XNNPACK: OpenBLAS could not be loaded from ${library} (${why}); \`sudo apt-get install ${BLAS_PACKAGE}\` makes them 2 to 3 times faster` };
  }
}

/** Whether products run on OpenBLAS now. */
export function blasActive(): boolean {
  return active !== undefined;
}

/**
 * `c = op(a) @ op(b) + beta c` for each of `batch` row-major matrices lying one after another at the
 * byte offsets `at` = [a, b, c] of `memory`; op(a) is [m, k] and op(b) [k, n]. Needs `blasActive()`.
 */
export function sgemm(memory: WebAssembly.Memory, at: number[], batch: number, m: number, k: number, n: number, transposeA: boolean, transposeB: boolean, beta: number): void {
  const [sizeA, sizeB, sizeC] = [m * k, k * n, m * n];
  const heap = memory.buffer;
  const [a, b, c] = [new Float32Array(heap, at[0], batch * sizeA), new Float32Array(heap, at[1], batch * sizeB), new Float32Array(heap, at[2], batch * sizeC)];
  const [ta, tb] = [transposeA ? TRANS : NO_TRANS, transposeB ? TRANS : NO_TRANS];
  const [lda, ldb] = [transposeA ? m : k, transposeB ? k : n];
  const run = active!.sgemm;
  // OpenBLAS 0.3.21 has no cblas_sgemm_batch.
  for (let i = 0; i < batch; i++) {
    run(ROW_MAJOR, ta, tb, m, n, k, 1, a.subarray(i * sizeA, (i + 1) * sizeA), lda, b.subarray(i * sizeB, (i + 1) * sizeB), ldb, beta, c.subarray(i * sizeC, (i + 1) * sizeC), n);
  }
}
