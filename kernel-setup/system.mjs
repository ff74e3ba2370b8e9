// What the machine itself must provide, beyond the npm packages, for each purpose: the tutorial
// (and `npm start`) needs a Jupyter to open the notebooks in; the tests need Jupyter in Debian's
// Python, its kernel test suite, the ONNX checker, Chromium and a WebGPU adapter for Dawn. Each piece knows how to check itself and which Debian/Ubuntu
// packages install it. `ensureSystem` installs what is missing when it may (Debian/Ubuntu, root),
// and otherwise returns one message listing every missing piece with its install command;
// `requireSystem` makes a test that needs a missing piece fail with that piece's line.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Debian's Python, which has Jupyter; a pyenv `python3` earlier on PATH usually does not. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
/** The Chromium the tests drive (playwright-core launches it; it downloads no browser of its own). */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const BACKPORTS = 'bookworm-backports';
const BACKPORTS_LIST = `/etc/apt/sources.list.d/${BACKPORTS}.list`;
const BACKPORTS_LINE = `deb http://deb.debian.org/debian ${BACKPORTS} main`;

/** The Python modules of `modules` that PYTHON cannot find. */
function missingModules(modules) {
  const run = spawnSync(PYTHON, ['-c', 'import importlib.util, sys; print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))', ...modules], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim().split(/\s+/).filter(Boolean) : modules;
}

/** Whether `script` exits 0 when run against the built library (dist/ must be built). */
function libraryAgrees(script) {
  return spawnSync(process.execPath, ['-e', script], { cwd: ROOT, stdio: 'ignore', timeout: 60_000 }).status === 0;
}

function osRelease() {
  try {
    return Object.fromEntries(readFileSync('/etc/os-release', 'utf8').split('\n').map((l) => l.match(/^(\w+)="?([^"]*)"?$/)).filter(Boolean).map((m) => [m[1], m[2]]));
  } catch {
    return {};
  }
}

const DEBIAN_LIKE = existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get');
/** Debian 12, whose own Mesa (22.3) is too old for Dawn: Mesa comes from its backports. */
const BOOKWORM = osRelease().VERSION_CODENAME === 'bookworm';

/**
 * The pieces. `apt`: the Debian/Ubuntu packages; `backports`: on Debian 12 they come from
 * bookworm-backports; `elsewhere`: how to get the piece without apt; `optional`: the library
 * works without it (more slowly), so its absence fails no set-up.
 */
export const PIECES = {
  // What `npm start` opens: JupyterLab wherever it was installed, or the classic Notebook (src/jupyter/jupyter.ts).
  jupyter: {
    what: 'Jupyter (JupyterLab, or the classic Notebook)',
    present: () => libraryAgrees("require('./dist/jupyter/jupyter.js').findJupyterFrontEnd()"),
    apt: ['jupyter-notebook', 'jupyter-nbconvert', 'python3-nbclient'],
    elsewhere: 'pipx install jupyterlab (or `pip install jupyterlab` in a virtual environment; see environment.md)',
  },
  // What the tests drive: the classic Notebook's page, nbconvert and nbclient, in PYTHON.
  'python-jupyter': {
    what: `Jupyter for ${PYTHON} (notebook, nbconvert, nbclient)`,
    present: () => missingModules(['notebook', 'nbconvert', 'nbclient', 'jupyter_client', 'nbformat']).length === 0,
    apt: ['jupyter-notebook', 'jupyter-nbconvert', 'python3-nbclient'],
    elsewhere: `${PYTHON} -m pip install notebook==6.* nbconvert nbclient`,
  },
  'kernel-test': {
    what: "Jupyter's kernel test suite (jupyter_kernel_test)",
    present: () => missingModules(['jupyter_kernel_test']).length === 0,
    apt: ['python3-jupyter-kernel-test'],
    elsewhere: `${PYTHON} -m pip install jupyter_kernel_test (in the Python that has Jupyter)`,
  },
  // The ONNX project's own checker, which judges every file `exportOnnx` writes (tests/onnx.test.ts).
  'onnx-checker': {
    what: `the ONNX checker for ${PYTHON} (the onnx Python package)`,
    present: () => missingModules(['onnx']).length === 0,
    apt: ['python3-onnx'],
    elsewhere: `${PYTHON} -m pip install onnx`,
  },
  chromium: {
    what: `Chromium at ${CHROMIUM}`,
    present: () => existsSync(CHROMIUM),
    // A CHROMIUM_PATH of the user's own is not what the package installs.
    apt: process.env.CHROMIUM_PATH ? [] : ['chromium'],
    elsewhere: 'install Chromium and set CHROMIUM_PATH to its executable',
  },
  // The wasm backend's matrix products run on OpenBLAS where it loads (src/backend/kernels/blas.ts),
  // a pretraining step 2.1 to 2.8 times faster than on XNNPACK, which they fall back to without it.
  openblas: {
    what: 'OpenBLAS, for the wasm backend\'s matrix products (without it they run 2 to 3 times slower, on XNNPACK)',
    present: () => libraryAgrees("process.exit(require('./dist/backend/kernels/blas.js').useBlas(require('./dist/backend/kernels/blas.js').DEFAULT_BLAS_LIBRARY, 1).blas ? 0 : 1)"),
    apt: ['libopenblas0-pthread'],
    // The course runs without it, only slower: its absence does not stop the tutorial's set-up.
    optional: true,
    elsewhere: 'install OpenBLAS 0.3 and pass its shared library as initBackend\'s blas option',
  },
  webgpu: {
    what: "a WebGPU adapter for Dawn (without a GPU: Mesa's llvmpipe Vulkan driver, mesa-vulkan-drivers 25 or later)",
    present: () => libraryAgrees("require('./dist/backend/webgpu.js').webgpuAdapter().then((d) => process.exit(d.adapter ? 0 : 1), () => process.exit(1))"),
    apt: ['mesa-vulkan-drivers'],
    backports: true,
    elsewhere: "install your GPU's Vulkan driver, or Mesa's Vulkan drivers 25 or later",
  },
};

/** What each purpose needs (`node kernel-setup/setup.mjs --for PURPOSE`), and how it is named in messages. */
export const PURPOSES = {
  tutorial: { pieces: ['jupyter', 'openblas'], needs: 'The tutorial and `npm start` need' },
  tests: { pieces: ['python-jupyter', 'kernel-test', 'onnx-checker', 'chromium', 'webgpu', 'openblas'], needs: 'The tests need' },
};

function hasBackportsSource() {
  const lists = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f)) : [])];
  return lists.some((file) => {
    try {
      return readFileSync(file, 'utf8').includes(BACKPORTS);
    } catch {
      return false;
    }
  });
}

