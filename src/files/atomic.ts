/**
 * Writing files and directories so that a crash, a `kill -9` or a full disk at any moment leaves
 * the old content or the new one, never a mixture: the bytes go to a temporary sibling, are
 * flushed to disk, and the sibling is renamed over the target (a rename within one directory is
 * atomic). Every writer in the project goes through here, so there is one naming scheme for the
 * temporary siblings, `.NAME.PID-RANDOM.tmp`, and the leftovers of a killed process are
 * recognised by their dead PID and removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isProcessAlive } from './process.js';

/** A sibling of `target` that only this process writes: `.NAME.PID-RANDOM.KIND`. */
export function tempSibling(target: string, kind: 'tmp' | 'old'): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.${kind}`);
}

/** The temporary siblings of `target` that writers left behind, with the PID that made each. */
export function leftoversOf(target: string): { path: string; pid: number; kind: 'tmp' | 'old' }[] {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const match = name.startsWith(prefix) ? /^(\d+)-[0-9a-f]+\.(tmp|old)$/.exec(name.slice(prefix.length)) : null;
    return match ? [{ path: path.join(dir, name), pid: Number(match[1]), kind: match[2] as 'tmp' | 'old' }] : [];
  });
}

/** Removes what killed writers of `target` left behind; a live process's siblings are its own business. */
export function removeStaleTemps(target: string): string[] {
  const removed: string[] = [];
  for (const leftover of leftoversOf(target)) {
    if (leftover.pid === process.pid || isProcessAlive(leftover.pid)) continue;
    removeTree(leftover.path);
    removed.push(leftover.path);
  }
  return removed;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) [value, unit] = [value / 1024, unit + 1];
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Bytes an unprivileged writer can still put on the file system that holds `dir` (or its nearest existing parent). */
export function freeBytes(dir: string): number {
  let existing = path.resolve(dir);
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const stats = fs.statfsSync(existing);
  return stats.bavail * stats.bsize;
}

/** The disk (or the user's quota) is full: names what was being written, what it needed, and what is free. */
export class DiskFullError extends Error {
  constructor(readonly target: string, readonly needed: number | undefined, cause?: unknown, fix = 'free some space or write somewhere else; the previous copy, if there was one, is unchanged') {
    const free = freeBytes(path.dirname(target));
    super(
      `No space left on the device to write ${target}` +
        `${needed !== undefined ? `: it needs ${formatBytes(needed)}` : ''}, ${formatBytes(free)} free there. ` +
        `${fix[0].toUpperCase()}${fix.slice(1)}.`,
      { cause },
    );
  }
}

/** Turns a file system error met while writing `target` into one that names it and the fix. */
export function explainWriteError(error: unknown, target: string, needed?: number): Error {
  if (error instanceof DiskFullError) return error.target === target ? error : new DiskFullError(target, needed ?? error.needed, error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new DiskFullError(target, needed, error);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new Error(`Cannot write ${target} (${code}: permission denied or read-only file system); choose a directory you can write to`, { cause: error });
  }
  if (code === 'EFBIG') return new Error(`Cannot write ${target} (EFBIG: larger than this process may write; see \`ulimit -f\`)`, { cause: error });
  if (code === 'ENOTDIR' || code === 'EISDIR') return new Error(`Cannot write ${target} (${code}): a part of that path is a file where a directory is expected, or the other way round`, { cause: error });
  return error instanceof Error ? error : new Error(String(error));
}

/** Makes a rename durable. Windows cannot open directories, and needs no such step. */
function syncDirectory(dir: string): void {
  if (process.platform === 'win32') return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function removeTree(target: string): void {
  fs.rmSync(target, { recursive: true, force: true });
}

/** Writes `data` to `file` atomically. `mode` sets the new file's permissions (e.g. 0o600 for secrets). */
export function writeFileAtomic(file: string, data: string | Uint8Array, options: { mode?: number } = {}): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const temp = tempSibling(file, 'tmp');
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const fd = fs.openSync(temp, 'wx', options.mode ?? 0o666);
    try {
      for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
    syncDirectory(path.dirname(file));
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw explainWriteError(error, file, bytes.length);
  } finally {
    removeStaleTemps(file);
  }
}

