// A Jupyter client nobody here wrote: Debian's `jupyter nbconvert --to notebook --execute` on the
// finetune-lab kernel. A course notebook runs under the ci profile with every cell executed, its
// backend line, its chart and no error or stderr output, and nothing from Dawn or tfjs on the
// kernel's stderr; a throwing cell fails nbconvert with the real error name, value and traceback.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { requireSystem } from '../kernel-setup/system.mjs';
import type { Output } from '../src/notebooks/notebook.js';
import { nbconvert as execute } from './helpers/nbconvert.js';

const ROOT = path.resolve(__dirname, '..');
const OUT = mkdtempSync(path.join(tmpdir(), 'finetune-lab-nbconvert-'));

before(() => {
  execFileSync(process.execPath, ['kernel-setup/setup.mjs', '--for', 'tests'], { cwd: ROOT, stdio: 'inherit' });
  requireSystem('python-jupyter');
});

const nbconvert = (notebook: string) => execute(notebook, OUT, { FINETUNE_LAB_PROFILE: 'ci' });

const textOf = (o: Output): string => ('text' in o ? [o.text].flat().join('') : 'data' in o ? [o.data['text/plain'] ?? '', o.data['text/html'] ?? ''].flat().join('') : '');

test('nbconvert executes notebooks/00-environment.ipynb on the finetune-lab kernel: every cell, the backend line, a chart, nothing on stderr', () => {
  const run = nbconvert('notebooks/00-environment.ipynb');
  assert.equal(run.status, 0, run.output);
  const code = run.executed().cells.filter((c) => c.cell_type === 'code' && [c.source].flat().join('').trim() !== '');
  assert.deepEqual(code.map((c) => c.execution_count), code.map((_, i) => i + 1), 'every code cell ran, in order');
  const outputs = code.flatMap((c) => c.outputs ?? []);
  assert.deepEqual(outputs.filter((o) => o.output_type === 'error'), []);
  assert.deepEqual(outputs.filter((o) => o.output_type === 'stream' && o.name === 'stderr').map(textOf), []);
  assert.match(outputs.map(textOf).join('\n'), /finetune-lab: TensorFlow\.js backend "\w+" on .+: chosen automatically/);
  assert.ok(outputs.some((o) => o.output_type === 'display_data' && textOf(o).includes('finetune-lab-plot')), 'a chart output');
  // The kernel's own stderr reaches nbconvert's.
  assert.doesNotMatch(run.output, /^Warning: /m, 'no Dawn warning');
  assert.doesNotMatch(run.output, /Hi, looks like you are running TensorFlow\.js|Platform \w+ has already been set/, 'no tfjs banner');
});

test('nbconvert fails on a throwing cell with the real error name, value and traceback', () => {
  const run = nbconvert('tests/notebooks/throws.ipynb');
  assert.notEqual(run.status, 0, run.output);
  assert.match(run.output, /CellExecutionError/);
  assert.match(run.output, /Error: the fixture exploded on purpose/);
  assert.match(run.output, /at explode/, 'the stack trace');
  assert.doesNotMatch(run.output, /this cell must not run/);
});
