/**
 * Identity on the wasm backend as a shared reference to the same memory, as the cpu backend does.
 *
 * Why: tfjs' engine saves every input a gradient needs with an Identity (`engine.clone`), and
 * tfjs-backend-wasm's Identity copies the data. A training step therefore copied every weight
 * and activation it saved: at bert-base, batch 1, seq 128 that was 1.1 GB of the 3.7 GB peak, in
 * a wasm heap that cannot exceed 4 GB. Tensors are immutable (variables swap their data on
 * assign, and every kernel writes only to fresh outputs), so sharing is safe; the data is freed
 * when its last holder is disposed, as with Reshape.
 */
import { replaceKernel, WasmBackend } from '../tfjs-internals/index.js';

/** Replaces the wasm backend's Identity with a shared reference (idempotent). */
export function registerWasmIdentity(): void {
  replaceKernel('Identity', 'wasm', (args, stock) => {
    const x = args.inputs.x!;
    if (x.dtype === 'string') return stock(args);
    return WasmBackend.of(args.backend).share(x);
  });
}
