/**
 * Capturing what native code writes to the process's standard error. Dawn (the `webgpu` package)
 * prints its diagnostics with the C library's `fprintf(stderr, ...)`, straight to file descriptor
 * 2, past Node's `process.stderr`: no JavaScript hook sees them. Pointing descriptor 2 at a file
 * for the duration of a call (`dup2`, reached through the koffi FFI) is the only way to catch them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface Libc {
  dup(fd: number): number;
  dup2(fd: number, to: number): number;
}

/** The C library that has dup and dup2, where its name is known. */
const LIBC: Partial<Record<NodeJS.Platform, string>> = { linux: 'libc.so.6', darwin: 'libSystem.B.dylib' };

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  const name = LIBC[process.platform];
  if (!name) return libc;
  try {
    const lib = require('koffi').load(name);
    libc = { dup: lib.func('int dup(int)'), dup2: lib.func('int dup2(int, int)') };
  } catch {
    // koffi or the C library could not be loaded (e.g. musl): run uncaptured.
  }
  return libc;
}

/**
 * Runs `run` with file descriptor 2 pointing at a temporary file and returns its value with what
 * was written there meanwhile, native or not. Where dup/dup2 cannot be loaded, `run` writes to
 * the real standard error and `text` is empty. If `run` throws, what it wrote goes to the real
 * standard error before the error propagates.
 */
export async function captureNativeStderr<T>(run: () => Promise<T>): Promise<{ value: T; text: string }> {
  const c = loadLibc();
  if (!c) return { value: await run(), text: '' };
  const file = path.join(os.tmpdir(), `finetune-lab-stderr-${process.pid}-${Date.now()}`);
  const capture = fs.openSync(file, 'w+', 0o600);
  fs.unlinkSync(file);
  const saved = c.dup(2);
  if (saved < 0 || c.dup2(capture, 2) < 0) {
    if (saved >= 0) fs.closeSync(saved);
    fs.closeSync(capture);
    return { value: await run(), text: '' };
  }
  const restore = (): string => {
    c.dup2(saved, 2);
    fs.closeSync(saved);
    // Read from the start: descriptor 2 shared the file's offset and left it at the end.
    const bytes = Buffer.alloc(fs.fstatSync(capture).size);
    fs.readSync(capture, bytes, 0, bytes.length, 0);
    fs.closeSync(capture);
    return bytes.toString('utf8');
  };
  let value: T;
  try {
    value = await run();
  } catch (err) {
    process.stderr.write(restore());
    throw err;
  }
  return { value, text: restore() };
}
