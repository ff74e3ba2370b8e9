/**
 * finetune-lab as a package other projects depend on: `npm pack`, installed into an empty project
 * with nothing but the npm registry reachable, then a TypeScript file there imports it, compiles
 * with tsc, tokenizes and runs the embedded model.
 *
 * "Nothing but the registry": npm's every connection goes through a proxy on 127.0.0.1 that lets
 * through the configured registry alone and refuses any other host (a dependency on a CDN tarball
 * fails the install); every package of the installed tree must resolve to the registry; and no
 * package may have an install script except the two read and known to fetch nothing. The
 * install uses npm's own cache (`--prefer-offline`), warm after the project's `npm ci`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
/**
 * The installed tree's install scripts, each read: core-js prints a banner, webgpu's removes
 * macOS's quarantine flag from its prebuilt Dawn, koffi's (cnoke) checks its shipped prebuilt
 * binary and would otherwise build from source with CMake (its download paths only throw).
 * None fetches anything; npm 11 runs none of them unless approved.
 */
const KNOWN_INSTALL_SCRIPTS = ['node_modules/core-js', 'node_modules/koffi', 'node_modules/webgpu'];
/**
 * The optional peers, which a dependent must not get (danfojs-node's tree would bring TensorFlow.js 3's native build,
 * onnxruntime-node 288 MB, transformers.js onnxruntime-web's 144 MB and sharp's libvips builds).
 */
const COURSE_ONLY = ['danfojs-node', 'tslab', 'zeromq', '@tensorflow/tfjs-node', 'xlsx', 'onnxruntime-node', '@huggingface/transformers', 'onnxruntime-web', 'sharp'];

/** The dependent's program: the library's first steps, printed as JSON. */
const MAIN_TS = `import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BertTokenizer, EMBEDDED_MODEL, exportOnnx, fromPretrained, initBackend, toDataFrame } from 'finetune-lab';

const backend = await initBackend({ backend: 'wasm', quiet: true });
const { model, tokenizer } = await fromPretrained(EMBEDDED_MODEL, { task: 'mlm', quiet: true });
if (!tokenizer) throw new Error(\`\${EMBEDDED_MODEL} ships no tokenizer\`);
const batch = tokenizer.encode('this movie was [MASK] and i loved it.');
const { lastHiddenState, logits } = model.forward({ inputIds: batch.input_ids, attentionMask: batch.attention_mask });
const mask = batch.input_ids[0].indexOf(tokenizer.convertTokensToIds(['[MASK]'])[0]);
const best = ((await logits.argMax(-1).array()) as number[][])[0][mask];
const onnxDir = mkdtempSync(join(tmpdir(), 'dependent-onnx-'));
const onnx = await exportOnnx(model, join(onnxDir, 'model'), { tokenizer, task: 'feature-extraction' });
rmSync(onnxDir, { recursive: true });
let dataFrames = 'available';
try {
  toDataFrame({ text: ['a'], label: [0], labelNames: ['x'] });
} catch (err) {
  dataFrames = err instanceof Error ? err.message : String(err);
}
console.log(JSON.stringify({
  backend: backend.name,
  model: EMBEDDED_MODEL,
  inputIds: batch.input_ids[0],
  shape: lastHiddenState.shape,
  hidden: Array.from(await lastHiddenState.data()).slice(0, 16),
  fill: tokenizer.convertIdsToTokens([best])[0],
  bertBase: (await BertTokenizer.fromPretrained('bert-base-uncased')).encode('i like strawberries').input_ids[0],
  onnxBytes: onnx.bytes,
  dataFrames,
}));
`;

/** The parent's npm settings without what `npm test` sets for its own project (local_prefix would point npm back here). */
const NPM_ENV = Object.fromEntries(Object.entries(process.env).filter(([key]) =>
  !/^npm_/i.test(key) || /^npm_config_(cache|userconfig|globalconfig|registry|cafile)$/i.test(key)));

