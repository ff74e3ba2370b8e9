// Every course notebook (notebooks/*.ipynb, in file-name order) runs headlessly without a failing
// cell under the small `ci` profile, through `finetune-lab run` and the real kernel. New notebooks
// are picked up automatically. A notebook after a failed one is skipped: later notebooks build on
// what earlier ones produce.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'build', 'notebooks-ci');
const notebooks = readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort();

before(() => {
  execFileSync(process.execPath, ['kernel-setup/setup.mjs', '--for', 'tests'], { cwd: ROOT, stdio: 'inherit' });
});

test('the course has notebooks', () => {
  assert.ok(notebooks.length > 0, 'no notebooks/*.ipynb found');
});

let failed: string | undefined;
for (const notebook of notebooks) {
  test(`notebooks/${notebook} runs under FINETUNE_LAB_PROFILE=ci`, async (t) => {
    if (failed) return t.skip(`notebooks/${failed} failed before it`);
    const run = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['dist/cli/main.js', 'run', path.join('notebooks', notebook), '--out', OUT], {
        cwd: ROOT,
        env: { ...process.env, FINETUNE_LAB_PROFILE: 'ci' },
      });
      let output = '';
      child.stdout.on('data', (c) => { output += c; });
      child.stderr.on('data', (c) => { output += c; });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
    if (run.code !== 0) failed = notebook;
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, / ok \(/);
  });
}
