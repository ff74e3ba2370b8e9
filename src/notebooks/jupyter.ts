/**
 * The user's own Jupyter on this machine: the Python that has it, the front end to start
 * (JupyterLab wherever it was installed, else the classic Notebook), and signing notebooks as
 * trusted the way `jupyter trust` does.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Debian's Python, which has Jupyter; a pyenv `python3` earlier on PATH usually does not (as in kernel-setup/system.mjs). */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface JupyterFrontEnd {
  name: 'JupyterLab' | 'Jupyter Notebook';
  /** The command that starts it; Jupyter's options follow. */
  argv: string[];
}

/**
 * The `jupyter-lab` commands to try, in order: the active virtual environment's, the one on PATH,
 * and pipx's (`pipx install jupyterlab` puts it in ~/.local/bin, which is often not on PATH).
 */
export function jupyterLabCommands(env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string[] {
  return [
    ...(env.VIRTUAL_ENV ? [path.join(env.VIRTUAL_ENV, 'bin', 'jupyter-lab')] : []),
    'jupyter-lab',
    path.join(home, '.local', 'bin', 'jupyter-lab'),
  ];
}

function succeeds(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/**
 * The best Jupyter front end installed here: JupyterLab in PYTHON (Debian 13's `jupyterlab`
 * package), in a virtual environment, on PATH or from pipx, else the classic Notebook in PYTHON
 * (Debian 12's `jupyter-notebook`).
 */
export function findJupyterFrontEnd(): JupyterFrontEnd {
  if (succeeds(PYTHON, ['-c', 'import jupyterlab'])) return { name: 'JupyterLab', argv: [PYTHON, '-m', 'jupyterlab'] };
  const lab = jupyterLabCommands().find((command) => succeeds(command, ['--version']));
  if (lab) return { name: 'JupyterLab', argv: [lab] };
  if (succeeds(PYTHON, ['-c', 'import notebook'])) return { name: 'Jupyter Notebook', argv: [PYTHON, '-m', 'notebook'] };
  throw new Error(
    `Neither JupyterLab nor Jupyter Notebook was found (looked in ${PYTHON}, ${jupyterLabCommands().join(', ')}). ` +
      'Install JupyterLab with `pipx install jupyterlab` (Debian 12 refuses `pip install` into the system Python) or in a virtual environment, ' +
      'or `sudo apt-get install jupyterlab` on Debian 13; or the classic Notebook on Debian 12: `sudo apt-get install jupyter-notebook` ' +
      '(`node kernel-setup/setup.mjs` installs it when run as root).',
  );
}

/**
 * Signs `file` as trusted for this user's Jupyter, as `jupyter trust FILE` does: nbformat's notary
 * records its signature (an HMAC over the notebook with the key in Jupyter's data directory) in
 * that directory's nbsignatures.db. Jupyter shows a trusted notebook's HTML and script outputs,
 * its charts among them, when it opens; an untrusted one's only once re-run or trusted by hand.
 * Throws, naming the fix, where PYTHON has no nbformat.
 */
export function trustNotebook(file: string): void {
  const run = spawnSync(PYTHON, ['-m', 'nbformat.sign', file], { encoding: 'utf8' });
  if (run.status !== 0) {
    const why = (run.error?.message ?? run.stderr).trim().split('\n').pop();
    throw new Error(`could not sign ${file} as trusted with ${PYTHON} -m nbformat.sign (${why}); install Jupyter (\`node kernel-setup/setup.mjs\` says how), or choose File > Trust Notebook when you open it`);
  }
}
