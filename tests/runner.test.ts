// `finetune-lab run` on the fixture notebooks in tests/notebooks, with the real kernel: failures
// must name the cell, show its source and the real error, and stop the notebook; a good notebook's
// outputs land in the executed copy; hanging cells are stopped; no kernel outlives the runner.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { requireSystem } from '../kernel-setup/system.mjs';
import type { Notebook } from '../src/notebooks/notebook.js';
import { nbconvert } from './helpers/nbconvert.js';

const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.join(ROOT, 'tests', 'notebooks');
const OUT = mkdtempSync(path.join(tmpdir(), 'finetune-lab-runner-'));

interface Run { code: number | null; signal: NodeJS.Signals | null; output: string }

/** Runs `finetune-lab run` on one fixture; `onOutput` may act on the output as it comes. */
function runCli(fixture: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, onOutput?: (soFar: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/cli/main.js', 'run', path.join(FIXTURES, fixture), '--out', OUT, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => {
        output += chunk;
        onOutput?.(output, child);
      });
    }
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

function executed(fixture: string): Notebook {
  return JSON.parse(readFileSync(path.join(OUT, fixture), 'utf8')) as Notebook;
}

/** Kernel processes started for the fixture notebooks (their working directory) that are alive. */
function fixtureKernels(): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes('kernel.cjs') && readlinkSync(`/proc/${pid}/cwd`) === FIXTURES) pids.push(Number(pid));
    } catch { /* ended meanwhile */ }
  }
  return pids;
}

