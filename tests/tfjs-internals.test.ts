/**
 * The canary for TensorFlow.js' private API (src/backend/tfjs-internals): every private member
 * the project relies on still exists on the installed tfjs, on every backend and both wasm builds,
 * and a missing one is reported with the project code that depends on it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { initBackend, type BackendName } from '../src/backend/index.js';
import { checkPrivateMembers, engine, PRIVATE_MEMBERS } from '../src/backend/tfjs-internals/index.js';

/** The check in a fresh process on the wasm build with `threads` threads (one process has one build). */
function checkWasmBuild(threads: number): { checked: string[]; missing: string[] } {
  const script = `
    const { initBackend } = require('./src/backend/index.ts');
    const { checkPrivateMembers } = require('./src/backend/tfjs-internals/index.ts');
    initBackend({ backend: 'wasm', quiet: true, threads: ${threads} }).then(() => console.log(JSON.stringify(checkPrivateMembers())));`;
  return JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' }).trim().split('\n').pop()!);
}

test('every private member the project relies on exists on the installed tfjs (cpu, webgpu, both wasm builds)', async () => {
  const checked = new Set<string>();
  const missing: string[] = [];
  const record = (result: { checked: string[]; missing: string[] }) => {
    result.checked.forEach((c) => checked.add(c));
    missing.push(...result.missing);
  };
  for (const backend of ['cpu', 'webgpu'] as BackendName[]) {
    await initBackend({ backend, quiet: true });
    record(checkPrivateMembers());
  }
  record(checkWasmBuild(1));
  record(checkWasmBuild(2));
  assert.deepEqual(missing, [], missing.join('\n'));
  const unchecked = PRIVATE_MEMBERS.map((m) => `${m.on}: ${m.member}`).filter((m) => !checked.has(m));
  assert.deepEqual(unchecked, [], 'members whose holder no run provided');
  assert.equal(checked.size, PRIVATE_MEMBERS.length);
});

test('a missing member is reported with the code that depends on it', async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  const e = engine() as unknown as Record<string, unknown>;
  e.startTape = undefined; // shadows the prototype's method on this engine only
  try {
    // Without it no tape can be recorded either, so the tape node's members are missing too.
    const { missing } = checkPrivateMembers();
    assert.ok(missing.some((m) => /^tfjs [\d.]+ has no engine member startTape\(\); train\/backprop\.ts gradientsOf .* relies on it$/.test(m)), missing.join('\n'));
    assert.ok(missing.every((m) => m.includes('train/backprop.ts gradientsOf')), missing.join('\n'));
  } finally {
    delete e.startTape;
  }
  assert.deepEqual(checkPrivateMembers().missing, []);
});
