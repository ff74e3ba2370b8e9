/**
 * Model files from a local directory or the Hugging Face Hub, through the cache that Python's
 * `huggingface_hub` uses (so a model downloaded by either is found by both).
 *
 * Environment, as in Python: HF_ENDPOINT (default https://huggingface.co), HF_HOME /
 * HF_HUB_CACHE (cache location), HF_HUB_OFFLINE=1 (cache only), HF_TOKEN (or the file
 * `huggingface-cli login` writes) for private and gated models, HF_HUB_DOWNLOAD_TIMEOUT
 * (seconds without a byte before a request is given up; default 10).
 *
 * A server is trusted with bytes, never with paths: the commit, ETag and file names it sends
 * become path components only in the Hub's own forms (hex hashes, relative names), and every path
 * the cache writes, links or returns stays inside the repository's cache folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RepoCache, hfHome, hubCacheDir, isCommitHash, isRelativeName } from './cache.js';
import { downloadBlob } from './download.js';
import { HubHttpError, HubUnreachableError, fileMetadata, type HubClient } from './http.js';


export interface ResolveOptions {
  /** Files that must exist, e.g. `['config.json', 'model.safetensors']`. */
  files: string[];
  /** Files fetched when the repository has them, e.g. `['tokenizer.json', 'vocab.txt']`. */
  optionalFiles?: string[];
  /** Branch, tag or commit hash. Default `main`. */
  revision?: string;
  /** Where HF_* variables are read from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Progress output on stderr. Default true. */
  progress?: boolean;
  /** Extra attempts after an interrupted download, each resuming with a Range request. Default 5. */
  maxRetries?: number;
}

const DEFAULT_STALL_SECONDS = 10;

function stallTimeoutMs(env: NodeJS.ProcessEnv): number {
  const raw = env.HF_HUB_DOWNLOAD_TIMEOUT;
  if (raw === undefined || raw === '') return DEFAULT_STALL_SECONDS * 1000;
  const seconds = Number(raw);
  if (!(seconds > 0)) throw new Error(`HF_HUB_DOWNLOAD_TIMEOUT must be a number of seconds above 0, got ${JSON.stringify(raw)}`);
  return seconds * 1000;
}

const REPO_ID = /^(?:[\w.-]+\/)?[\w.-]+$/;

function isTrue(value: string | undefined): boolean {
  return ['1', 'on', 'yes', 'true'].includes((value ?? '').toLowerCase());
}

