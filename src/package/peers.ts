/**
 * The packages only some uses need: danfojs-node (the notebooks' data frames), tslab (their
 * kernel, and `plot()`/`table()` in it), zeromq (the notebook runner) and onnxruntime-node
 * (running exported ONNX files; 288 MB, every platform's binaries) and @huggingface/transformers
 * (transformers.js: notebook 08 and the report's browser page; it brings onnxruntime-web, 144 MB,
 * and sharp). They are optional peer
 * dependencies: the course's own `npm ci` installs them, a project that depends on finetune-lab
 * does not get them. danfojs-node in particular installs offline only with this package's
 * `overrides` (its own dependencies are TensorFlow.js 3's native build, which downloads
 * libtensorflow, and a spreadsheet reader from a CDN), and npm reads `overrides` only in the
 * project being installed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './root.js';

export type OptionalPeer = 'danfojs-node' | 'tslab' | 'zeromq' | 'onnxruntime-node' | '@huggingface/transformers';

/** Whether an optional peer is installed (without loading it). */
export function peerInstalled(name: OptionalPeer): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** Loads an optional peer for `user` (what needs it), or says how to install it. */
export function optionalPeer<T>(name: OptionalPeer, user: string): T {
  return require(peerPath(name, user)) as T;
}

/** The path of an optional peer's file (`name`, or a file its exports name, e.g. `onnxruntime-web/ort-wasm-simd-threaded.wasm`), or says how to install it. */
export function peerPath(name: OptionalPeer, user: string, file = name as string): string {
  try {
    return require.resolve(file);
  } catch {
    throw new Error(missing(name, user));
  }
}

function missing(name: OptionalPeer, user: string): string {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    peerDependencies: Record<string, string>;
    overrides: Record<string, string>;
  };
  const install = `npm install ${name}@${pkg.peerDependencies[name]}`;
  const overrides = name === 'danfojs-node'
    ? `, with "overrides": ${JSON.stringify(pkg.overrides)} in your package.json first (else its install fetches a CDN tarball and TensorFlow.js 3)`
    : '';
  return `${user} needs ${name}, which finetune-lab leaves to the projects that use it (the course's own npm ci installs it): run \`${install}\`${overrides}`;
}
