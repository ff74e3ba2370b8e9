/** Runs Debian's `jupyter nbconvert --to notebook --execute` on the finetune-lab kernel: a Jupyter client nobody here wrote. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PYTHON } from '../../kernel-setup/system.mjs';
import type { Notebook } from '../../src/notebooks/notebook.js';
import { JUPYTER_DATA_DIR } from '../../src/notebooks/kernelspec.js';

const ROOT = path.resolve(__dirname, '..', '..');

/** Executes `notebook` (relative to the project root) into `outDir` with this environment plus `env`. */
export function nbconvert(notebook: string, outDir: string, env: NodeJS.ProcessEnv = {}): { status: number | null; output: string; executed: () => Notebook } {
  const run = spawnSync(PYTHON, ['-m', 'nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.kernel_name=finetune-lab', '--output-dir', outDir, notebook], {
    cwd: ROOT,
    env: { ...process.env, JUPYTER_PATH: JUPYTER_DATA_DIR, ...env },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return {
    status: run.status,
    output: run.stdout + run.stderr,
    executed: () => JSON.parse(readFileSync(path.join(outDir, path.basename(notebook)), 'utf8')) as Notebook,
  };
}