/** Waits up to two seconds (a killed process takes a moment to go) for no fixture kernel to be left. */
async function assertNoKernelLeft(): Promise<void> {
  for (let i = 0; i < 20 && fixtureKernels().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(fixtureKernels(), [], 'a kernel outlived the runner');
}

/** Checks a failed run: exit code, cell number, the cell's source, the real error, later cells not run. */
async function assertFailedAt(run: Run, fixture: string, cell: number, errorParts: string[]): Promise<void> {
  assert.equal(run.code, 1, run.output);
  assert.match(run.output, new RegExp(`${fixture.replace('.', '\\.')}: cell ${cell} of \\d+ failed`));
  const notebook = executed(fixture);
  const source = notebook.cells[cell - 1].source;
  assert.ok(run.output.includes((Array.isArray(source) ? source.join('') : source).trimEnd()), `the cell's source is missing in:\n${run.output}`);
  for (const part of errorParts) assert.ok(run.output.includes(part), `"${part}" is missing in:\n${run.output}`);
  for (const later of notebook.cells.slice(cell)) {
    assert.equal(later.execution_count, null);
    assert.deepEqual(later.outputs, []);
  }
  assert.ok(!run.output.includes('this cell must not run'));
  await assertNoKernelLeft();
}

before(() => {
  execFileSync(process.execPath, ['kernel-setup/setup.mjs', '--for', 'tests'], { cwd: ROOT, stdio: 'inherit' });
});

test('a good notebook: stream, text/html, execute_result outputs; environment and working directory reach the kernel', async () => {
  const run = await runCli('good.ipynb', [], { FINETUNE_LAB_FIXTURE: 'from-the-runner' });
  assert.equal(run.code, 0, run.output);
  assert.match(run.output, /good\.ipynb: kernel [\d.]+s, cells 2\/5:[\d.]+s 3\/5:[\d.]+s 4\/5:[\d.]+s 5\/5:[\d.]+s ok/);
  const cells = executed('good.ipynb').cells;
  assert.deepEqual(cells[1].outputs, [
    { output_type: 'stream', name: 'stdout', text: 'hello from the first cell\n' },
    { output_type: 'stream', name: 'stderr', text: 'a line on stderr\n' },
  ]);
  assert.deepEqual(cells[2].outputs, [{ output_type: 'display_data', data: { 'text/html': '<b>bold from tslab</b>' }, metadata: {} }]);
  assert.deepEqual(cells[3].outputs, [{ output_type: 'execute_result', execution_count: 3, data: { 'text/plain': '42' }, metadata: {} }]);
  assert.deepEqual(cells[4].outputs, [{ output_type: 'stream', name: 'stdout', text: 'cwd=notebooks fixture=from-the-runner\n' }]);
  assert.deepEqual(cells.slice(1).map((c) => c.execution_count), [1, 2, 3, 4]);
});

test('a throwing cell fails the run with its stack trace', async () => {
  const run = await runCli('throws.ipynb');
  await assertFailedAt(run, 'throws.ipynb', 2, ['Error: the fixture exploded on purpose', 'at explode']);
  const error = executed('throws.ipynb').cells[1].outputs?.find((o) => o.output_type === 'error');
  assert.deepEqual(error && [error.output_type, 'ename' in error && error.ename, 'evalue' in error && error.evalue], ['error', 'Error', 'the fixture exploded on purpose']);
});

test('a TypeScript type error fails the run with the diagnostic', async () => {
  const run = await runCli('type-error.ipynb');
  await assertFailedAt(run, 'type-error.ipynb', 2, ["1:7 - Type 'string' is not assignable to type 'number'."]);
});

test('an unhandled promise rejection fails the run, although the cell body finished', async () => {
  const run = await runCli('rejection.ipynb');
  await assertFailedAt(run, 'rejection.ipynb', 2, ['UnhandledPromiseRejection', 'Error: rejected and nobody listened']);
});

test('a kernel that dies in a cell fails the run, naming the cell', async () => {
  const run = await runCli('dies.ipynb');
  await assertFailedAt(run, 'dies.ipynb', 2, ['the kernel process ended (exit code 3)']);
});

test('a cell awaiting forever is interrupted at the time limit', async () => {
  const started = Date.now();
  const run = await runCli('hangs.ipynb', ['--timeout', '2']);
  await assertFailedAt(run, 'hangs.ipynb', 2, ['cell 2 did not finish within its time limit of 2 s and was interrupted', '--timeout']);
  assert.ok(Date.now() - started < 60_000);
});

test('a busy loop that ignores the interrupt gets its kernel killed at the time limit', async () => {
  const run = await runCli('busy.ipynb', ['--timeout', '2']);
  await assertFailedAt(run, 'busy.ipynb', 2, ['cell 2 did not finish within its time limit of 2 s; it ignored the interrupt', 'the kernel was killed']);
});

test('Ctrl-C stops the runner and its kernel', async () => {
  let interrupted = false;
  const run = await runCli('hangs.ipynb', [], {}, (soFar, child) => {
    if (!interrupted && soFar.includes(' 2/3')) {
      interrupted = true;
      child.kill('SIGINT');
    }
  });
  assert.ok(interrupted, run.output);
  assert.equal(run.code, 130, run.output);
  assert.match(run.output, /SIGINT, stopping the kernel/);
  await assertNoKernelLeft();
});

/** Runs `finetune-lab run` on one fixture in a pseudo-terminal (script(1)), as a person at a terminal would. */
function runInTerminal(fixture: string): Promise<Run> {
  assert.ok(existsSync('/usr/bin/script'), 'this test needs script(1) for a pseudo-terminal: sudo apt-get install bsdutils');
  const command = `stty cols 300 && exec '${process.execPath}' dist/cli/main.js run '${path.join(FIXTURES, fixture)}' --out '${OUT}'`;
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/script', ['-qfec', command, '/dev/null'], { cwd: ROOT });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

/** A cell's outputs with the numbers blanked: two runs of a training loop differ only there. */
function shape(outputs: unknown): unknown {
  return JSON.parse(JSON.stringify(outputs).replace(/\d+(\.\d+)?/g, '#'));
}

test('a training cell shows its progress as one display updated in place; the terminal shows it while the cell runs', async () => {
  const run = await runInTerminal('progress.ipynb');
  assert.equal(run.code, 0, run.output);
  // The status line is redrawn in place (\r) with the training loop's latest state. Each redraw
  // names the running cell, so these were shown while the training cell (3 of 4) ran.
  const redraws = run.output.split('\r');
  const training = redraws.map((r) => /progress\.ipynb: cell 3\/4, \d+s: (epoch \d\/2 \[[█░]+\] step \d+\/\d+ \| loss \d\.\d+ \| [\d.]+ samples\/s \| \S+ left)/.exec(r)?.[1]).filter(Boolean);
  assert.ok(new Set(training).size >= 2, `the terminal showed fewer than two states of the training loop:\n${JSON.stringify(redraws, null, 1)}`);
  const firstProgress = redraws.findIndex((r) => /cell 3\/4, \d+s: epoch/.test(r));
  const summary = redraws.findIndex((r) => r.includes('cells 2/4:'));
  assert.ok(firstProgress >= 0 && firstProgress < summary, 'the progress came after the notebook ended');
  assert.match(run.output, /progress\.ipynb: kernel [\d.]+s, cells 2\/4:[\d.]+s 3\/4:[\d.]+s 4\/4:[\d.]+s ok/);

  // The executed notebook keeps the display's final state: one output, the epochs' results.
  const outputs = executed('progress.ipynb').cells[2].outputs!;
  assert.equal(outputs.length, 1, JSON.stringify(outputs));
  const [display] = outputs;
  assert.equal(display.output_type, 'display_data');
  const text = 'data' in display ? String(display.data['text/plain']) : '';
  assert.match(text, /^epoch 1\/2: train loss \d\.\d{4}, val loss \d\.\d{4}, val accuracy [\d.]+%\nepoch 2\/2: train loss \d\.\d{4}, val loss \d\.\d{4}, val accuracy [\d.]+%$/);

  // Jupyter's own executor (nbclient, through nbconvert) records the same outputs.
  requireSystem('python-jupyter');
  const reference = nbconvert('tests/notebooks/progress.ipynb', path.join(OUT, 'nbclient'));
  assert.equal(reference.status, 0, reference.output);
  const joined = (reference.executed().cells[2].outputs ?? []).map((o) => ('data' in o ? { ...o, data: { 'text/plain': ([] as string[]).concat(o.data['text/plain'] as string[]).join('') } } : o));
  assert.deepEqual(shape(outputs), shape(joined));
});
