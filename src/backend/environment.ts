/**
 * What this installation runs on: Node, the key package versions and the TensorFlow.js
 * backends. `finetune-lab env` prints it as JSON; the first notebook shows it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BackendInfo, BackendName, BackendProbe, cpuName, initBackend, probeBackends, type InitBackendOptions } from './select.js';

/** The packages whose versions decide how the course runs. */
export const KEY_PACKAGES = [
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-webgpu',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'webgpu',
  '@huggingface/tokenizers',
  'danfojs-node',
  'plotly.js-cartesian-dist-min',
  'tslab',
  'typescript',
] as const;

export interface EnvironmentReport {
  finetuneLab: string;
  node: string;
  platform: string;
  cpu: string;
  /** Installed version of each key package, or null when it is not installed. */
  packages: Record<string, string | null>;
  backends: Record<BackendName, BackendProbe>;
  /** The backend `initBackend` selects with the options given (the one in use, else the best available). */
  selected: BackendInfo;
}

/**
 * The version of an installed package, found the way `require` would find it. Reads package.json
 * directly because some packages (e.g. @huggingface/tokenizers) do not export it.
 */
export function packageVersion(name: string): string | null {
  for (const dir of require.resolve.paths(name) ?? []) {
    const file = path.join(dir, name, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      // An npm alias (package.json "overrides") installs another package under this name.
      return pkg.name === name ? pkg.version ?? null : `${pkg.name}@${pkg.version} (alias)`;
    }
  }
  return null;
}

/** Selects a backend with `options` (quietly), probes every backend, then reports versions and hardware. */
export async function describeEnvironment(options: InitBackendOptions = {}): Promise<EnvironmentReport> {
  // Selecting first lets `options.threads` size the wasm backend, which the first probe loads.
  const selected = await initBackend({ ...options, quiet: true });
  const backends = await probeBackends();
  return {
    finetuneLab: JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version,
    node: process.version,
    platform: `${process.platform} ${process.arch} (${os.release()})`,
    cpu: cpuName(),
    packages: Object.fromEntries(KEY_PACKAGES.map((name) => [name, packageVersion(name)])),
    backends,
    selected,
  };
}
