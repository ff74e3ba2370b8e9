#!/usr/bin/env node
// Prepares a machine to run the notebooks: checks (or, on Debian/Ubuntu as root, installs) Jupyter,
// installs the npm dependencies if needed, builds the library, links it as the package `finetune-lab` so that notebooks can
// `import ... from "finetune-lab"`, and registers the tslab kernel.
//
//   node kernel-setup/setup.mjs            project-local kernel in .kernel/ (used by tests, npm start, npm run tutorial)
//   node kernel-setup/setup.mjs --user     also register it for your own JupyterLab (~/.local/share/jupyter)
//   node kernel-setup/setup.mjs --check    only report what is missing, change nothing
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, readFileSync, symlinkSync, lstatSync, readlinkSync, rmSync, statSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { homedir } from 'node:os';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const KERNEL_NAME = 'finetune-lab';
/** Where the project-local kernel spec lives; point JUPYTER_PATH here. */
export const JUPYTER_PATH = join(ROOT, '.kernel', 'share', 'jupyter');
/** Debian's Python, which has Jupyter; a pyenv `python3` earlier on PATH usually does not. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const DEBIAN_PACKAGES = ['jupyter-notebook', 'jupyter-nbconvert', 'python3-nbclient', 'python3-jupyter-kernel-test'];

function hasJupyter() {
  return spawnSync(PYTHON, ['-c', 'import notebook, jupyter_client, nbformat'], { stdio: 'ignore' }).status === 0;
}

function isDebianLike() {
  return existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get');
}

function ensureJupyter(checkOnly) {
  if (hasJupyter()) return;
  const apt = `apt-get install -y ${DEBIAN_PACKAGES.join(' ')}`;
  if (isDebianLike() && process.getuid?.() === 0 && !checkOnly) {
    console.log(`[setup] Jupyter is missing; installing Debian's packages: ${apt}`);
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', ...DEBIAN_PACKAGES], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (hasJupyter()) return;
  }
  const how = isDebianLike()
    ? `On Debian/Ubuntu run:  sudo ${apt}\nor, with pip:          pip install jupyterlab`
    : 'Install it with:       pip install jupyterlab   (then make sure `python3 -c "import notebook"` works)';
  throw new Error(`Jupyter was not found for ${PYTHON} (the notebooks need jupyter_client, nbformat and notebook).\n${how}`);
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Installs the npm dependencies (`npm ci`) when node_modules is missing or older than the lock file. */
function ensureInstalled() {
  const installed = join(ROOT, 'node_modules', '.package-lock.json');
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(join(ROOT, 'package-lock.json')).mtimeMs) return;
  console.log('[setup] installing the npm dependencies (npm ci)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit' });
}

/** Rebuilds dist/ (`npm run build`) when any source file is newer than the last build. */
function ensureBuilt() {
  const stamp = join(ROOT, 'dist', 'index.js');
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  console.log('[setup] building the library (npm run build)');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/** node_modules/finetune-lab -> .. so that notebooks import the library by its package name. */
function ensureSelfLink() {
  const link = join(ROOT, 'node_modules', KERNEL_NAME);
  try {
    if (lstatSync(link).isSymbolicLink() && resolve(dirname(link), readlinkSync(link)) === ROOT) return;
    rmSync(link, { recursive: true, force: true });
  } catch { /* not there yet */ }
  symlinkSync(relative(dirname(link), ROOT) || '.', link, 'dir');
}

export function kernelSpec() {
  return {
    // kernel.cjs is tslab's kernel with its error replies and other protocol gaps fixed.
    argv: [process.execPath, join(ROOT, 'kernel-setup', 'kernel.cjs'), '--config-path', '{connection_file}'],
    display_name: 'TypeScript (finetune-lab)',
    language: 'typescript',
    metadata: { project: ROOT },
  };
}

function writeKernelSpec(kernelsDir) {
  const dir = join(kernelsDir, KERNEL_NAME);
  mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(kernelSpec(), null, 2) + '\n';
  const file = join(dir, 'kernel.json');
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
  return dir;
}

function userKernelsDir() {
  const data = process.env.JUPYTER_DATA_DIR || join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'jupyter');
  return join(data, 'kernels');
}

export function setup({ user = false, checkOnly = false } = {}) {
  ensureJupyter(checkOnly);
  if (checkOnly) return;
  ensureInstalled();
  ensureBuilt();
  ensureSelfLink();
  const local = writeKernelSpec(join(JUPYTER_PATH, 'kernels'));
  if (user) {
    const dir = writeKernelSpec(userKernelsDir());
    console.log(`[setup] registered kernel "${KERNEL_NAME}" for your own Jupyter in ${dir}`);
  }
  return local;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = new Set(process.argv.slice(2));
  try {
    setup({ user: args.has('--user'), checkOnly: args.has('--check') });
  } catch (err) {
    console.error(`[setup] ${err.message}`);
    process.exit(1);
  }
}
