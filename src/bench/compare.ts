/**
 * `npm run bench`: our benchmark and the PyTorch reference on the standard shapes, one after the
 * other in the same run (so that the machine's load hits both), and the ratios ours / PyTorch.
 *
 *   node dist/bench/compare.js [--threads 2] [--wasm-threads 1] [--backend wasm] [--python /usr/bin/python3] [--reference PATH]
 *
 * PyTorch gets `--threads` (2, the yardstick); ours runs with `--wasm-threads`, by
 * default the library's own default (1: on this 2-core machine two wasm threads were slower).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../models.js';

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
      'wasm-threads': { type: 'string', default: '1' },
      backend: { type: 'string', default: 'wasm' },
      python: { type: 'string', default: '/usr/bin/python3' },
      reference: { type: 'string', default: join(PROJECT_ROOT, 'src', 'bench', 'torch_bert_reference.py') },
    },
  });
  for (const { size, batch, seq } of SHAPES) {
    const shape = ['--size', size, '--batch', String(batch), '--seq', String(seq)];
    const ours = jsonLine(process.execPath, [join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), 'bench', ...shape, '--backend', values.backend, '--threads', values['wasm-threads']]);
    const torch = jsonLine(values.python, [values.reference, ...shape, '--threads', values.threads]);
    const ratios = Object.fromEntries(RATES.map((k) => [k.replace('_samples_per_s', '_ratio'), Math.round(((ours[k] as number) / (torch[k] as number)) * 1000) / 1000]));
    console.log(JSON.stringify(ours));
    console.log(JSON.stringify(torch));
    console.log(JSON.stringify({ size, batch, seq, torch_threads: torch.threads, our_threads: ours.threads, ...ratios }));
  }
}

main();
