/** Where the project's Jupyter kernel spec lives (written by `node kernel-setup/setup.mjs`) and how to read it. */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../package/root.js';

export const KERNEL_NAME = 'finetune-lab';
/** The Jupyter data directory holding the project-local kernel spec: put it on JUPYTER_PATH. */
export const JUPYTER_DATA_DIR = path.join(PROJECT_ROOT, '.kernel', 'share', 'jupyter');
export const KERNEL_SPEC_DIR = path.join(JUPYTER_DATA_DIR, 'kernels', KERNEL_NAME);

/** A Jupyter kernel spec (kernel.json). */
export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  env?: Record<string, string>;
}

export function readKernelSpec(dir: string = KERNEL_SPEC_DIR): KernelSpec {
  const file = path.join(dir, 'kernel.json');
  if (!existsSync(file)) {
    throw new Error(`The Jupyter kernel spec ${file} is missing: run \`node kernel-setup/setup.mjs\` in ${PROJECT_ROOT} first.`);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as KernelSpec;
}
