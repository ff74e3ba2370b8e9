import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { resolveModelFiles } from '../src/hub/index.js';

const REPO = 'org/tiny-bert';
const COMMIT = createHash('sha1').update('the only commit').digest('hex');
const TOKEN = 'hf_test_token';

/** Deterministic bytes, so a resumed download can be compared with the original. */
function pseudoRandom(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) out[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  return out;
}

const FILES: Record<string, { body: Buffer; lfs: boolean }> = {
  'config.json': { body: Buffer.from(JSON.stringify({ hidden_size: 64, num_hidden_layers: 2 })), lfs: false },
  'tokenizer.json': { body: Buffer.from(JSON.stringify({ model: { type: 'WordPiece' } })), lfs: false },
  'model.safetensors': { body: pseudoRandom(3_000_000, 1), lfs: true },
};
const gitSha1 = (body: Buffer) => createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');
const etagOf = (file: string) => (FILES[file].lfs ? sha256(FILES[file].body) : gitSha1(FILES[file].body));

interface Logged {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  range?: string;
  authorization?: string;
  served: number;
}

interface FakeHubOptions {
  /** The first GET of an LFS blob sends half of it, then the connection is cut. */
  cutFirstGet?: boolean;
  /** The CDN ignores Range and always sends the whole blob (status 200). */
  ignoreRange?: boolean;
  /** The repository answers 401 unless the request carries the token. */
  private?: boolean;
  /** The CDN flips one byte of every LFS blob it sends. */
  corrupt?: boolean;
}

/**
 * Two servers on 127.0.0.1 that answer like huggingface.co and its CDN: `resolve` URLs of small
 * files redirect (relative) to a cache URL that carries ETag and X-Repo-Commit; LFS files
 * redirect (absolute, to the other host) to the blob, with X-Linked-Etag / X-Linked-Size.
 */
