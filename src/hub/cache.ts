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
import { removeStaleTemps, tempSibling, writeFileAtomic } from '../files/atomic.js';

const COMMIT = /^[0-9a-f]{40}$/;
/** A git blob's sha1 or an LFS file's sha256, the only names a blob may have. */
const ETAG = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export function isCommitHash(revision: string): boolean {
  return COMMIT.test(revision);
}

export function isEtag(etag: string): boolean {
  return ETAG.test(etag);
}

/** A relative path without `..`, `.` or empty parts, `/`-separated (also a branch name like `refs/pr/1`). */
export function isRelativeName(name: string): boolean {
  return name.length > 0 && !name.includes('\\') && !name.includes('\0') && !path.isAbsolute(name) && name.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
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

/** One model repository's folder in the cache. */
export class RepoCache {
  readonly root: string;

  constructor(cacheDir: string, repoId: string) {
    this.root = path.join(cacheDir, `models--${repoId.replace(/\//g, '--')}`);
  }

  /**
   * `parts` joined under the repository's folder. Every path the client writes, links or returns
   * is made here, and one that would leave the folder is refused, whatever a server sent.
   */
  private inside(...parts: string[]): string {
    const resolved = path.resolve(this.root, ...parts);
    if (!resolved.startsWith(this.root + path.sep)) throw new Error(`refusing ${resolved}: it is outside the cache folder ${this.root}`);
    return resolved;
  }

  blobPath(etag: string): string {
    if (!isEtag(etag)) throw new Error(`refusing the blob name ${JSON.stringify(etag)}: not a sha1 or sha256`);
    return this.inside('blobs', etag);
  }

  snapshotDir(commit: string): string {
    if (!isCommitHash(commit)) throw new Error(`refusing the commit ${JSON.stringify(commit)}: not 40 hexadecimal digits`);
    return this.inside('snapshots', commit);
  }

  private snapshotFile(commit: string, file: string): string {
    if (!isRelativeName(file)) throw new Error(`refusing the file name ${JSON.stringify(file)}: not a relative path inside a repository`);
    const target = path.join(this.snapshotDir(commit), file);
    if (!target.startsWith(this.snapshotDir(commit) + path.sep)) throw new Error(`refusing ${target}: outside its snapshot`);
    return target;
  }

  private refPath(revision: string): string {
    if (!isRelativeName(revision)) throw new Error(`refusing the revision ${JSON.stringify(revision)}: not a branch, tag or commit name`);
    return this.inside('refs', revision);
  }

  /** The commit a revision resolves to from the cache alone, if known. */
  commitFor(revision: string): string | undefined {
    if (isCommitHash(revision)) return revision;
    try {
      const commit = fs.readFileSync(this.refPath(revision), 'utf8').trim();
      return isCommitHash(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  saveRef(revision: string, commit: string): void {
    if (revision !== commit) writeFileAtomic(this.refPath(revision), commit);
  }

  /** Whether the snapshot has the file with its blob present (a dangling link does not count). */
  hasFile(commit: string, file: string): boolean {
    return fs.existsSync(this.snapshotFile(commit, file));
  }

  /** Whether the Hub said, at this commit, that the file does not exist. */
  knownMissing(commit: string, file: string): boolean {
    return fs.existsSync(this.inside('.no_exist', commit, file));
  }

  markMissing(commit: string, file: string): void {
    this.snapshotFile(commit, file); // the same checks of both names
    writeFileAtomic(this.inside('.no_exist', commit, file), '');
  }

  /**
   * Points snapshots/<commit>/<file> at the blob with a relative link (the cache stays movable).
   * Only a link is ever replaced: a real file there is not this client's to overwrite.
   */
  linkFile(commit: string, file: string, etag: string): void {
    const link = this.snapshotFile(commit, file);
    const blob = this.blobPath(etag);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    const existing = fs.lstatSync(link, { throwIfNoEntry: false });
    if (existing && !existing.isSymbolicLink() && process.platform !== 'win32') {
      throw new Error(`refusing to replace ${link}: it is a file, not a link this client made; move it away and run again`);
    }
    const temp = tempSibling(link, 'tmp');
    try {
      fs.symlinkSync(path.relative(path.dirname(link), blob), temp);
    } catch (error) {
      // Windows without developer mode cannot create symlinks; Python copies the blob then too.
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
      fs.copyFileSync(blob, temp);
    }
    fs.renameSync(temp, link);
    removeStaleTemps(link);
  }
}
