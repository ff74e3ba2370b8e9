/**
 * The Hub client against a hostile or broken mirror of our own on 127.0.0.1: headers that would
 * steer its writes out of the cache, bodies longer than announced, stalls, impossible sizes,
 * redirects to local files. Each call must fail with an error that names what the server sent,
 * nothing outside the repository's cache folder may change, and a later good download still works.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { resolveModelFiles } from '../src/hub/index.js';
import { COMMIT, etagOf, fakeHub, FILES, REPO, type FakeHubOptions } from './helpers/fake-hub.js';

const REQUIRED = ['config.json', 'model.safetensors'];

/** A temporary tree: HF_HOME at ROOT/home, a user's own model folders beside it. */
function sandbox(t: TestContext) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-hostile-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const home = path.join(root, 'home');
  for (const victim of ['victim', 'victim2']) {
    fs.mkdirSync(path.join(root, victim));
    for (const file of ['config.json', 'model.safetensors', 'pytorch_model.bin']) fs.writeFileSync(path.join(root, victim, file), `the user's own ${file}`);
  }
  const repoCache = path.join(home, 'hub', 'models--org--tiny-bert');
  return { root, home, repoCache };
}

/** Every file and link under `root` but inside `skip`, with its content or link target. */
function tree(root: string, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (p === skip) continue;
      if (entry.isSymbolicLink()) out.set(p, `-> ${fs.readlinkSync(p)}`);
      else if (entry.isDirectory()) walk(p);
      else out.set(p, createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
    }
  };
  walk(root);
  return out;
}

/** Runs `attack` and checks that nothing outside the repository's cache folder changed. */
async function nothingOutside(box: ReturnType<typeof sandbox>, attack: () => Promise<void>): Promise<void> {
  const before = tree(box.root, box.repoCache);
  await attack();
  assert.deepEqual(tree(box.root, box.repoCache), before);
}

async function attempt(t: TestContext, box: ReturnType<typeof sandbox>, options: FakeHubOptions, files = REQUIRED) {
  const hub = await fakeHub(t, options);
  const env = { HF_HOME: box.home, HF_ENDPOINT: hub.endpoint, HF_HUB_DOWNLOAD_TIMEOUT: '0.5' };
  return { hub, env, call: () => resolveModelFiles(REPO, { files, env, progress: false, maxRetries: 0 }) };
}

/** After the attacks, the same cache serves a good download from an honest Hub. */
async function goodDownloadWorks(t: TestContext, box: ReturnType<typeof sandbox>): Promise<void> {
  const hub = await fakeHub(t);
  const dir = await resolveModelFiles(REPO, { files: REQUIRED, env: { HF_HOME: box.home, HF_ENDPOINT: hub.endpoint }, progress: false });
  assert.equal(dir, path.join(box.repoCache, 'snapshots', COMMIT));
  for (const file of REQUIRED) assert.ok(fs.readFileSync(path.join(dir, file)).equals(FILES[file].body), file);
}

test('an X-Repo-Commit that is not a commit hash is refused, and nothing outside the cache changes', async (t) => {
  const box = sandbox(t);
  const hostile = [
    '../../../../victim', // relative: snapshots/<commit> would be ROOT/victim
    path.join(box.root, 'victim'), // absolute
    '..\\..\\..\\..\\victim', // backslashes
    `${COMMIT}/../../../../../victim`, // a valid hash followed by a path
  ];
  for (const commitHeader of hostile) {
    const { call } = await attempt(t, box, { commitHeader });
    await nothingOutside(box, async () => {
      await assert.rejects(call(), (error: Error) => {
        assert.match(error.message, /^http:\/\/127\.0\.0\.1:\d+ sent the header X-Repo-Commit: /);
        assert.ok(error.message.includes(JSON.stringify(commitHeader)), error.message);
        assert.match(error.message, /not a 40-digit commit hash; refusing to use it \(is HF_ENDPOINT a real Hub or mirror\?\)/);
        return true;
      });
    });
  }
  assert.equal(fs.readFileSync(path.join(box.root, 'victim', 'config.json'), 'utf8'), "the user's own config.json");
  await goodDownloadWorks(t, box);
});

test('an ETag that is not a sha1 or sha256 is refused, for a small file and for an LFS file', async (t) => {
  const box = sandbox(t);
  const sha = etagOf('model.safetensors');
  const hostile = [
    '"../../../../outside/etag-pwned"',
    `"${path.join(box.root, 'outside', 'absolute')}"`,
    '"..\\..\\..\\..\\outside\\backslash"',
    `"${sha}/../../../../outside/after-a-hash"`,
    'W/"../../../../outside/weak"',
  ];
  for (const etagHeader of hostile) {
    // config.json alone meets the ETag header; model.safetensors the X-Linked-Etag header.
    for (const [files, header] of [[['config.json'], 'ETag'], [['model.safetensors'], 'X-Linked-Etag']] as const) {
      const { call } = await attempt(t, box, { etagHeader }, [...files]);
      await nothingOutside(box, async () => {
        await assert.rejects(call(), (error: Error) => {
          assert.ok(error.message.includes(`sent the header ${header}: ${JSON.stringify(etagHeader)}, which is not a sha1 or sha256`), error.message);
          return true;
        });
      });
    }
  }
  assert.equal(fs.existsSync(path.join(box.root, 'outside')), false);
  await goodDownloadWorks(t, box);
});