async function startFakeHub(options: FakeHubOptions = {}) {
  const log: Logged[] = [];
  let lfsGets = 0;
  const listen = (server: http.Server) =>
    new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));

  const sendBody = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, entry: Logged, headers: http.OutgoingHttpHeaders) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !options.ignoreRange) {
      const start = Number(range[1]);
      if (start >= body.length) return res.writeHead(416).end();
      body = body.subarray(start);
      res.writeHead(206, { ...headers, 'Content-Length': body.length, 'Content-Range': `bytes ${start}-${start + body.length - 1}/${start + body.length}` });
    } else {
      res.writeHead(200, { ...headers, 'Content-Length': body.length });
    }
    if (req.method === 'HEAD') return res.end();
    entry.served = body.length;
    res.end(body);
  };

  const cdn = http.createServer((req, res) => {
    const entry: Logged = { server: 'cdn', method: req.method!, url: req.url!, range: req.headers.range, authorization: req.headers.authorization, served: 0 };
    log.push(entry);
    const file = Object.keys(FILES).find((name) => req.url === `/blobs/${etagOf(name)}`);
    if (!file) return res.writeHead(404).end();
    let body = FILES[file].body;
    if (options.corrupt) (body = Buffer.from(body))[1000] ^= 1;
    if (req.method === 'GET' && options.cutFirstGet && lfsGets++ === 0) {
      const half = body.subarray(0, body.length / 2);
      res.writeHead(200, { 'Content-Length': body.length });
      entry.served = half.length;
      res.write(half, () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    sendBody(req, res, body, entry, { ETag: `"${etagOf(file)}"` });
  });
  const cdnBase = await listen(cdn);

  const hub = http.createServer((req, res) => {
    const entry: Logged = { server: 'hub', method: req.method!, url: req.url!, range: req.headers.range, authorization: req.headers.authorization, served: 0 };
    log.push(entry);
    const url = decodeURIComponent(req.url!);
    if (options.private && req.headers.authorization !== `Bearer ${TOKEN}`) {
      return res.writeHead(401, { 'X-Error-Code': 'RepoNotFound', 'X-Error-Message': 'Repository not found' }).end();
    }
    const cached = /^\/api\/resolve-cache\/models\/(.+)\/([0-9a-f]{40})\/(.+)$/.exec(url);
    if (cached && cached[1] === REPO && cached[2] === COMMIT && FILES[cached[3]]) {
      return sendBody(req, res, FILES[cached[3]].body, entry, { ETag: `"${etagOf(cached[3])}"`, 'X-Repo-Commit': COMMIT });
    }
    const resolve = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    if (!resolve || resolve[1] !== REPO) return res.writeHead(401, { 'X-Error-Code': 'RepoNotFound' }).end();
    const [, , revision, file] = resolve;
    if (revision !== 'main' && revision !== COMMIT) return res.writeHead(404, { 'X-Error-Code': 'RevisionNotFound' }).end();
    const entryFile = FILES[file];
    if (!entryFile) return res.writeHead(404, { 'X-Error-Code': 'EntryNotFound', 'X-Repo-Commit': COMMIT }).end('Entry not found');
    if (!entryFile.lfs) return res.writeHead(307, { Location: `/api/resolve-cache/models/${REPO}/${COMMIT}/${file}` }).end();
    res.writeHead(302, {
      Location: `${cdnBase}/blobs/${etagOf(file)}`,
      'X-Repo-Commit': COMMIT,
      ETag: `"${gitSha1(Buffer.from('lfs pointer'))}"`,
      'X-Linked-Etag': `"${etagOf(file)}"`,
      'X-Linked-Size': String(entryFile.body.length),
    });
    res.end();
  });
  const endpoint = await listen(hub);

  return {
    endpoint,
    log,
    async close() {
      for (const server of [hub, cdn]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}

/** A fake Hub stopped when the test ends. */
async function fakeHub(t: TestContext, options: FakeHubOptions = {}) {
  const hub = await startFakeHub(options);
  t.after(() => hub.close());
  return hub;
}

/** An empty HF_HOME removed when the test ends. */
function tempHome(t: TestContext): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-test-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  return home;
}

const REQUIRED = ['config.json', 'model.safetensors'];
const OPTIONAL = ['tokenizer.json', 'vocab.txt'];

function assertSnapshot(dir: string, home: string): void {
  const repoDir = path.join(home, 'hub', 'models--org--tiny-bert');
  assert.equal(dir, path.join(repoDir, 'snapshots', COMMIT));
  for (const file of [...REQUIRED, 'tokenizer.json']) {
    const link = path.join(dir, file);
    assert.ok(fs.lstatSync(link).isSymbolicLink(), `${file} is a symlink`);
    assert.equal(fs.readlinkSync(link), `../../blobs/${etagOf(file)}`);
    assert.ok(fs.readFileSync(link).equals(FILES[file].body), `${file} bytes`);
  }
  assert.equal(fs.existsSync(path.join(dir, 'vocab.txt')), false);
  assert.ok(fs.existsSync(path.join(repoDir, '.no_exist', COMMIT, 'vocab.txt')));
  assert.equal(fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8'), COMMIT);
  assert.deepEqual(fs.readdirSync(path.join(repoDir, 'blobs')).sort(), [...REQUIRED, 'tokenizer.json'].map(etagOf).sort());
}

test('downloads into the Hugging Face cache layout, following relative and cross-host redirects', async (t) => {
  const hub = await fakeHub(t);
  const home = tempHome(t);
  const env = { HF_HOME: home, HF_ENDPOINT: hub.endpoint, HF_TOKEN: TOKEN };
  const dir = await resolveModelFiles(REPO, { files: REQUIRED, optionalFiles: OPTIONAL, env, progress: false });
  assertSnapshot(dir, home);

  // The token goes to the Hub's host only, never to the CDN host the LFS redirect points to.
  assert.ok(hub.log.filter((r) => r.server === 'hub').every((r) => r.authorization === `Bearer ${TOKEN}`));
  const cdnRequests = hub.log.filter((r) => r.server === 'cdn');
  assert.ok(cdnRequests.length > 0);
  assert.ok(cdnRequests.every((r) => r.authorization === undefined));
  // After the first file named the commit, the other files are fetched at that commit.
  const resolves = hub.log.filter((r) => r.url.includes('/resolve/')).map((r) => r.url.split('/resolve/')[1].split('/')[0]);
  assert.equal(resolves[0], 'main');
  assert.ok(resolves.slice(1).every((revision) => revision === COMMIT));

  // A second call with a warm cache downloads nothing.
  const before = hub.log.length;
  assert.equal(await resolveModelFiles(REPO, { files: REQUIRED, optionalFiles: OPTIONAL, env, progress: false }), dir);
  assert.deepEqual(hub.log.slice(before).filter((r) => r.method === 'GET'), []);
});

test('a connection cut mid-file is resumed with a Range request and gives identical bytes', async (t) => {
  const hub = await fakeHub(t, { cutFirstGet: true });
  const home = tempHome(t);
  const env = { HF_HOME: home, HF_ENDPOINT: hub.endpoint };
  const dir = await resolveModelFiles(REPO, { files: REQUIRED, optionalFiles: OPTIONAL, env, progress: true });
  assertSnapshot(dir, home);
  const gets = hub.log.filter((r) => r.server === 'cdn' && r.method === 'GET');
  assert.equal(gets.length, 2);
  assert.equal(gets[0].range, undefined);
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1]);
  assert.ok(resumedAt > 0 && resumedAt <= 1_500_000, `resumed at ${gets[1].range}`);
  assert.equal(gets[1].served, 3_000_000 - resumedAt);
});

test('an interrupted download fails clearly, keeps the partial file, and the next call resumes it', async (t) => {
  const hub = await fakeHub(t, { cutFirstGet: true });
  const home = tempHome(t);
  const env = { HF_HOME: home, HF_ENDPOINT: hub.endpoint };
  const partial = path.join(home, 'hub', 'models--org--tiny-bert', 'blobs', `${etagOf('model.safetensors')}.incomplete`);
  await assert.rejects(
    resolveModelFiles(REPO, { files: REQUIRED, env, progress: false, maxRetries: 0 }),
    /Download of http:\/\/127\.0\.0\.1:\d+\/blobs\/\w+ failed after 1 attempt\(s\): the connection .* broke after \d+ bytes.*run again to resume/s,
  );
  const kept = fs.statSync(partial).size;
  assert.ok(kept > 0 && kept <= 1_500_000);
  // The partial file is never mistaken for the blob.
  assert.equal(fs.existsSync(partial.replace(/\.incomplete$/, '')), false);
  assert.equal(fs.existsSync(path.join(home, 'hub', 'models--org--tiny-bert', 'snapshots', COMMIT, 'model.safetensors')), false);

  const dir = await resolveModelFiles(REPO, { files: REQUIRED, env, progress: false, maxRetries: 0 });
  assert.ok(fs.readFileSync(path.join(dir, 'model.safetensors')).equals(FILES['model.safetensors'].body));
  const last = hub.log.filter((r) => r.server === 'cdn' && r.method === 'GET').at(-1)!;
  assert.equal(last.range, `bytes=${kept}-`);
  assert.equal(fs.existsSync(partial), false);
});

test('a server that ignores Range restarts the file from the beginning', async (t) => {
  const hub = await fakeHub(t, { cutFirstGet: true, ignoreRange: true });
  const home = tempHome(t);
  const dir = await resolveModelFiles(REPO, { files: REQUIRED, env: { HF_HOME: home, HF_ENDPOINT: hub.endpoint }, progress: false });
  assert.ok(fs.readFileSync(path.join(dir, 'model.safetensors')).equals(FILES['model.safetensors'].body));
  const gets = hub.log.filter((r) => r.server === 'cdn' && r.method === 'GET');
  assert.ok(gets[1].range?.startsWith('bytes='));
  assert.equal(gets[1].served, 3_000_000);
});

test('offline: a warm cache is used without any request, a cold one gives a clear error', async (t) => {
  const hub = await fakeHub(t);
  const home = tempHome(t);
  const cold = tempHome(t);
  const dir = await resolveModelFiles(REPO, { files: REQUIRED, optionalFiles: OPTIONAL, env: { HF_HOME: home, HF_ENDPOINT: hub.endpoint }, progress: false });
  const requests = hub.log.length;

  const offline = { HF_HOME: home, HF_ENDPOINT: hub.endpoint, HF_HUB_OFFLINE: '1' };
  assert.equal(await resolveModelFiles(REPO, { files: REQUIRED, optionalFiles: OPTIONAL, env: offline }), dir);
  assert.equal(hub.log.length, requests);

  // HF_HUB_CACHE wins over HF_HOME, as in Python.
  const viaHubCache = { HF_HOME: cold, HF_HUB_CACHE: path.join(home, 'hub'), HF_HUB_OFFLINE: 'true' };
  assert.equal(await resolveModelFiles(REPO, { files: REQUIRED, env: viaHubCache }), dir);

  await assert.rejects(resolveModelFiles(REPO, { files: REQUIRED, env: { HF_HOME: cold, HF_HUB_OFFLINE: '1' } }), (error: Error) => {
    assert.match(error.message, /Cannot download "org\/tiny-bert" \(HF_HUB_OFFLINE is set\)/);
    assert.match(error.message, /lacks config\.json, model\.safetensors \(revision "main" was never downloaded\)/);
    assert.match(error.message, /HF_ENDPOINT/);
    assert.match(error.message, /huggingface-cli download org\/tiny-bert config\.json model\.safetensors/);
    assert.match(error.message, /local directory/);
    return true;
  });
  // The cache knows main, but not a file that was never downloaded.
  await assert.rejects(resolveModelFiles(REPO, { files: ['pytorch_model.bin'], env: offline }), /lacks pytorch_model\.bin for commit [0-9a-f]{40}/);
});

test('an unreachable Hub falls back to the cache, and without one says what is missing', async (t) => {
  const hub = await fakeHub(t);
  const home = tempHome(t);
  const cold = tempHome(t);
  const dir = await resolveModelFiles(REPO, { files: REQUIRED, env: { HF_HOME: home, HF_ENDPOINT: hub.endpoint }, progress: false });
  const endpoint = hub.endpoint;
  await hub.close(); // now nothing listens there: connection refused
  assert.equal(await resolveModelFiles(REPO, { files: REQUIRED, env: { HF_HOME: home, HF_ENDPOINT: endpoint } }), dir);
  await assert.rejects(
    resolveModelFiles(REPO, { files: REQUIRED, env: { HF_HOME: cold, HF_ENDPOINT: endpoint } }),
    /Cannot download "org\/tiny-bert" \(cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\), and the Hugging Face cache .* lacks config\.json, model\.safetensors/,
  );
});

test('HTTP errors name the URL: missing required file, missing revision, private repo without token', async (t) => {
  const hub = await fakeHub(t);
  const privateHub = await fakeHub(t, { private: true });
  const home = tempHome(t);
  const env = { HF_HOME: home, HF_ENDPOINT: hub.endpoint };
  await assert.rejects(
    resolveModelFiles(REPO, { files: ['config.json', 'pytorch_model.bin'], env, progress: false }),
    new RegExp(`^Error: ${hub.endpoint}/org/tiny-bert/resolve/${COMMIT}/pytorch_model\\.bin returned HTTP 404 \\(EntryNotFound\\)\\. The repository "org/tiny-bert" has no "pytorch_model\\.bin"`),
  );
  await assert.rejects(
    resolveModelFiles(REPO, { files: REQUIRED, revision: 'v9', env, progress: false }),
    /resolve\/v9\/config\.json returned HTTP 404 \(RevisionNotFound\)\. "org\/tiny-bert" has no revision "v9"/,
  );
  const privateEnv = { HF_HOME: home, HF_ENDPOINT: privateHub.endpoint };
  await assert.rejects(
    resolveModelFiles(REPO, { files: REQUIRED, env: privateEnv, progress: false }),
    /returned HTTP 401 \(RepoNotFound\): Repository not found\. .*does not exist, is private, or is gated.*HF_TOKEN.*No local directory \S*org\/tiny-bert exists either/,
  );
  // With the token (here from the file `huggingface-cli login` writes) the private repo downloads.
  fs.writeFileSync(path.join(home, 'token'), `${TOKEN}\n`);
  const dir = await resolveModelFiles(REPO, { files: REQUIRED, env: privateEnv, progress: false });
  assert.ok(fs.readFileSync(path.join(dir, 'config.json')).equals(FILES['config.json'].body));
});

test('a blob whose sha256 differs from its LFS ETag is rejected and not cached', async (t) => {
  const hub = await fakeHub(t, { corrupt: true });
  const home = tempHome(t);
  await assert.rejects(
    resolveModelFiles(REPO, { files: REQUIRED, env: { HF_HOME: home, HF_ENDPOINT: hub.endpoint }, progress: false }),
    new RegExp(`blobs/${etagOf('model.safetensors')} is corrupt: sha256 [0-9a-f]{64}, expected ${etagOf('model.safetensors')}`),
  );
  assert.deepEqual(fs.readdirSync(path.join(home, 'hub', 'models--org--tiny-bert', 'blobs')), [etagOf('config.json')]);
});

test('a local directory is used as is; other inputs get a clear error', async () => {
  const fixture = path.join(__dirname, 'fixtures/hf-reference/tiny-bert');
  assert.equal(await resolveModelFiles(fixture, { files: ['config.json', 'model.safetensors'] }), fixture);
  await assert.rejects(resolveModelFiles(fixture, { files: ['config.json', 'vocab.txt'] }), /tiny-bert lacks vocab\.txt/);
  await assert.rejects(resolveModelFiles('./no/such/dir', { files: ['config.json'] }), /"\.\/no\/such\/dir" is neither an existing directory nor a Hugging Face Hub id/);
  await assert.rejects(resolveModelFiles(REPO, { files: ['../escape'] }), /"\.\.\/escape" is not a file name inside a model repository/);
});
