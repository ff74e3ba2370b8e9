/**
 * Assembles simd.wat into simd-binaries.ts with binaryen, in two variants: for tfjs-backend-wasm's
 * plain memory and for the shared memory of its threaded build (an imported memory must match
 * in sharing).
 * The binaries are committed so that nothing assembles at run time; tests/kernels.test.ts checks
 * that they are this source's. After editing simd.wat: `npx tsx src/backend/kernels/assemble-wat.ts`.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../files/atomic.js';
import { join } from 'node:path';

const WAT = join(__dirname, 'simd.wat');
const OUT = join(__dirname, 'simd-binaries.ts');

/**
 * The two binaries of simd.wat (base64), optimized by binaryen with its helper functions inlined:
 * V8 does not inline wasm calls, and the calls made the loops 1.7 times slower.
 */
export async function assembleSimd(): Promise<{ plain: string; shared: string }> {
  const { default: binaryen } = await import('binaryen');
  const source = readFileSync(WAT, 'utf8');
  const assemble = (sharing: string) => {
    const module = binaryen.parseText(source.replace('MEMORY_SHARING', sharing));
    try {
      // What Node 20 (V8 11.3) runs without flags, and the optimizer may use.
      module.setFeatures(binaryen.Features.SIMD128 | binaryen.Features.Atomics | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt | binaryen.Features.SignExt | binaryen.Features.NontrappingFPToInt | binaryen.Features.MutableGlobals);
      if (!module.validate()) throw new Error('simd.wat does not validate');
      binaryen.setOptimizeLevel(3);
      binaryen.setShrinkLevel(0);
      binaryen.setFlexibleInlineMaxSize(1000);
      module.optimize();
      return Buffer.from(module.emitBinary()).toString('base64');
    } finally {
      module.dispose();
    }
  };
  return { plain: assemble(''), shared: assemble('shared') };
}

/** simd-binaries.ts for the given binaries. */
export function simdModuleSource({ plain, shared }: { plain: string; shared: string }): string {
  return `// Generated from simd.wat by assemble-wat.ts; do not edit.
/** simd.wat assembled for an unshared memory (base64). */
export const SIMD_WASM = '${plain}';
/** simd.wat assembled for a shared memory (tfjs' threaded build; base64). */
export const SIMD_WASM_SHARED = '${shared}';
`;
}

if (require.main === module) {
  assembleSimd().then((binaries) => writeFileAtomic(OUT, simdModuleSource(binaries)));
}