function readToken(env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN;
  if (fromEnv) return fromEnv.trim();
  try {
    return fs.readFileSync(env.HF_TOKEN_PATH || path.join(hfHome(env), 'token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function checkFileName(file: string): void {
  if (!isRelativeName(file)) throw new Error(`"${file}" is not a file name inside a model repository (a relative path with / between its parts, without ..)`);
}

function checkRevision(revision: string): void {
  if (!isRelativeName(revision)) throw new Error(`"${revision}" is not a revision: give a branch, a tag or a 40-digit commit hash`);
}

function resolveUrl(endpoint: URL, repoId: string, revision: string, file: string): URL {
  const filePath = file.split('/').map(encodeURIComponent).join('/');
  return new URL(`${endpoint.href.replace(/\/$/, '')}/${repoId}/resolve/${encodeURIComponent(revision)}/${filePath}`);
}

function fromDirectory(dir: string, files: string[]): string {
  const missing = files.filter((file) => !fs.existsSync(path.join(dir, file)));
  if (missing.length > 0) throw new Error(`The model directory ${path.resolve(dir)} lacks ${missing.join(', ')}`);
  return path.resolve(dir);
}

/**
 * The directory holding a model's files. `idOrPath` is an existing local directory (returned
 * after checking the required files are there) or a Hub id such as `bert-base-uncased` or
 * `google/bert_uncased_L-4_H-256_A-4`, whose files are downloaded into the Hugging Face cache
 * unless already there; the result is then the snapshot directory `.../snapshots/<commit>`.
 * Optional files the repository lacks are simply absent from it. Offline (HF_HUB_OFFLINE=1, or
 * the Hub unreachable) the cache alone is used, and an Error lists what is missing and how to get it.
 */
export async function resolveModelFiles(idOrPath: string, options: ResolveOptions): Promise<string> {
  const { files, optionalFiles = [], revision = 'main', env = process.env } = options;
  if (files.length + optionalFiles.length === 0) throw new Error('resolveModelFiles: no files requested');
  [...files, ...optionalFiles].forEach(checkFileName);
  checkRevision(revision);
  if (fs.existsSync(idOrPath) && fs.statSync(idOrPath).isDirectory()) return fromDirectory(idOrPath, files);
  if (!REPO_ID.test(idOrPath) || idOrPath.includes('--') || idOrPath.includes('..')) {
    throw new Error(
      `"${idOrPath}" is neither an existing directory nor a Hugging Face Hub id ` +
        `(like "bert-base-uncased" or "google/bert_uncased_L-4_H-256_A-4")`,
    );
  }

  const endpoint = new URL(env.HF_ENDPOINT || 'https://huggingface.co');
  const cache = new RepoCache(hubCacheDir(env), idOrPath);
  const fromCache = (reason: string) => cachedSnapshot(cache, idOrPath, revision, files, endpoint, reason);
  const wanted = [...files, ...optionalFiles];
  if (isTrue(env.HF_HUB_OFFLINE)) return checkCachedJson(cache, fromCache('HF_HUB_OFFLINE is set'), wanted);
  const client: HubClient = { endpoint, token: readToken(env), stallTimeoutMs: stallTimeoutMs(env) };
  try {
    return checkCachedJson(cache, await download(client, cache, idOrPath, revision, files, optionalFiles, options), wanted);
  } catch (error) {
    if (!(error instanceof HubUnreachableError)) throw error;
    const dir = checkCachedJson(cache, fromCache(error.message), wanted);
    process.stderr.write(`${idOrPath}: ${error.message}; using the cached files in ${dir}\n`);
    return dir;
  }
}

/** `dir`, once the JSON files in it parse: a damaged cached copy is named, with how to clear it, before anything reads it. */
function checkCachedJson(cache: RepoCache, dir: string, files: string[]): string {
  for (const file of files.filter((name) => name.endsWith('.json'))) {
    const link = path.join(dir, file);
    if (!fs.existsSync(link)) continue;
    try {
      JSON.parse(fs.readFileSync(link, 'utf8'));
    } catch (error) {
      throw new Error(
        `The cached ${file} (${fs.realpathSync(link)}, linked from ${link}) is not valid JSON: ${(error as Error).message}. ` +
          `The cached copy is damaged: delete ${cache.root} (the cache of this repository) and run again to download it anew.`,
      );
    }
  }
  return dir;
}

async function download(
  client: HubClient,
  cache: RepoCache,
  repoId: string,
  revision: string,
  files: string[],
  optionalFiles: string[],
  options: ResolveOptions,
): Promise<string> {
  // Once the first answer names the commit, every other file is fetched at that same commit.
  let commit = isCommitHash(revision) ? revision : undefined;
  const wanted = [...files.map((file) => ({ file, required: true })), ...optionalFiles.map((file) => ({ file, required: false }))];
  for (const { file, required } of wanted) {
    if (commit && (cache.hasFile(commit, file) || (!required && cache.knownMissing(commit, file)))) continue;
    const url = resolveUrl(client.endpoint, repoId, commit ?? revision, file);
    let metadata;
    try {
      metadata = await fileMetadata(client, url);
    } catch (error) {
      if (!(error instanceof HubHttpError)) throw error;
      if (error.status === 404 && (error.errorCode === undefined || error.errorCode === 'EntryNotFound')) {
        commit ??= error.commit;
        if (commit) cache.markMissing(commit, file);
        if (!required) continue;
        throw new Error(`${error.message}. The repository "${repoId}" has no "${file}" at revision "${revision}".`, { cause: error });
      }
      throw new Error(explainHttpError(error, repoId, revision), { cause: error });
    }
    if (!metadata.commit || !metadata.etag) {
      throw new Error(
        `${url} answered without the X-Repo-Commit and ETag headers of the Hugging Face Hub; ` +
          `check HF_ENDPOINT (now ${client.endpoint.href})`,
      );
    }
    if (commit === undefined) {
      commit = metadata.commit;
      cache.saveRef(revision, commit);
    }
    const blob = cache.blobPath(metadata.etag);
    if (!fs.existsSync(blob)) {
      fs.mkdirSync(path.dirname(blob), { recursive: true });
      await downloadBlob(client, metadata.location, blob, {
        label: `${repoId}/${file}`,
        size: metadata.size,
        sha256: metadata.lfs && /^[0-9a-f]{64}$/.test(metadata.etag) ? metadata.etag : undefined,
        maxRetries: options.maxRetries ?? 5,
        progress: options.progress ?? true,
      });
    }
    cache.linkFile(commit, file, metadata.etag);
  }
  if (commit === undefined) throw new Error(`${repoId}: none of ${optionalFiles.join(', ')} exists and no commit was named`);
  fs.mkdirSync(cache.snapshotDir(commit), { recursive: true });
  return cache.snapshotDir(commit);
}

function explainHttpError(error: HubHttpError, repoId: string, revision: string): string {
  if (error.errorCode === 'RevisionNotFound') return `${error.message}. "${repoId}" has no revision "${revision}".`;
  if (error.status === 401 || error.status === 403 || error.errorCode === 'RepoNotFound' || error.errorCode === 'GatedRepo') {
    return (
      `${error.message}. The repository "${repoId}" does not exist, is private, or is gated: check the id; ` +
      `for private or gated models set HF_TOKEN to a token with access. ` +
      `(No local directory ${path.resolve(repoId)} exists either; a local model directory path works too.)`
    );
  }
  return error.message;
}

function cachedSnapshot(cache: RepoCache, repoId: string, revision: string, files: string[], endpoint: URL, reason: string): string {
  const commit = cache.commitFor(revision);
  const missing = commit ? files.filter((file) => !cache.hasFile(commit, file)) : files;
  if (commit && missing.length === 0) return cache.snapshotDir(commit);
  throw new Error(
    [
      `Cannot download "${repoId}" (${reason}), and the Hugging Face cache ${cache.root} lacks ` +
        `${missing.join(', ')}${commit ? ` for commit ${commit}` : ` (revision "${revision}" was never downloaded)`}. To fix it, either:`,
      `  - go online: unset HF_HUB_OFFLINE, or set HF_ENDPOINT to a reachable Hub or mirror (now ${endpoint.href});`,
      `  - on a machine with internet run \`huggingface-cli download ${repoId} ${files.join(' ')}\` and copy its ` +
        `${path.basename(cache.root)} folder into ${path.dirname(cache.root)} (or point HF_HUB_CACHE at a copy);`,
      `  - or pass the path of a local directory holding ${files.join(', ')} instead of the Hub id.`,
    ].join('\n'),
  );
}
