/**
 * The Hub's HTTP protocol, as Python's `huggingface_hub` speaks it: a HEAD request on
 * `resolve/<revision>/<file>` (following only same-site redirects) gives the commit, the ETag
 * and the size; the bytes then come from where it points, resumably, into `<blob>.incomplete`,
 * which is renamed to the blob only once complete (and, for LFS files, checked against its sha256).
 */
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProgress } from './progress.js';
import { isCommitHash, isEtag } from './cache.js';
import { DiskFullError, explainWriteError, freeBytes } from '../files/atomic.js';
import * as path from 'node:path';

/** Who we are talking to; the token goes only to the endpoint's own host. */
export interface HubClient {
  endpoint: URL;
  token: string | undefined;
  /** A request that brings no bytes for this long is given up (and a download resumed). */
  stallTimeoutMs: number;
}

/** The server said something no Hub says: a hostile or broken mirror. Never retried, never written. */
export class HubProtocolError extends Error {}

/** An HTTP answer the Hub gives for a missing file, a missing repository, or denied access. */
export class HubHttpError extends Error {
  constructor(
    readonly url: URL,
    readonly status: number,
    /** The Hub's `X-Error-Code` (EntryNotFound, RepoNotFound, RevisionNotFound, GatedRepo...). */
    readonly errorCode: string | undefined,
    /** `X-Repo-Commit` when the Hub still names the commit (a missing file in an existing repo). */
    readonly commit: string | undefined,
    detail: string,
  ) {
    super(`${url} returned HTTP ${status}${errorCode ? ` (${errorCode})` : ''}${detail ? `: ${detail}` : ''}`);
  }
}

/** The server could not be reached at all (offline, DNS, refused, silent): the cache may still help. */
export class HubUnreachableError extends Error {
  constructor(readonly url: URL, cause: unknown, reason = describe(cause)) {
    super(`cannot reach ${url.origin} (${reason})`, { cause });
  }
}

/** Gives a request up once no bytes arrived for `ms`: `kick` on every chunk, `stop` when done. */
class Watchdog {
  readonly controller = new AbortController();
  stalled = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly ms: number) {
    this.kick();
  }

  kick(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stalled = true;
      this.controller.abort();
    }, this.ms);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  describe(): string {
    return `no bytes for ${this.ms / 1000} s; HF_HUB_DOWNLOAD_TIMEOUT sets how long to wait`;
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

function headersFor(client: HubClient, url: URL, extra: Record<string, string> = {}): Record<string, string> {
  // identity: sizes and Range offsets must refer to the stored bytes, not a compressed stream.
  const headers: Record<string, string> = { 'User-Agent': 'finetune-lab', 'Accept-Encoding': 'identity', ...extra };
  if (client.token && url.host === client.endpoint.host) headers.Authorization = `Bearer ${client.token}`;
  return headers;
}

async function request(client: HubClient, url: URL, method: string, watchdog: Watchdog, extra?: Record<string, string>): Promise<Response> {
  try {
    return await fetch(url, { method, redirect: 'manual', headers: headersFor(client, url, extra), signal: watchdog.controller.signal });
  } catch (error) {
    throw new HubUnreachableError(url, error, watchdog.stalled ? watchdog.describe() : undefined);
  }
}

async function failure(response: Response, url: URL): Promise<HubHttpError> {
  const commit = checkedHeader(response, url, 'X-Repo-Commit', isCommitHash, 'a 40-digit commit hash');
  const message = response.headers.get('x-error-message') ?? (await response.text().catch(() => '')).slice(0, 200);
  return new HubHttpError(url, response.status, response.headers.get('x-error-code') ?? undefined, commit, message);
}

/** A header that names something in the cache, refused unless it has the Hub's form (it becomes part of a path). */
function checkedHeader(response: Response, url: URL, name: string, valid: (value: string) => boolean, form: string, normalize = (v: string) => v): string | undefined {
  const raw = response.headers.get(name);
  if (raw === null) return undefined;
  const value = normalize(raw);
  if (!valid(value)) {
    throw new HubProtocolError(`${url.origin} sent the header ${name}: ${JSON.stringify(raw)}, which is not ${form}; refusing to use it (is HF_ENDPOINT a real Hub or mirror?)`);
  }
  return value;
}

const MAX_REDIRECTS = 10;

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

function redirectTarget(response: Response, url: URL): URL {
  const location = response.headers.get('location');
  if (!location) throw new HubProtocolError(`${url} answered ${response.status} without a Location header`);
  const target = new URL(location, url);
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new HubProtocolError(`${url} redirected to ${target.href}; only http and https redirects are followed, so nothing was read from it`);
  }
  return target;
}

