/**
 * The Hub's HTTP protocol, as Python's `huggingface_hub` speaks it: a HEAD request on
 * `resolve/<revision>/<file>` (following only same-site redirects) gives the commit, the ETag
 * and the size; a GET (following every redirect) then brings the bytes (see download.ts). What
 * the server says that becomes a path is checked here, and every request has a stall timeout.
 */
import { isCommitHash, isEtag } from './cache.js';

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
export class Watchdog {
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

export function describe(error: unknown): string {
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

export async function failure(response: Response, url: URL): Promise<HubHttpError> {
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
export async function get(client: HubClient, url: URL, extra: Record<string, string>): Promise<{ response: Response; url: URL; watchdog: Watchdog }> {
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
