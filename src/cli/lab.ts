/**
 * `finetune-lab lab [JUPYTER ARGS...]`: opens the course in JupyterLab (or Jupyter Notebook when
 * JupyterLab is not installed) on 127.0.0.1, in notebooks/, with the finetune-lab kernel on
 * JUPYTER_PATH. `npm start` runs `node kernel-setup/setup.mjs` first, which registers the kernel.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import * as path from 'node:path';
import { findJupyterFrontEnd, jupyterLabCommands, PYTHON } from '../notebooks/jupyter.js';
import { JUPYTER_DATA_DIR, PROJECT_ROOT, readKernelSpec } from '../notebooks/kernelspec.js';

export const usage = `Usage: finetune-lab lab [JUPYTER ARGS...]

Starts JupyterLab if it is installed (${PYTHON} can import it, or one of
${jupyterLabCommands().join(', ')} runs), else Jupyter Notebook, listening on 127.0.0.1 with
notebooks/ as its directory (or the one given with --notebook-dir) and the "TypeScript (finetune-lab)"
kernel available. Other arguments go to Jupyter, e.g.:

  finetune-lab lab --no-browser --port 8899
  finetune-lab lab --notebook-dir build/notebooks    # the notebooks \`npm run tutorial\` executed

JupyterLab on Debian 12: \`pipx install jupyterlab\` or a virtual environment (see environment.md).
To use the kernel from your own JupyterLab instead, register it once with
  node kernel-setup/setup.mjs --user

  -h, --help  show this help`;

export async function run(args: string[]): Promise<number> {
  readKernelSpec(); // fails with the setup command if the kernel is not registered yet
  const { name, argv } = findJupyterFrontEnd();
  const jupyterPath = [JUPYTER_DATA_DIR, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
  // Jupyter refuses a second directory option; one of the caller's (e.g. to open build/notebooks)
  // replaces notebooks/ and is taken relative to where they are.
  const ownDir = args.some((a) => /^--(notebook-dir|NotebookApp\.notebook_dir|ServerApp\.root_dir)(=|$)/.test(a));
  const notebooks = path.join(PROJECT_ROOT, 'notebooks');
  // The caller's arguments come last: for Jupyter's other options the last one given wins.
  // Jupyter refuses to run as root unless told; root is the usual user in containers.
  const asRoot = process.getuid?.() === 0 ? ['--allow-root'] : [];
  const jupyterArgs = [...argv.slice(1), '--ip=127.0.0.1', ...(ownDir ? [] : [`--notebook-dir=${notebooks}`]), ...asRoot, ...args];
  const cwd = ownDir ? process.cwd() : notebooks;
  console.log(`Starting ${name}${ownDir ? '' : ` in ${notebooks}`}; pick the kernel "TypeScript (finetune-lab)".`);
  const child = spawn(argv[0], jupyterArgs, { cwd, stdio: 'inherit', env: { ...process.env, JUPYTER_PATH: jupyterPath } });
  // Ctrl-C reaches Jupyter directly (same terminal), which asks for confirmation or stops: wait for it.
  const onSignal = (signal: NodeJS.Signals) => { if (signal !== 'SIGINT') child.kill(signal); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
