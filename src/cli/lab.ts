/**
 * `finetune-lab lab [JUPYTER ARGS...]`: opens the course in JupyterLab (or Jupyter Notebook when
 * JupyterLab is not installed) on 127.0.0.1, in notebooks/, with the finetune-lab kernel on
 * JUPYTER_PATH. `npm start` runs `node kernel-setup/setup.mjs` first, which registers the kernel.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import * as path from 'node:path';
import { JUPYTER_DATA_DIR, PROJECT_ROOT, readKernelSpec } from '../notebooks/kernelspec.js';

/** Debian's Python has Jupyter; a pyenv `python3` earlier on PATH usually does not (as in kernel-setup/setup.mjs). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export const usage = `Usage: finetune-lab lab [JUPYTER ARGS...]

Starts JupyterLab if ${PYTHON} can import it (or \`jupyter-lab\` is on PATH), else Jupyter Notebook,
listening on 127.0.0.1 with notebooks/ as its directory and the "TypeScript (finetune-lab)" kernel
available. Other arguments go to Jupyter, e.g.:

  finetune-lab lab --no-browser --port 8899

To use the kernel from your own JupyterLab instead, register it once with
  node kernel-setup/setup.mjs --user

  -h, --help  show this help`;

function succeeds(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/** The command that starts the best Jupyter front end installed here. */
function jupyterCommand(): { name: string; argv: string[] } {
  if (succeeds(PYTHON, ['-c', 'import jupyterlab'])) return { name: 'JupyterLab', argv: [PYTHON, '-m', 'jupyterlab'] };
  if (succeeds('jupyter-lab', ['--version'])) return { name: 'JupyterLab', argv: ['jupyter-lab'] };
  if (succeeds(PYTHON, ['-c', 'import notebook'])) return { name: 'Jupyter Notebook', argv: [PYTHON, '-m', 'notebook'] };
  throw new Error(`Neither JupyterLab nor Jupyter Notebook was found for ${PYTHON}. Install one (\`pip install jupyterlab\`, or on Debian/Ubuntu \`sudo apt-get install jupyter-notebook\`), or run \`node kernel-setup/setup.mjs\`, which says how.`);
}

export async function run(args: string[]): Promise<number> {
  readKernelSpec(); // fails with the setup command if the kernel is not registered yet
  const { name, argv } = jupyterCommand();
  const notebooks = path.join(PROJECT_ROOT, 'notebooks');
  const jupyterPath = [JUPYTER_DATA_DIR, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
  // The caller's arguments come last: for Jupyter's options the last one given wins.
  // Jupyter refuses to run as root unless told; root is the usual user in containers.
  const asRoot = process.getuid?.() === 0 ? ['--allow-root'] : [];
  const jupyterArgs = [...argv.slice(1), '--ip=127.0.0.1', `--notebook-dir=${notebooks}`, ...asRoot, ...args];
  console.log(`Starting ${name} in ${notebooks}; pick the kernel "TypeScript (finetune-lab)".`);
  const child = spawn(argv[0], jupyterArgs, { cwd: notebooks, stdio: 'inherit', env: { ...process.env, JUPYTER_PATH: jupyterPath } });
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