test('a 404 whose X-Repo-Commit is a path marks nothing and changes nothing outside the cache', async (t) => {
  const box = sandbox(t);
  const { call } = await attempt(t, box, { commitHeader: '../../../../victim2' }, ['pytorch_model.bin']);
  await nothingOutside(box, async () => {
    await assert.rejects(call(), /sent the header X-Repo-Commit: "\.\.\/\.\.\/\.\.\/\.\.\/victim2", which is not a 40-digit commit hash/);
  });
  assert.equal(fs.readFileSync(path.join(box.root, 'victim2', 'pytorch_model.bin'), 'utf8'), "the user's own pytorch_model.bin");
  await goodDownloadWorks(t, box);
});

test('a body longer than announced is cut off at the announced size and its partial file deleted', async (t) => {
  const box = sandbox(t);
  const { hub, call } = await attempt(t, box, { extraBytes: 64 * 1024 * 1024 });
  await nothingOutside(box, async () => {
    await assert.rejects(call(), new RegExp(`/blobs/${etagOf('model.safetensors')} sent more than the 3000000 bytes announced; the download was stopped there and its partial file deleted`));
  });
  const get = hub.log.find((r) => r.server === 'cdn' && r.method === 'GET')!;
  // The client hung up long before the 67 MB were sent (the server hears of it a moment later), and kept none of them.
  for (let i = 0; i < 100 && get.cutByClient === undefined; i++) await new Promise((next) => setTimeout(next, 20));
  assert.equal(get.cutByClient, true);
  assert.ok(get.served < 16 * 2 ** 20, `the server sent ${get.served} bytes before the client hung up`);
  const blobs = path.join(box.repoCache, 'blobs');
  assert.deepEqual(fs.readdirSync(blobs), [etagOf('config.json')]);
  await goodDownloadWorks(t, box);
});

test('a stalled transfer is given up after HF_HUB_DOWNLOAD_TIMEOUT, its partial file kept, and the next call resumes it', async (t) => {
  const box = sandbox(t);
  const { hub, call } = await attempt(t, box, { stallFirstGet: true });
  const started = Date.now();
  await assert.rejects(call(), /failed after 1 attempt\(s\): http:\/\/127\.0\.0\.1:\d+ sent no bytes for 0\.5 s; HF_HUB_DOWNLOAD_TIMEOUT sets how long to wait, after 1500000 bytes\. The 1500000 bytes received so far are kept in \S+\.incomplete; run again to resume\./);
  assert.ok(Date.now() - started < 5000, 'gave up within seconds');
  // The same server now sends the rest; the next call resumes from the kept bytes.
  const dir = await call();
  assert.ok(fs.readFileSync(path.join(dir, 'model.safetensors')).equals(FILES['model.safetensors'].body));
  assert.equal(hub.log.filter((r) => r.server === 'cdn' && r.method === 'GET').at(-1)!.range, 'bytes=1500000-');
});

test('a download larger than the free space is refused before a byte is fetched, naming what it needs', async (t) => {
  const box = sandbox(t);
  const { hub, call } = await attempt(t, box, { linkedSize: 5 * 2 ** 40 });
  await assert.rejects(call(), new RegExp(`No space left on the device to write \\S+/blobs/${etagOf('model.safetensors')}: it needs 5\\.0 TiB, .* free there\\. Free some space, or point HF_HUB_CACHE at a disk with room\\.`));
  assert.deepEqual(hub.log.filter((r) => r.server === 'cdn'), []);
});

test('a redirect to a file:// URL is refused once, with the reason, and reads nothing', async (t) => {
  const box = sandbox(t);
  const { hub, call } = await attempt(t, box, { lfsLocation: `file://${path.join(box.root, 'victim', 'model.safetensors')}` });
  await assert.rejects(call(), (error: Error) => {
    assert.match(error.message, /redirected to file:\/\/\S+victim\/model\.safetensors; only http and https redirects are followed, so nothing was read from it$/);
    assert.equal(error.message.match(/redirected/g)!.length, 1);
    return true;
  });
  assert.equal(hub.log.filter((r) => r.url.includes('model.safetensors')).length, 1, 'asked once, not retried');
});

test('revisions and file names that are paths are refused before any request', async (t) => {
  const box = sandbox(t);
  const { hub, env } = await attempt(t, box, {});
  for (const revision of ['../../../../victim', '/etc', 'main/../../x', 'a\\b']) {
    await assert.rejects(resolveModelFiles(REPO, { files: REQUIRED, revision, env }), /is not a revision: give a branch, a tag or a 40-digit commit hash/);
  }
  for (const file of ['../x', '/etc/passwd', 'a/../../b', 'a\\..\\b', './config.json']) {
    await assert.rejects(resolveModelFiles(REPO, { files: [file], env }), /is not a file name inside a model repository/);
  }
  assert.deepEqual(hub.log, []);
});

test('a cached JSON file that does not parse names its cache path and how to clear it', async (t) => {
  const box = sandbox(t);
  await goodDownloadWorks(t, box);
  fs.writeFileSync(path.join(box.repoCache, 'blobs', etagOf('config.json')), '{"hidden_size": 64,');
  await assert.rejects(resolveModelFiles(REPO, { files: REQUIRED, env: { HF_HOME: box.home, HF_HUB_OFFLINE: '1' } }), (error: Error) => {
    assert.ok(error.message.startsWith(`The cached config.json (${path.join(box.repoCache, 'blobs', etagOf('config.json'))}, linked from`), error.message);
    assert.ok(error.message.includes(`is not valid JSON`), error.message);
    assert.ok(error.message.endsWith(`delete ${box.repoCache} (the cache of this repository) and run again to download it anew.`), error.message);
    return true;
  });
});
