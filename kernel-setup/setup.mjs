#!/usr/bin/env node
// Prepares a machine to run the notebooks: installs the npm dependencies if needed, builds the
// library, links it as the package `finetune-lab` so that notebooks can `import ... from "finetune-lab"`,
// registers the tslab kernel, and checks (or, on Debian/Ubuntu as root, installs) what the machine
// itself must provide (kernel-setup/system.mjs): Jupyter and OpenBLAS, and for the tests also Chromium,
// Jupyter's kernel test suite and a WebGPU adapter.
//
//   node kernel-setup/setup.mjs              for the tutorial and `npm start`: fails if Jupyter is missing (OpenBLAS: only says so)
//   node kernel-setup/setup.mjs --for tests  for `npm test`: lists what is missing, and the tests that need it fail
//   node kernel-setup/setup.mjs --user       also register the kernel for your own JupyterLab (~/.local/share/jupyter)
//   node kernel-setup/setup.mjs --check      only report what is missing, change nothing
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, readFileSync, symlinkSync, lstatSync, readlinkSync, rmSync, statSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { homedir } from 'node:os';
import { parseArgs } from 'node:util';
import { ensureSystem } from './system.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const KERNEL_NAME = 'finetune-lab';
/** Where the project-local kernel spec lives; point JUPYTER_PATH here. */
export const JUPYTER_PATH = join(ROOT, '.kernel', 'share', 'jupyter');

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

/**
 * Sets the project up for `purpose` ('tutorial' or 'tests'). A missing system piece fails the
 * tutorial's set-up; for the tests it is reported once, and the tests that need it fail.
 */
export function setup({ user = false, checkOnly = false, purpose = 'tutorial' } = {}) {
  if (checkOnly) {
    // Jupyter and the WebGPU adapter are checked through the built library, as it will find them.
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) console.log('[setup] the library is not built yet (dist/): Jupyter and the WebGPU adapter will read as missing');
    const missing = ensureSystem(purpose, { checkOnly });
    console.log(missing ? `[setup] ${missing.message}` : `[setup] nothing is missing for the ${purpose}`);
    return;
  }
  ensureInstalled();
  ensureBuilt();
  ensureSelfLink();
  const local = writeKernelSpec(join(JUPYTER_PATH, 'kernels'));
  if (user) {
    const dir = writeKernelSpec(userKernelsDir());
    console.log(`[setup] registered kernel "${KERNEL_NAME}" for your own Jupyter in ${dir}`);
  }
  const missing = ensureSystem(purpose);
  if (missing?.required && purpose === 'tutorial') throw new Error(missing.message);
  if (missing) console.error(`[setup] ${missing.message}\n${purpose === 'tutorial' ? 'The course runs without it, more slowly.' : 'Until then, the tests that need a missing piece fail, naming it.'}`);
  return local;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const { values } = parseArgs({ options: { for: { type: 'string', default: 'tutorial' }, user: { type: 'boolean' }, check: { type: 'boolean' } } });
    setup({ user: values.user, checkOnly: values.check, purpose: values.for });
  } catch (err) {
    console.error(`[setup] ${err.message}`);
    process.exit(1);
  }
}
