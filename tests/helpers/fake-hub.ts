/**
 * A Hub of our own on 127.0.0.1 for the Hub client's tests: two servers that answer like
 * huggingface.co and its CDN, and, when asked, like a hostile or broken mirror.
 */
import type { TestContext } from 'node:test';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export const REPO = 'org/tiny-bert';
export const COMMIT = createHash('sha1').update('the only commit').digest('hex');
export const TOKEN = 'hf_test_token';

/** Deterministic bytes, so a resumed download can be compared with the original. */
function pseudoRandom(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) out[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  return out;
}

export const FILES: Record<string, { body: Buffer; lfs: boolean }> = {
  'config.json': { body: Buffer.from(JSON.stringify({ hidden_size: 64, num_hidden_layers: 2 })), lfs: false },
  'tokenizer.json': { body: Buffer.from(JSON.stringify({ model: { type: 'WordPiece' } })), lfs: false },
  'model.safetensors': { body: pseudoRandom(3_000_000, 1), lfs: true },
};
export const gitSha1 = (body: Buffer) => createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex');
export const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');
export const etagOf = (file: string) => (FILES[file].lfs ? sha256(FILES[file].body) : gitSha1(FILES[file].body));

export interface Logged {
  server: 'hub' | 'cdn';
  method: string;
  url: string;
  range?: string;
  authorization?: string;
  served: number;
  /** The client closed the connection before the server had sent everything. */
  cutByClient?: boolean;
}

export interface FakeHubOptions {
  /** The first GET of an LFS blob sends half of it, then the connection is cut. */
  cutFirstGet?: boolean;
  /** The CDN ignores Range and always sends the whole blob (status 200). */
  ignoreRange?: boolean;
  /** The repository answers 401 unless the request carries the token. */
  private?: boolean;
  /** The CDN flips one byte of every LFS blob it sends. */
  corrupt?: boolean;
  /** A hostile mirror: this value in every X-Repo-Commit header (404s included). */
  commitHeader?: string;
  /** A hostile mirror: this value as config.json's ETag and the LFS file's X-Linked-Etag. */
  etagHeader?: string;
  /** The CDN sends this many bytes more than the file has (and X-Linked-Size announces). */
  extraBytes?: number;
  /** The first GET of an LFS blob sends half of it, then nothing more, keeping the connection open. */
  stallFirstGet?: boolean;
  /** The LFS file's X-Linked-Size. */
  linkedSize?: number;
  /** The LFS file's resolve URL redirects here. */
  lfsLocation?: string;
}

/**
 * Two servers on 127.0.0.1 that answer like huggingface.co and its CDN: `resolve` URLs of small
 * files redirect (relative) to a cache URL that carries ETag and X-Repo-Commit; LFS files
 * redirect (absolute, to the other host) to the blob, with X-Linked-Etag / X-Linked-Size.
 */
export async function startFakeHub(options: FakeHubOptions = {}) {
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
    res.on('close', () => { entry.cutByClient = !res.writableFinished; });
    if (req.method === 'GET' && options.extraBytes) {
      // Paced in 1 MiB pieces, so that a client that stops reading is seen to hang up.
      body = Buffer.concat([body, pseudoRandom(options.extraBytes, 2)]);
      res.writeHead(200, { 'Content-Length': body.length });
      const send = (offset: number): void => {
        if (offset >= body.length || res.destroyed) return void res.end();
        entry.served = offset;
        res.write(body.subarray(offset, offset + 2 ** 20), () => setTimeout(() => send(offset + 2 ** 20), 5));
      };
      return send(0);
    }
    if (req.method === 'GET' && options.stallFirstGet && lfsGets++ === 0) {
      res.writeHead(200, { 'Content-Length': body.length });
      res.write(body.subarray(0, body.length / 2));
      entry.served = body.length / 2;
      return; // and nothing more, until the client gives up
    }
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
    if (options.commitHeader !== undefined) {
      const writeHead = res.writeHead.bind(res) as (status: number, headers?: http.OutgoingHttpHeaders) => http.ServerResponse;
      res.writeHead = ((status: number, headers: http.OutgoingHttpHeaders = {}) =>
        writeHead(status, 'X-Repo-Commit' in headers ? { ...headers, 'X-Repo-Commit': options.commitHeader } : headers)) as typeof res.writeHead;
    }
    const entry: Logged = { server: 'hub', method: req.method!, url: req.url!, range: req.headers.range, authorization: req.headers.authorization, served: 0 };
    log.push(entry);
    const url = decodeURIComponent(req.url!);
    if (options.private && req.headers.authorization !== `Bearer ${TOKEN}`) {
      return res.writeHead(401, { 'X-Error-Code': 'RepoNotFound', 'X-Error-Message': 'Repository not found' }).end();
    }
    const cached = /^\/api\/resolve-cache\/models\/(.+)\/([0-9a-f]{40})\/(.+)$/.exec(url);
    if (cached && cached[1] === REPO && cached[2] === COMMIT && FILES[cached[3]]) {
      return sendBody(req, res, FILES[cached[3]].body, entry, { ETag: options.etagHeader ?? `"${etagOf(cached[3])}"`, 'X-Repo-Commit': COMMIT });
    }
    const resolve = /^\/(.+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    if (!resolve || resolve[1] !== REPO) return res.writeHead(401, { 'X-Error-Code': 'RepoNotFound' }).end();
    const [, , revision, file] = resolve;
    if (revision !== 'main' && revision !== COMMIT) return res.writeHead(404, { 'X-Error-Code': 'RevisionNotFound' }).end();
    const entryFile = FILES[file];
    if (!entryFile) return res.writeHead(404, { 'X-Error-Code': 'EntryNotFound', 'X-Repo-Commit': COMMIT }).end('Entry not found');
    if (!entryFile.lfs) return res.writeHead(307, { Location: `/api/resolve-cache/models/${REPO}/${COMMIT}/${file}` }).end();
    res.writeHead(302, {
      Location: options.lfsLocation ?? `${cdnBase}/blobs/${etagOf(file)}`,
      'X-Repo-Commit': COMMIT,
      ETag: `"${gitSha1(Buffer.from('lfs pointer'))}"`,
      'X-Linked-Etag': options.etagHeader ?? `"${etagOf(file)}"`,
      'X-Linked-Size': String(options.linkedSize ?? entryFile.body.length),
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
export async function fakeHub(t: TestContext, options: FakeHubOptions = {}) {
  const hub = await startFakeHub(options);
  t.after(() => hub.close());
  return hub;
}

/** An empty HF_HOME removed when the test ends. */
export function tempHome(t: TestContext): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-test-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  return home;
}