function npm(args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', args, { cwd, env: NPM_ENV });
    let output = '';
    child.stdout.on('data', (c) => { output += c; });
    child.stderr.on('data', (c) => { output += c; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** An HTTPS proxy on 127.0.0.1 that tunnels to `allowed` (host:port) only and records every request. */
async function registryOnlyProxy(allowed: string): Promise<{ url: string; tunnelled: string[]; refused: string[]; close(): void }> {
  const tunnelled: string[] = [];
  const refused: string[] = [];
  const server = http.createServer((req, res) => {
    refused.push(`${req.method} ${req.url}`);
    res.writeHead(403).end('finetune-lab package test: only the npm registry is reachable');
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = req.url ?? '';
    if (target !== allowed) {
      refused.push(`CONNECT ${target}`);
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    tunnelled.push(target);
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const upstream = net.connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}`, tunnelled, refused, close: () => server.close() };
}

let work: string;
let app: string;
let tarball: string;
let packed: { size: number; unpackedSize: number; files: { path: string }[] };

before(() => {
  execFileSync(process.execPath, ['kernel-setup/setup.mjs'], { cwd: ROOT, stdio: 'inherit' });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'finetune-lab-package-'));
  // The build is current (setup.mjs); --ignore-scripts keeps `prepare` from building it again.
  const json = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, env: NPM_ENV, encoding: 'utf8' });
  const [info] = JSON.parse(json) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  [tarball, packed] = [path.join(work, info.filename), info];
  app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'dependent', private: true, type: 'module' }, null, 2));
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('the tarball holds the library, the kernel set-up, the embedded model, the notebooks and the docs, not the tests nor other models', () => {
  const files = new Set(packed.files.map((f) => f.path));
  // The course notebooks as the repository has them (Jupyter adds .ipynb_checkpoints/ beside them when they are opened).
  const notebooks = fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb')).map((f) => `notebooks/${f}`);
  for (const file of ['package.json', 'LICENSE', 'README.md', 'environment.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js',
    'dist/assets/bert-base-uncased/vocab.txt', 'kernel-setup/setup.mjs', 'kernel-setup/kernel.cjs',
    'models/finetune-lab-bert/model.safetensors', 'models/finetune-lab-bert/tokenizer.json', 'models/finetune-lab-bert/README.md', ...notebooks]) {
    assert.ok(files.has(file), `${file} is missing from the tarball`);
  }
  const strays = [...files].filter((f) => /^(tests|\.ci|node_modules|build)\//.test(f) || (f.startsWith('src/') && !f.endsWith('.md')) ||
    (f.startsWith('models/') && !f.startsWith('models/finetune-lab-bert/')));
  assert.deepEqual(strays, []);
  console.log(`${path.basename(tarball)}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${files.size} files`);
});

test('it installs into an empty project with nothing fetched from outside the npm registry', async () => {
  const registry = new URL(execFileSync('npm', ['config', 'get', 'registry'], { cwd: app, env: NPM_ENV, encoding: 'utf8' }).trim());
  assert.equal(registry.protocol, 'https:', `the registry ${registry.href} is not https; this test proxies https only`);
  const proxy = await registryOnlyProxy(`${registry.hostname}:${registry.port || 443}`);
  try {
    const started = Date.now();
    const { code, output } = await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit-lockfile-registry-resolved=false',
      `--proxy=${proxy.url}`, `--https-proxy=${proxy.url}`, '--noproxy=',
      tarball, `typescript@${PACKAGE.devDependencies.typescript}`, `@types/node@${PACKAGE.devDependencies['@types/node']}`], app);
    console.log(`npm install: ${((Date.now() - started) / 1000).toFixed(1)} s, ${proxy.tunnelled.length} connections to ${registry.host}`);
    assert.deepEqual(proxy.refused, [], 'npm asked for something outside the registry');
    assert.equal(code, 0, output);
  } finally {
    proxy.close();
  }
  const lock = JSON.parse(fs.readFileSync(path.join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string; hasInstallScript?: boolean }> };
  const installed = Object.entries(lock.packages).filter(([key]) => key !== '');
  assert.ok(installed.length > 10, `${installed.length} packages`);
  const elsewhere = installed.filter(([key, p]) => key !== 'node_modules/finetune-lab' && !p.resolved?.startsWith(registry.href));
  assert.deepEqual(elsewhere.map(([key, p]) => `${key} ${p.resolved}`), [], 'packages from outside the registry');
  const scripts = installed.filter(([, p]) => p.hasInstallScript).map(([key]) => key).sort();
  assert.deepEqual(scripts, KNOWN_INSTALL_SCRIPTS, 'a new install script: read it, and add it here if it fetches nothing');
  for (const name of COURSE_ONLY) assert.ok(!lock.packages[`node_modules/${name}`], `a dependent got the course's ${name}`);
});

test('a TypeScript file in that project imports finetune-lab, compiles with tsc, tokenizes and runs the embedded model', async () => {
  assert.ok(fs.existsSync(path.join(app, 'node_modules', 'finetune-lab')), 'the install failed (see the test above)');
  fs.writeFileSync(path.join(app, 'main.ts'), MAIN_TS);
  // skipLibCheck as `tsc --init` sets it: TensorFlow.js's own declarations do not pass a strict check.
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, types: ['node'] },
    files: ['main.ts'],
  }));
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], { cwd: app, stdio: 'inherit' });
  const dependent = JSON.parse(execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' }));
  assert.equal(fs.realpathSync(dependent.model), fs.realpathSync(path.join(app, 'node_modules', 'finetune-lab', 'models', 'finetune-lab-bert')));
  assert.deepEqual(dependent.bertBase, [101, 1045, 2066, 13137, 20968, 102], 'bert-base-uncased ids, as transformers gives them');
  assert.match(dependent.dataFrames, /needs danfojs-node.*npm install danfojs-node@1\.2\.0.*"overrides"/);

  // The same program in this project (its own build, through the node_modules/finetune-lab link) gives the same result.
  const here = path.join(ROOT, 'build', 'package-test');
  fs.mkdirSync(here, { recursive: true });
  fs.copyFileSync(path.join(app, 'main.js'), path.join(here, 'main.mjs'));
  const project = JSON.parse(execFileSync(process.execPath, ['main.mjs'], { cwd: here, encoding: 'utf8' }));
  assert.equal(project.dataFrames, 'available');
  assert.equal(dependent.backend, 'wasm');
  assert.equal(dependent.inputIds[0], 101);
  assert.deepEqual(dependent.shape, [1, dependent.inputIds.length, 128]);
  assert.ok(dependent.onnxBytes > 1e7, 'the embedded model exported to ONNX');
  for (const key of ['backend', 'inputIds', 'shape', 'hidden', 'fill', 'bertBase', 'onnxBytes'] as const) assert.deepEqual(dependent[key], project[key], key);
});
