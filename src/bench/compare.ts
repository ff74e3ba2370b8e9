/**
 * `npm run bench`: our benchmark and the PyTorch reference on the standard shapes, alternating
 * (ours, PyTorch, ours, PyTorch, ...) in the same run so that the machine's load hits both, and
 * the ratios ours / PyTorch: per pair, then their median (one pair's ratio swings by 1.5x on a
 * shared 2-core machine).
 *
 *   node dist/bench/compare.js [--pairs 3] [--threads 2] [--wasm-threads N] [--backend wasm] [--python /usr/bin/python3] [--reference PATH]
 *
 * PyTorch gets `--threads` (2, the yardstick), and so does ours unless `--wasm-threads`.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { round } from '../numbers.js';
import { PROJECT_ROOT } from '../package/root.js';

/** The shapes issue 5 measures: bert-mini batch 8 seq 128, bert-tiny batch 32 seq 128. */
const SHAPES = [
  { size: 'bert-mini', batch: 8, seq: 128 },
  { size: 'bert-tiny', batch: 32, seq: 128 },
];

const RATES = ['forward_samples_per_s', 'train_samples_per_s'] as const;

function jsonLine(file: string, args: string[]): Record<string, unknown> {
  const out = execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`${file} ${args.join(' ')} printed no JSON line: ${out}`);
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string', default: '2' },
      'wasm-threads': { type: 'string' },
      pairs: { type: 'string', default: '3' },
      backend: { type: 'string', default: 'wasm' },
      python: { type: 'string', default: '/usr/bin/python3' },
      reference: { type: 'string', default: join(PROJECT_ROOT, 'src', 'bench', 'torch_bert_reference.py') },
    },
  });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  for (const { size, batch, seq } of SHAPES) {
    const shape = ['--size', size, '--batch', String(batch), '--seq', String(seq)];
    const ratios: Record<string, number[]> = {};
    for (let pair = 0; pair < Number(values.pairs); pair++) {
      const ours = jsonLine(process.execPath, [join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'bench', ...shape, '--backend', values.backend, '--threads', values['wasm-threads'] ?? values.threads]);
      const torch = jsonLine(values.python, [values.reference, ...shape, '--threads', values.threads]);
      console.log(JSON.stringify(ours));
      console.log(JSON.stringify(torch));
      for (const k of RATES) (ratios[k.replace('_samples_per_s', '_ratio')] ??= []).push(round((ours[k] as number) / (torch[k] as number), 3));
    }
    const medians = Object.fromEntries(Object.entries(ratios).map(([k, xs]) => [k, median(xs)]));
    console.log(JSON.stringify({ size, batch, seq, threads: Number(values.threads), pairs: Number(values.pairs), ...medians, per_pair: ratios }));
  }
}

main();