export interface FileMetadata {
  commit: string | undefined;
  /** Normalised ETag: git sha1 for regular files, sha256 for LFS files. */
  etag: string | undefined;
  size: number | undefined;
  /** Whether the ETag came from `X-Linked-Etag`, i.e. is the LFS sha256 of the contents. */
  lfs: boolean;
  /** Where the bytes are (a CDN for large files). */
  location: URL;
}

function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/**
 * HEAD on a resolve URL. Same-site (relative) redirects are followed, as for renamed repos;
 * a redirect elsewhere is where the bytes live, and its own headers describe the file.
 */
export async function fileMetadata(client: HubClient, url: URL): Promise<FileMetadata> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const watchdog = new Watchdog(client.stallTimeoutMs);
    const response = await request(client, current, 'HEAD', watchdog).finally(() => watchdog.stop());
    if (!isRedirect(response.status) && !response.ok) throw await failure(response, current);
    const target = isRedirect(response.status) ? redirectTarget(response, current) : current;
    if (isRedirect(response.status) && target.origin === current.origin) {
      current = target;
      continue;
    }
    const etag = (name: string) => checkedHeader(response, current, name, isEtag, 'a sha1 or sha256 in hexadecimal', normalizeEtag);
    const linkedEtag = etag('X-Linked-Etag');
    const size = Number(response.headers.get('x-linked-size') ?? response.headers.get('content-length') ?? NaN);
    return {
      commit: checkedHeader(response, current, 'X-Repo-Commit', isCommitHash, 'a 40-digit commit hash'),
      etag: linkedEtag ?? etag('ETag'),
      size: Number.isSafeInteger(size) && size >= 0 ? size : undefined,
      lfs: linkedEtag !== undefined,
      location: target,
    };
  }
  throw new Error(`${url}: more than ${MAX_REDIRECTS} redirects`);
}

/** GET following every redirect; the token is dropped as soon as the host changes. The watchdog goes on guarding the body. */
async function get(client: HubClient, url: URL, extra: Record<string, string>): Promise<{ response: Response; url: URL; watchdog: Watchdog }> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const watchdog = new Watchdog(client.stallTimeoutMs);
    const response = await request(client, current, 'GET', watchdog, extra);
    if (!isRedirect(response.status)) return { response, url: current, watchdog };
    watchdog.stop();
    await response.body?.cancel();
    current = redirectTarget(response, current);
  }
  throw new Error(`${url}: more than ${MAX_REDIRECTS} redirects`);
}

/** A transfer that stopped early; the partial file is kept and the next try resumes it. */
class Interrupted extends Error {}

