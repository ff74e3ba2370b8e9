/**
 * Assembles gelu.wat into gelu-wasm.ts, in two variants: for tfjs-backend-wasm's plain memory
 * and for the shared memory of its threaded build (an imported memory must match in sharing).
 * The binaries are committed so that nothing assembles at run time; tests/kernels.test.ts checks
 * that they are this source's. After editing gelu.wat: `npx tsx src/backend/kernels/assemble-wat.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const WAT = join(__dirname, 'gelu.wat');
const OUT = join(__dirname, 'gelu-wasm.ts');

/** The two binaries of gelu.wat, base64. */
export async function assembleGelu(): Promise<{ plain: string; shared: string }> {
  const wabt = await (require('wabt') as () => Promise<{ parseWat(name: string, text: string, features: object): { validate(features: object): void; toBinary(options: object): { buffer: Uint8Array }; destroy(): void } }>)();
  const source = readFileSync(WAT, 'utf8');
  const assemble = (sharing: string) => {
    const features = { simd: true, threads: true };
    const module = wabt.parseWat('gelu.wat', source.replace('MEMORY_SHARING', sharing), features);
    try {
      module.validate(features);
      return Buffer.from(module.toBinary({}).buffer).toString('base64');
    } finally {
      module.destroy();
    }
  };
  return { plain: assemble(''), shared: assemble('shared') };
}

/** gelu-wasm.ts for the given binaries. */
export function geluModuleSource({ plain, shared }: { plain: string; shared: string }): string {
  return `// Generated from gelu.wat by assemble-wat.ts; do not edit.
/** gelu.wat assembled for an unshared memory (base64). */
export const GELU_WASM = '${plain}';
/** gelu.wat assembled for a shared memory (tfjs' threaded build; base64). */
export const GELU_WASM_SHARED = '${shared}';
`;
}

if (require.main === module) {
  assembleGelu().then((binaries) => writeFileSync(OUT, geluModuleSource(binaries)));
}
