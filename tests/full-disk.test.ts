/**
 * A full disk in the middle of writing an output: the command fails with an error that names the
 * file, what it needed and what was free, and the previous output is still there, whole. Where
 * the tests run as root, the disk is a real 1 MiB tmpfs; elsewhere a file-size limit (`ulimit -f`)
 * makes the write fail the same way, part-way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, PROJECT } from './helpers/cli.js';

const MODEL = 'tests/fixtures/hf-reference/tiny-bert-cls';
const TOKENIZER = 'tests/fixtures/hf-reference/tiny-bert';
const root = mkdtempSync(join(tmpdir(), 'full-disk-'));
const disk = join(root, 'disk');
mkdirSync(disk);
const tmpfs = process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk]).status === 0;
test.after(() => {
  if (tmpfs) spawnSync('umount', [disk]);
  rmSync(root, { recursive: true, force: true });
});

/** Fills what is left of the tmpfs with one file. */
function fillDisk(): void {
  const fd = openSync(join(disk, 'filler'), 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    closeSync(fd);
  }
}

/** `finetune-lab ARGS` where the disk is full (tmpfs), or under a 16 KiB file-size limit. */
function onFullDisk(args: string[]) {
  if (tmpfs) return cli(args);
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const run = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 16; exec "${process.execPath}" --import tsx src/cli/main.ts ${quoted}`], { cwd: PROJECT, encoding: 'utf8' });
  return Promise.resolve({ code: run.status, stdout: run.stdout, stderr: run.stderr });
}

test('tokenize and forward on a full disk fail naming the file and the space, and leave the previous output intact', async () => {
  const small = join(root, 'small.json');
  const large = join(root, 'large.json');
  writeFileSync(small, JSON.stringify(['a short review']));
  writeFileSync(large, JSON.stringify(Array.from({ length: 64 }, (_, i) => `review number ${i} was long enough to fill its row`)));
  const tokens = join(disk, 'tokens.json');
  const outputs = join(disk, 'outputs.json');
  const [ids, manyIds] = [join(root, 'ids.json'), join(root, 'many-ids.json')];

  for (const [input, file] of [[small, ids], [large, manyIds]]) {
    const run = await cli(['tokenize', '--tokenizer', TOKENIZER, '--input', input, '--output', file, '--max-length', '32']);
    assert.equal(run.code, 0, run.stderr);
  }
  const first = [
    await cli(['tokenize', '--tokenizer', TOKENIZER, '--input', small, '--output', tokens, '--max-length', '32']),
    await cli(['forward', '--model', MODEL, '--input', ids, '--output', outputs, '--backend', 'wasm']),
  ];
  for (const run of first) assert.equal(run.code, 0, run.stderr);
  const before = [readFileSync(tokens), readFileSync(outputs)];
  if (tmpfs) fillDisk();

  const failed = [
    [tokens, await onFullDisk(['tokenize', '--tokenizer', TOKENIZER, '--input', large, '--output', tokens, '--max-length', '250'])],
    [outputs, await onFullDisk(['forward', '--model', MODEL, '--input', manyIds, '--output', outputs, '--backend', 'wasm'])],
  ] as const;
  for (const [file, run] of failed) {
    assert.equal(run.code, 1, run.stderr);
    const why = tmpfs ? `No space left on the device to write ${file}: it needs [\\d.]+ (KiB|MiB), [\\d.]+ (bytes|KiB) free there\\.` : `Cannot write ${file} \\(EFBIG: larger than this process may write`;
    assert.match(run.stderr, new RegExp(`^finetune-lab: ${why}`), run.stderr);
  }
  assert.deepEqual([readFileSync(tokens), readFileSync(outputs)], before);
  assert.deepEqual(readdirSync(disk).filter((name) => name.startsWith('.')), [], 'no temporary files left');
});
