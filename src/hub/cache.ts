/**
 * The Hugging Face cache layout, shared with Python's `huggingface_hub`:
 *
 *   $HF_HUB_CACHE/models--ORG--NAME/
 *     blobs/<etag>                         file contents, named by git sha1 or LFS sha256
 *     snapshots/<commit>/<file>            symlink to ../../blobs/<etag>
 *     refs/<revision>                      the commit a branch or tag pointed to
 *     .no_exist/<commit>/<file>            marks a file the Hub said does not exist
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

const COMMIT = /^[0-9a-f]{40}$/;

export function isCommitHash(revision: string): boolean {
  return COMMIT.test(revision);
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

/** `HF_HUB_CACHE`, else `$HF_HOME/hub`, with Python's defaults (`~/.cache/huggingface`). */
export function hubCacheDir(env: NodeJS.ProcessEnv): string {
  const cache = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (cache) return path.resolve(expandHome(cache));
  return path.join(hfHome(env), 'hub');
}

export function hfHome(env: NodeJS.ProcessEnv): string {
  return path.resolve(expandHome(env.HF_HOME || path.join(env.XDG_CACHE_HOME || '~/.cache', 'huggingface')));
}

/** Writes a small file atomically (temp name + rename), so readers see the old or new content. */
function writeAtomic(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temp, content);
  fs.renameSync(temp, file);
}

/** One model repository's folder in the cache. */
export class RepoCache {
  readonly root: string;

  constructor(cacheDir: string, repoId: string) {
    this.root = path.join(cacheDir, `models--${repoId.replace(/\//g, '--')}`);
  }

  blobPath(etag: string): string {
    return path.join(this.root, 'blobs', etag);
  }

  snapshotDir(commit: string): string {
    return path.join(this.root, 'snapshots', commit);
  }

  /** The commit a revision resolves to from the cache alone, if known. */
  commitFor(revision: string): string | undefined {
    if (isCommitHash(revision)) return revision;
    try {
      const commit = fs.readFileSync(path.join(this.root, 'refs', revision), 'utf8').trim();
      return isCommitHash(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  saveRef(revision: string, commit: string): void {
    if (revision !== commit) writeAtomic(path.join(this.root, 'refs', revision), commit);
  }

  /** Whether the snapshot has the file with its blob present (a dangling link does not count). */
  hasFile(commit: string, file: string): boolean {
    return fs.existsSync(path.join(this.snapshotDir(commit), file));
  }

  /** Whether the Hub said, at this commit, that the file does not exist. */
  knownMissing(commit: string, file: string): boolean {
    return fs.existsSync(path.join(this.root, '.no_exist', commit, file));
  }

  markMissing(commit: string, file: string): void {
    writeAtomic(path.join(this.root, '.no_exist', commit, file), '');
  }

  /** Points snapshots/<commit>/<file> at the blob with a relative link (the cache stays movable). */
  linkFile(commit: string, file: string, etag: string): void {
    const link = path.join(this.snapshotDir(commit), file);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    const target = path.relative(path.dirname(link), this.blobPath(etag));
    const temp = `${link}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.symlinkSync(target, temp);
    } catch (error) {
      // Windows without developer mode cannot create symlinks; Python copies the blob then too.
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
      fs.copyFileSync(this.blobPath(etag), temp);
    }
    fs.renameSync(temp, link);
  }
}