export interface DownloadOptions {
  /** Name shown in progress output. */
  label: string;
  /** Expected size in bytes, when the metadata gave one. */
  size: number | undefined;
  /** The LFS sha256 the contents must hash to. */
  sha256: string | undefined;
  /** Extra attempts after an interrupted transfer, each resuming where the last one stopped. */
  maxRetries: number;
  progress: boolean;
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** One GET, appended to `partial` from its current size (Range) or restarted when the server ignores Range. */
async function transfer(client: HubClient, url: URL, partial: string, options: DownloadOptions): Promise<void> {
  let offset = fileSize(partial);
  if (options.size !== undefined && offset > options.size) offset = 0;
  if (options.size !== undefined && offset === options.size) return;
  const { response, url: source, watchdog } = await get(client, url, offset > 0 ? { Range: `bytes=${offset}-` } : {});
  try {
    if (response.status === 416 || (response.status === 206 && !response.headers.get('content-range')?.startsWith(`bytes ${offset}-`))) {
      // The server disagrees about what we hold: start over.
      await response.body?.cancel();
      fs.rmSync(partial, { force: true });
      throw new Interrupted(`${source} answered ${response.status} to a resume at byte ${offset}`);
    }
    if (response.status !== 206 && response.status !== 200) throw await failure(response, source);
    if (response.status === 200) offset = 0;
    const length = Number(response.headers.get('content-length') ?? NaN);
    const total = options.size ?? (Number.isSafeInteger(length) ? offset + length : undefined);
    const progress = createProgress(options.label, offset, total, options.progress);
    let received = offset;
    const body = response.body;
    async function* counted() {
      if (!body) return;
      try {
        for await (const chunk of body) {
          watchdog.kick();
          if (total !== undefined && received + chunk.length > total) {
            watchdog.controller.abort();
            throw new HubProtocolError(`${source} sent more than the ${total} bytes announced; the download was stopped there and its partial file deleted`);
          }
          received += chunk.length;
          progress.update(received);
          yield chunk;
        }
      } catch (error) {
        if (error instanceof HubProtocolError) throw error;
        // Only failures of the connection are worth a retry; a full disk is not.
        throw new Interrupted(
          watchdog.stalled
            ? `${source.origin} sent ${watchdog.describe()}, after ${received} bytes`
            : `the connection to ${source.origin} broke after ${received} bytes (${describe(error)})`,
          { cause: error },
        );
      }
    }
    try {
      await pipeline(Readable.from(counted()), fs.createWriteStream(partial, { flags: offset > 0 ? 'a' : 'w' }));
    } catch (error) {
      if (error instanceof HubProtocolError) fs.rmSync(partial, { force: true });
      if (error instanceof Interrupted || error instanceof HubProtocolError) throw error;
      throw explainWriteError(error, partial, total === undefined ? undefined : total - offset);
    } finally {
      progress.finish();
    }
    if (total !== undefined && received < total) throw new Interrupted(`${source} ended after ${received} of ${total} bytes`);
  } finally {
    watchdog.stop();
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * Downloads `url` to `blob` through `blob.incomplete`, resuming an earlier partial download,
 * retrying interrupted transfers, and checking size and (for LFS) sha256 before the rename.
 */
export async function downloadBlob(client: HubClient, url: URL, blob: string, options: DownloadOptions): Promise<void> {
  const partial = `${blob}.incomplete`;
  const needed = options.size === undefined ? 0 : options.size - Math.min(fileSize(partial), options.size);
  if (needed > freeBytes(path.dirname(blob))) throw new DiskFullError(blob, needed, undefined, 'free some space, or point HF_HUB_CACHE at a disk with room');
  for (let attempt = 0; ; attempt++) {
    try {
      await transfer(client, url, partial, options);
      break;
    } catch (error) {
      if (!(error instanceof Interrupted || error instanceof HubUnreachableError)) throw error;
      if (attempt >= options.maxRetries) {
        throw new Error(
          `Download of ${url} failed after ${attempt + 1} attempt(s): ${error.message}. ` +
            `The ${fileSize(partial)} bytes received so far are kept in ${partial}; run again to resume.`,
          { cause: error },
        );
      }
      await sleep(Math.min(250 * 2 ** attempt, 4000));
    }
  }
  const size = fileSize(partial);
  if (options.size !== undefined && size !== options.size) {
    fs.rmSync(partial, { force: true });
    throw new Error(`Download of ${url} gave ${size} bytes but the Hub announced ${options.size}; the partial file was deleted, run again.`);
  }
  if (options.sha256 !== undefined) {
    const actual = await sha256Of(partial);
    if (actual !== options.sha256) {
      fs.rmSync(partial, { force: true });
      throw new Error(`Download of ${url} is corrupt: sha256 ${actual}, expected ${options.sha256}; the file was deleted, run again.`);
    }
  }
  const handle = await fs.promises.open(partial, 'r+');
  await handle.sync();
  await handle.close();
  fs.renameSync(partial, blob);
}
