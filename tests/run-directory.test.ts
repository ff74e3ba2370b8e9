/**
 * One run per output directory, from the command line as users meet it: a second `train` on a
 * running run's directory is refused and names the running one, a finished run is not replaced
 * without --overwrite, --resume with nothing to resume says so, and a lock left by a killed
 * process is taken over.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { cli, startCli } from './helpers/cli.js';
import { lockDirectory, LOCK_FILE } from '../src/files/lock.js';

const TRAIN = [
  'train', '--model', 'tests/fixtures/hf-reference/tiny-bert-cls', '--method', 'full', '--backend', 'wasm',
  '--train-size', '32', '--val-size', '16', '--test-size', '16', '--epochs', '1', '--batch-size', '16', '--max-length', '16',
];

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'run-directory-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The PID of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

test('a second train on the directory of a running one is refused, naming the running one; the first finishes', async (t) => {
  const output = join(tempDir(t), 'run');
  // Long enough (several seconds) that the second one starts while it runs.
  const first = startCli([...TRAIN, '--train-size', '1024', '--max-length', '64', '--epochs', '2', '--output', output]);
  const lock = join(output, LOCK_FILE);
  for (let i = 0; i < 600 && !existsSync(lock); i++) await sleep(50);
  assert.ok(existsSync(lock), 'the first run took the lock');
  const second = await cli([...TRAIN, '--output', output]);
  assert.equal(first.child.exitCode, null, 'the first run was still running');
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`${output} is in use by another training run: process ${first.child.pid} on ${hostname()}, started .*Wait for it to finish, stop it, or choose another output directory`));
  const done = await first.done;
  assert.equal(done.code, 0, done.stderr);
  assert.equal(JSON.parse(done.stdout.trim().split('\n').at(-1)!).checkpoint, join(output, 'best'));
  assert.equal(existsSync(lock), false, 'the lock is released at the end');
});

test('a finished run is not replaced without --overwrite; --resume with nothing to resume says so', async (t) => {
  const root = tempDir(t);
  const output = join(root, 'run');
  const first = await cli([...TRAIN, '--output', output]);
  assert.equal(first.code, 0, first.stderr);
  const best = join(output, 'best', 'model.safetensors');
  const written = statSync(best).mtimeMs;

  const again = await cli([...TRAIN, '--output', output]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds a training run; continue it with --resume \(resume: true\), replace it with --overwrite \(overwrite: true; removes last, best\), or choose another output directory/);
  assert.equal(statSync(best).mtimeMs, written, 'best/ untouched');

  const replaced = await cli([...TRAIN, '--output', output, '--overwrite']);
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.ok(statSync(best).mtimeMs > written);

  const empty = join(root, 'empty');
  const nothing = await cli([...TRAIN, '--output', empty, '--resume']);
  assert.equal(nothing.code, 1);
  assert.match(nothing.stderr, new RegExp(`there is nothing to resume in ${empty}: it holds no checkpoint \\(${empty}/last/trainer_state\\.json\\); start the run without resume`));
});

test('a lock whose process is gone is taken over; a live one, in this process too, is not', (t) => {
  const dir = join(tempDir(t), 'run');
  mkdirSync(dir);
  const stale = { pid: deadPid(), host: hostname(), started_at: '2026-01-01T00:00:00.000Z', command: 'finetune-lab train (killed)' };
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify(stale));
  const lock = lockDirectory(dir, 'training run');
  assert.equal(JSON.parse(readFileSync(lock.file, 'utf8')).pid, process.pid);
  assert.throws(() => lockDirectory(dir, 'training run'), new RegExp(`in use by another training run: process ${process.pid}`));
  lock.release();
  assert.equal(existsSync(lock.file), false);
  // A half-written lock (its writer died mid-write) is stale too.
  writeFileSync(join(dir, LOCK_FILE), '{"pid": 12');
  lockDirectory(dir, 'training run').release();
});

test('Ctrl-C during train stops after the step, saves, exits 130, and --resume ends where an uninterrupted run ends', async (t) => {
  const root = tempDir(t);
  const run = [...TRAIN, '--train-size', '256', '--max-length', '32', '--epochs', '2'];
  const straight = await cli([...run, '--output', join(root, 'straight')]);
  assert.equal(straight.code, 0, straight.stderr);

  const output = join(root, 'interrupted');
  const first = startCli([...run, '--output', output]);
  let stderr = '';
  first.child.stderr!.on('data', (chunk) => { stderr += chunk; });
  for (let i = 0; i < 1200 && !/step [1-9]\d*\//.test(stderr); i++) await sleep(25);
  first.child.kill('SIGINT');
  const stopped = await first.done;
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /stopping after this step and saving/);
  const partial = JSON.parse(stopped.stdout.trim().split('\n').at(-1)!);
  assert.equal(partial.completed, false);
  assert.ok(partial.steps > 0 && partial.steps < 32, `stopped mid-run, after ${partial.steps} of 32 steps`);
  assert.equal(partial.test_accuracy, null);
  assert.match(stopped.stderr, new RegExp(`stopped after ${partial.steps} steps, saved in ${output}/last; continue with --resume`));

  const resumed = await cli([...run, '--output', output, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const [a, b] = [straight, resumed].map((r) => JSON.parse(r.stdout.trim().split('\n').at(-1)!));
  for (const key of ['steps', 'epochs', 'val_loss', 'val_accuracy', 'test_accuracy', 'test_f1']) assert.equal(b[key], a[key], key);
  const weights = (dir: string) => readFileSync(join(root, dir, 'best', 'model.safetensors'));
  assert.ok(weights('interrupted').equals(weights('straight')), 'the resumed run saved the same best model');
});
