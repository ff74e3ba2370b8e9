import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveModelFiles } from '../src/hub/index.js';
import { COMMIT, etagOf, fakeHub, FILES, REPO, tempHome, TOKEN } from './helpers/fake-hub.js';

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
