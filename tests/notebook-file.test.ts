/** Notebook files that are valid JSON but not valid notebooks: the error names the file, the cell and the field. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNotebook } from '../src/jupyter/notebook.js';
import { cli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'notebook-file-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function notebookWith(cells: unknown[]): string {
  const file = join(dir, `nb-${Math.random().toString(36).slice(2)}.ipynb`);
  writeFileSync(file, JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells }));
  return file;
}

const good = { cell_type: 'code', id: 'ok', source: '1 + 1', metadata: {}, outputs: [], execution_count: null };

test('a malformed cell is named by file, number, id and field', () => {
  const cases: [unknown, RegExp][] = [
    [null, /cell 2 is null, not a cell object/],
    [{ ...good, id: 'numeric', source: 42 }, /cell 2 \(id "numeric"\) has the field "source" 42, not a string or a list of strings/],
    [{ ...good, source: ['a', 3] }, /cell 2 \(id "ok"\) has the field "source" \["a",3\], not a string or a list of strings/],
    [{ ...good, cell_type: 'python' }, /has the field "cell_type" "python", not "code", "markdown" or "raw"/],
    [{ ...good, metadata: [] }, /has the field "metadata" \[\], not an object/],
    [{ ...good, outputs: [null] }, /has the field "outputs" that is not a list of output objects/],
  ];
  for (const [cell, why] of cases) {
    const file = notebookWith([good, cell]);
    assert.throws(() => readNotebook(file), (error: Error) => {
      assert.ok(error.message.startsWith(`${file}: cell 2`), error.message);
      assert.match(error.message, why);
      assert.match(error.message, /mend it in Jupyter or a text editor \(nbformat 4\)\.$/);
      return true;
    });
  }
  const notJson = join(dir, 'null.ipynb');
  writeFileSync(notJson, 'null');
  assert.throws(() => readNotebook(notJson), /null\.ipynb is not an nbformat 4 notebook/);
});

test('finetune-lab run on a malformed notebook exits 1 with that message', async () => {
  const file = notebookWith([{ ...good, source: 7 }]);
  const run = await cli(['run', file, '--out', join(dir, 'out')]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /cell 1 \(id "ok"\) has the field "source" 7, not a string or a list of strings/);
  assert.doesNotMatch(run.stderr, /Cannot read properties/);
});
