/**
 * `npm run bench`: our benchmarks and the PyTorch references on the standard shapes, alternating
 * (ours, PyTorch, ours, PyTorch, ...) in the same run so that the machine's load hits both, and
 * the ratios ours / PyTorch: per pair, then their median (one pair's ratio swings by 1.5x on a
 * shared 2-core machine). First the inference engine's forward pass (`finetune-lab bench --engine
 * onnx`, ONNX Runtime, against torch_bert_reference.py's forward_samples_per_s, bert-mini batch 8
 * seq 128, `--onnx-pairs` pairs), then the fine-tuning step on TensorFlow.js (forward and
 * training, `finetune-lab bench` against torch_bert_reference.py), then the pretraining step
 * (`finetune-lab pretrain` against torch_mlm_reference.py: the MLM objective at the masked
 * positions, dropout 0.1, clipping at 1, AdamW, on bert-tiny windows of 32 x 128).
 *
 *   node dist/bench/compare.js [--pairs 3] [--onnx-pairs 5] [--threads 2] [--wasm-threads N] [--backend wasm] [--python /usr/bin/python3] [--only onnx|finetune|pretrain]
 *
 * PyTorch gets `--threads` (2, the yardstick), and so do ONNX Runtime and ours unless `--wasm-threads`.
 * `--only` runs one of the three comparisons.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/** The inference engine's shape (issue 16): ONNX Runtime's forward pass against PyTorch's. */
const ONNX_SHAPE = { size: 'bert-mini', batch: 8, seq: 128 };

/** The pretraining shape of issue 15: bert-tiny, 32 windows of 128 tokens a step, 8 timed steps. */
const PRETRAIN = { size: 'bert-tiny', batch: 32, seq: 128, steps: 8 };

function jsonLine(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const out = execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env });
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
      'onnx-pairs': { type: 'string', default: '5' },
      only: { type: 'string' },
    },
  });
  const reference = (name: string) => join(PROJECT_ROOT, 'src', 'bench', name);
  const ourThreads = values['wasm-threads'] ?? values.threads;
  const pairs = Number(values.pairs);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const PARTS = ['onnx', 'finetune', 'pretrain'] as const;
  if (values.only !== undefined && !(PARTS as readonly string[]).includes(values.only)) throw new Error(`--only takes ${PARTS.join(', ')}, not ${values.only}`);
  const runs = (part: (typeof PARTS)[number]) => values.only === undefined || values.only === part;
  const cli = join(PROJECT_ROOT, 'dist', 'cli', 'main.js');

  if (runs('onnx')) {
    const shape = ['--size', ONNX_SHAPE.size, '--batch', String(ONNX_SHAPE.batch), '--seq', String(ONNX_SHAPE.seq)];
    const ratios: number[] = [];
    for (let pair = 0; pair < Number(values['onnx-pairs']); pair++) {
      // About 2 s of timed forward passes each (30 runs, 10 for PyTorch): a second's bursts of load swing shorter ones by 5x here.
      const ours = jsonLine(process.execPath, [cli, 'bench', '--engine', 'onnx', ...shape, '--threads', values.threads, '--steps', '30']);
      const torch = jsonLine(values.python, [reference('torch_bert_reference.py'), ...shape, '--threads', values.threads, '--reps', '10']);
      console.log(JSON.stringify(ours));
      console.log(JSON.stringify(torch));
      ratios.push(round((ours.forward_samples_per_s as number) / (torch.forward_samples_per_s as number), 3));
    }
    console.log(JSON.stringify({ engine: 'onnxruntime', ...ONNX_SHAPE, threads: Number(values.threads), pairs: ratios.length, forward_ratio: median(ratios), per_pair: ratios }));
  }

  for (const { size, batch, seq } of runs('finetune') ? SHAPES : []) {
    const shape = ['--size', size, '--batch', String(batch), '--seq', String(seq)];
    const ratios: Record<string, number[]> = {};
    for (let pair = 0; pair < pairs; pair++) {
      const ours = jsonLine(process.execPath, [cli, 'bench', ...shape, '--backend', values.backend, '--threads', ourThreads]);
      const torch = jsonLine(values.python, [reference('torch_bert_reference.py'), ...shape, '--threads', values.threads]);
      console.log(JSON.stringify(ours));
      console.log(JSON.stringify(torch));
      for (const k of RATES) (ratios[k.replace('_samples_per_s', '_ratio')] ??= []).push(round((ours[k] as number) / (torch[k] as number), 3));
    }
    const medians = Object.fromEntries(Object.entries(ratios).map(([k, xs]) => [k, median(xs)]));
    console.log(JSON.stringify({ size, batch, seq, threads: Number(values.threads), pairs, ...medians, per_pair: ratios }));
  }

  // Pretraining: windows per second of the training steps alone (our evaluations and saves are not counted).
  if (!runs('pretrain')) return;
  const { size, batch, seq, steps } = PRETRAIN;
  const work = mkdtempSync(join(tmpdir(), 'finetune-lab-bench-'));
  const pretrainRatios: number[] = [];
  try {
    for (let pair = 0; pair < pairs; pair++) {
      const ours = jsonLine(process.execPath, [
        cli, 'pretrain', '--size', size, '--batch', String(batch), '--seq', String(seq), '--steps', String(steps),
        '--eval-every', '0', '--save-every', '0', '--backend', values.backend, '--output', join(work, `run-${pair}`),
      ], { ...process.env, FINETUNE_LAB_THREADS: ourThreads });
      const torch = jsonLine(values.python, [reference('torch_mlm_reference.py'), '--size', size, '--batch', String(batch), '--seq', String(seq), '--steps', String(steps), '--threads', values.threads]);
      console.log(JSON.stringify(ours));
      console.log(JSON.stringify(torch));
      pretrainRatios.push(round((ours.samples_per_s as number) / (torch.train_windows_per_s as number), 3));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ pretrain: size, batch, seq, steps, threads: Number(values.threads), pairs, pretrain_ratio: median(pretrainRatios), per_pair: pretrainRatios }));
}

main();
