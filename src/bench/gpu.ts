/**
 * Entry point for a machine with a GPU, bundled by ../shared/gpu/prepare.sh: the benchmark on
 * WebGPU at issue 5's GPU shape (bert-base, batch 32, seq 256), one JSON line as
 * `finetune-lab bench` prints it. Flags given to run.sh override the defaults, e.g. `--profile`.
 *
 *   ../shared/gpu/prepare.sh src/bench/gpu.ts     (here, after npm ci)
 *   bash .gpu/run.sh [--batch 8 --seq 128] [--profile]     (there)
 *
 * PyTorch fp32 on an H200 trained this shape at 286 samples/s (../shared/notes/verified-facts.md).
 */
import { run } from '../cli/bench.js';

const DEFAULTS = ['--size', 'bert-base', '--batch', '32', '--seq', '256', '--backend', 'webgpu'];

// parseArgs keeps the last value of a repeated flag, so the user's flags win.
run([...DEFAULTS, ...process.argv.slice(2)]).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
