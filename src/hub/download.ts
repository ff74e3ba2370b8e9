/**
 * Downloading a file's bytes the way Python's `huggingface_hub` does: into `<blob>.incomplete`,
 * resumably (Range requests after a broken connection or a stall), never past the announced size,
 * renamed to the blob only once complete (and, for LFS files, checked against its sha256).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiskFullError, explainWriteError, freeBytes } from '../files/atomic.js';
import { describe, failure, get, HubProtocolError, HubUnreachableError, type HubClient } from './http.js';
import { createProgress } from './progress.js';

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
      // Each chunk is written before the next is read, and the file is closed before an error
      // propagates: a failed call leaves exactly the bytes counted, for the next call to resume
      // from (a write stream, destroyed on error, may still be writing after the rejection).
      const file = await fs.promises.open(partial, offset > 0 ? 'a' : 'w');
      try {
        for await (const chunk of counted()) await file.write(chunk);
      } finally {
        await file.close();
      }
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
