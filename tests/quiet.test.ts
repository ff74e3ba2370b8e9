// No third-party noise: commands that probe the backends (so load Dawn), with the automatic choice
// and with webgpu forced onto the software adapter, write nothing to stderr here: no Dawn
// `Warning:` line, no TensorFlow.js banner; what runs and why is in the commands' own output.
// (tests/report.test.ts checks the tutorial's output, tests/nbconvert.test.ts a notebook's kernel.)
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { requireSystem } from '../kernel-setup/system.mjs';

const ROOT = path.resolve(__dirname, '..');
const DIR = mkdtempSync(path.join(tmpdir(), 'finetune-lab-quiet-'));
const MODEL = path.join(ROOT, 'tests', 'fixtures', 'hf-reference', 'tiny-bert-cls');

before(() => {
  execFileSync(process.execPath, ['kernel-setup/setup.mjs', '--for', 'tests'], { cwd: ROOT, stdio: 'inherit' });
  writeFileSync(path.join(DIR, 'input.json'), JSON.stringify({ input_ids: [[101, 2023, 2003, 102]] }));
});

function finetuneLab(args: string[], backend?: string): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.FINETUNE_LAB_BACKEND;
  if (backend) env.FINETUNE_LAB_BACKEND = backend;
  return spawnSync(process.execPath, ['dist/cli/main.js', ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
}

const forward = ['forward', '--model', MODEL, '--input', path.join(DIR, 'input.json'), '--output', path.join(DIR, 'output.json')];

test('finetune-lab env and forward, backend chosen automatically: nothing on stderr', () => {
  for (const args of [['env'], forward]) {
    const run = finetuneLab(args);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '', `finetune-lab ${args[0]} wrote to stderr`);
  }
  assert.match(JSON.parse(finetuneLab(['env']).stdout).selected.reason, /^chosen automatically/);
});

test('finetune-lab env and forward with webgpu forced onto the adapter Dawn finds: nothing on stderr', () => {
  requireSystem('webgpu');
  for (const args of [['env'], forward]) {
    const run = finetuneLab(args, 'webgpu');
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '', `finetune-lab ${args[0]} wrote to stderr`);
  }
  assert.equal(JSON.parse(finetuneLab(['env'], 'webgpu').stdout).selected.name, 'webgpu');
});