/**
 * Writes `file` atomically through `write`, which fills the open handle (for files too large to
 * hold twice in memory). `size`, when known, makes a full-disk error say what was needed.
 */
export async function writeFileAtomicWith(file: string, write: (handle: fs.promises.FileHandle) => Promise<void>, size?: number): Promise<void> {
  const temp = tempSibling(file, 'tmp');
  try {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const handle = await fs.promises.open(temp, 'wx');
    try {
      await write(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temp, file);
    syncDirectory(path.dirname(file));
  } catch (error) {
    await fs.promises.rm(temp, { force: true });
    throw explainWriteError(error, file, size);
  } finally {
    removeStaleTemps(file);
  }
}

/** Written last into a directory copy: a copy without it was interrupted and is never restored. */
export const COMPLETE_MARKER = '.complete';

function completedAt(dir: string): number | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, COMPLETE_MARKER), 'utf8')) as { completed_at_ms: number }).completed_at_ms;
  } catch {
    return undefined;
  }
}

/** Removes a directory copy so that, if this is interrupted too, what is left is recognisably incomplete. */
function removeCopy(dir: string): void {
  fs.rmSync(path.join(dir, COMPLETE_MARKER), { force: true });
  removeTree(dir);
}

/**
 * Writes a directory atomically: `write` fills a temporary sibling; the completion marker goes in
 * last; then the old copy is moved aside, the new one renamed in, and the old one removed
 * (its marker first). A crash at any point leaves complete copies that `recoverDirectory` tells
 * apart from interrupted ones.
 */
export async function writeDirectoryAtomic(dir: string, write: (tmp: string) => Promise<void> | void): Promise<void> {
  recoverDirectory(dir);
  const tmp = tempSibling(dir, 'tmp');
  try {
    fs.mkdirSync(tmp, { recursive: true });
    await write(tmp);
    writeFileAtomic(path.join(tmp, COMPLETE_MARKER), JSON.stringify({ completed_at_ms: Date.now(), pid: process.pid }) + '\n');
    syncDirectory(tmp);
  } catch (error) {
    removeTree(tmp);
    throw explainWriteError(error, dir);
  }
  const old = tempSibling(dir, 'old');
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(tmp, dir);
  syncDirectory(path.dirname(dir));
  removeCopy(old);
}

/**
 * Puts the directory back in order after crashes in `writeDirectoryAtomic`: of `dir` and the
 * copies that killed writers left beside it, keeps the newest complete one as `dir` and removes
 * the others. Returns one line per action, for the caller to report; none when all was well.
 */
export function recoverDirectory(dir: string): string[] {
  const leftovers = leftoversOf(dir).filter((l) => l.pid !== process.pid && !isProcessAlive(l.pid));
  if (leftovers.length === 0) return [];
  const actions: string[] = [];
  // `dir` itself only ever appears by a rename of a complete copy; older runs wrote no marker.
  const current = fs.existsSync(dir) ? (completedAt(dir) ?? -Infinity) : undefined;
  const complete = leftovers.map((l) => ({ ...l, at: completedAt(l.path) })).filter((l) => l.at !== undefined);
  const newest = complete.sort((a, b) => b.at! - a.at!)[0];
  if (newest && (current === undefined || newest.at! > current)) {
    if (current !== undefined) removeCopy(dir);
    fs.renameSync(newest.path, dir);
    actions.push(`restored ${dir} from ${path.basename(newest.path)}, the newest complete copy an interrupted write left`);
  }
  for (const leftover of leftovers) {
    if (!fs.existsSync(leftover.path)) continue; // the copy just restored
    const what = completedAt(leftover.path) === undefined ? 'an incomplete' : 'an older';
    removeCopy(leftover.path);
    actions.push(`removed ${path.basename(leftover.path)}, ${what} copy left by an interrupted write`);
  }
  return actions;
}