/** The shell command that installs `piece` here, as a user would type it. */
export function installCommand(name) {
  const piece = PIECES[name];
  if (!DEBIAN_LIKE || piece.apt.length === 0) return piece.elsewhere;
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  if (piece.backports && BOOKWORM) {
    const source = hasBackportsSource() ? '' : `echo '${BACKPORTS_LINE}' | ${sudo}tee ${BACKPORTS_LIST} && `;
    return `${source}${sudo}apt-get update && ${sudo}apt-get install -y -t ${BACKPORTS} ${piece.apt.join(' ')}`;
  }
  return `${sudo}apt-get install -y ${piece.apt.join(' ')}`;
}

/** One line per missing piece: what it is and the command that installs it. */
function describe(names) {
  return names.map((name) => `  - ${PIECES[name].what}:\n      ${installCommand(name)}`).join('\n');
}

/** Installs the missing pieces with apt-get: one update, then the archive's and the backports' packages. */
function aptInstall(names) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const backported = BOOKWORM ? names.filter((n) => PIECES[n].backports) : [];
  const plain = names.filter((n) => !backported.includes(n)).flatMap((n) => PIECES[n].apt);
  if (backported.length > 0 && !hasBackportsSource()) {
    console.log(`[setup] adding ${BACKPORTS} to apt's sources (${BACKPORTS_LIST})`);
    writeFileSync(BACKPORTS_LIST, BACKPORTS_LINE + '\n');
  }
  console.log(`[setup] installing with apt-get: ${[...plain, ...backported.flatMap((n) => PIECES[n].apt.map((p) => `${p} (${BACKPORTS})`))].join(', ')}`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  if (plain.length > 0) execFileSync('apt-get', ['install', '-y', '-qq', ...plain], { stdio: 'inherit', env });
  const fromBackports = backported.flatMap((n) => PIECES[n].apt);
  if (fromBackports.length > 0) execFileSync('apt-get', ['install', '-y', '-qq', '-t', BACKPORTS, ...fromBackports], { stdio: 'inherit', env });
}

/** The names of the pieces `purpose` needs that are missing here. */
export function missingFor(purpose) {
  if (!PURPOSES[purpose]) throw new Error(`unknown purpose ${JSON.stringify(purpose)}: use --for ${Object.keys(PURPOSES).join(' or --for ')}`);
  return PURPOSES[purpose].pieces.filter((name) => !PIECES[name].present());
}

/**
 * Makes sure the pieces `purpose` needs are here, installing them with apt-get on Debian/Ubuntu
 * as root (unless `checkOnly`). Returns undefined when nothing is missing any more, else one
 * message that lists each missing piece with its install command, and whether a missing piece
 * is not optional.
 */
export function ensureSystem(purpose, { checkOnly = false } = {}) {
  let missing = missingFor(purpose);
  const installable = missing.filter((name) => PIECES[name].apt.length > 0);
  if (installable.length > 0 && DEBIAN_LIKE && process.getuid?.() === 0 && !checkOnly) {
    try {
      aptInstall(installable);
    } catch (err) {
      console.error(`[setup] apt-get failed: ${err.message}`);
    }
    missing = missingFor(purpose);
  }
  if (missing.length === 0) return undefined;
  const message = `${PURPOSES[purpose].needs} ${missing.length === 1 ? 'a piece' : `${missing.length} pieces`} this machine lacks; install ${missing.length === 1 ? 'it' : 'them'} with:\n${describe(missing)}`;
  return { message, required: missing.some((name) => !PIECES[name].optional) };
}

/** Throws, naming the piece and its install command, when `name` is missing; for the tests that need it. */
export function requireSystem(name) {
  if (PIECES[name].present()) return;
  throw new Error(`This test needs ${PIECES[name].what}, which is missing. Install it with:\n  ${installCommand(name)}\n(or run \`node kernel-setup/setup.mjs --for tests\` as root on Debian/Ubuntu, which installs every piece the tests need)`);
}
