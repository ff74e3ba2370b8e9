/**
 * One run per output directory. A run holds `DIR/run.lock`, which names its PID, host, start
 * time and command line; a second run on the same directory is refused with those details, and
 * a lock whose process is gone (killed, crashed, the machine restarted) is taken over.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { explainWriteError, tempSibling } from './atomic.js';
import { isProcessAlive, processStartTime } from './process.js';

export const LOCK_FILE = 'run.lock';

interface LockOwner {
  pid: number;
  host: string;
  /** The owner's start time in clock ticks (Linux), to tell a reused PID apart. */
  process_start?: number;
  started_at: string;
  command: string;
}

/** A directory another live run holds. */
export class DirectoryLockedError extends Error {}

export interface DirectoryLock {
  readonly file: string;
  /** Gives the directory up; safe to call twice. */
  release(): void;
}

function readOwner(file: string): LockOwner | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    return undefined; // gone, or half-written by a writer that died: treated as stale
  }
}

/** Lock files this process holds now: one it wrote but no longer holds (an error skipped the release) is stale. */
const held = new Set<string>();

function ownerIsAlive(owner: LockOwner | undefined, file: string): boolean {
  if (!owner) return false;
  if (owner.pid === process.pid && owner.host === os.hostname()) return held.has(file);
  if (owner.host !== os.hostname()) return true; // another machine's process: cannot tell, so never steal
  if (!isProcessAlive(owner.pid)) return false;
  const start = processStartTime(owner.pid);
  return owner.process_start === undefined || start === undefined || start === owner.process_start;
}

/**
 * Takes `dir` (created if needed) for this process. Throws `DirectoryLockedError` naming the
 * running owner when another live process holds it; `what` describes the run in that message.
 */
export function lockDirectory(dir: string, what: string): DirectoryLock {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.resolve(dir, LOCK_FILE);
  const owner: LockOwner = {
    pid: process.pid, host: os.hostname(), process_start: processStartTime(process.pid),
    started_at: new Date().toISOString(), command: process.argv.slice(1).join(' '),
  };
  // The lock appears whole or not at all: written aside, then linked in (link fails if it exists).
  const temp = tempSibling(file, 'tmp');
  try {
    fs.writeFileSync(temp, JSON.stringify(owner, null, 1) + '\n');
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw explainWriteError(error, file);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(temp, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw error;
      }
      const holder = readOwner(file);
      if (ownerIsAlive(holder, file)) {
        throw new DirectoryLockedError(
          `${dir} is in use by another ${what}: process ${holder!.pid} on ${holder!.host}, started ${holder!.started_at}` +
            `${holder!.command ? ` (${holder!.command})` : ''}. Wait for it to finish, stop it, or choose another output directory.`,
        );
      }
      // Its owner is gone: take it over, unless another process did so in the meantime.
      if (JSON.stringify(readOwner(file)) === JSON.stringify(holder)) fs.rmSync(file, { force: true });
    }
  } finally {
    fs.rmSync(temp, { force: true });
  }
  held.add(file);
  return {
    file,
    release() {
      if (!held.delete(file)) return;
      if (readOwner(file)?.pid === process.pid) fs.rmSync(file, { force: true });
    },
  };
}
