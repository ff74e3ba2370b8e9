/** `finetune-lab grid`: each method's learning rate and epochs chosen on the validation split. */
import { BACKEND_NAMES, initBackend } from '../backend/index.js';
import { GRID_DIR } from '../course/paths.js';
import { courseRunOptions } from '../course/runs.js';
import { backendOptions, loadSettings } from '../course/settings.js';
import { DEFAULT_GRID, gridSearch, METHODS, type GridAxes, type Method } from '../finetune/index.js';
import { choice, integer, list, number, parseCommand } from './args.js';
import { exitCode, stoppable } from './interrupt.js';
import { RUN_FLAGS, withRunFlags } from './run-flags.js';

const axes = (m: Method) => `${DEFAULT_GRID[m].lrs.join(',')} x ${DEFAULT_GRID[m].epochs.join(',')} epochs`;

export const usage = `Usage: finetune-lab grid [options]

Fine-tunes each method at every learning rate and number of epochs of a grid on the profile's
training reviews (FINETUNE_LAB_PROFILE, default: default), scores each run on the validation
reviews (the test split is never read), and writes DIR/grid.json: every point, and per method the
best point and its "recipes" (lr, epochs), which a settings profile takes as they are. Each point
is saved as it finishes: run the same command again to continue a stopped search.
Prints one JSON line: file, complete, points, best.

Default grid (learning rates x epochs):
${METHODS.map((m) => `  ${m.padEnd(8)} ${axes(m)}`).join('\n')}

  --methods LIST       methods to tune, e.g. full,lora (default: all)
  --lrs LIST           learning rates for every method tuned, e.g. 1e-4,3e-4
  --epochs LIST        epoch counts for every method tuned, e.g. 1,2
  --output DIR         where the points and grid.json go (default: build/grid)
  --model DIR|ID       model directory or Hugging Face Hub id (default: the profile's model)
  --data imdb|FILE     the IMDB reviews (default) or a CSV with text and label columns
  --train-size N       training examples (default: the profile's)
  --val-size N         validation examples
  --batch-size N
  --max-length N       tokens per review
  --truncation HOW     head or head+tail (default: the profile's)
  --head-tokens N      with head+tail, the tokens kept from the start (default: a quarter)
  --pooling HOW        frozen: cls or mean, what its head reads (default: the profile's)
  --adapter-size N     adapter: the bottleneck size (default: the profile's, else hidden/16)
  --seed N
  --backend NAME       ${BACKEND_NAMES.join('|')} (default: FINETUNE_LAB_BACKEND, else the best available)
  -h, --help           show this help`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand({
    args,
    options: { ...RUN_FLAGS, methods: { type: 'string' }, lrs: { type: 'string' }, epochs: { type: 'string' }, output: { type: 'string' }, backend: { type: 'string' } },
  });
  const settings = loadSettings();
  const methods = list('methods', values.methods, (m) => ((METHODS as readonly string[]).includes(m) ? (m as Method) : undefined), METHODS.join('|')) ?? METHODS;
  const lrs = list('lrs', values.lrs, (s) => number('lrs', s, { above: 0 }), 'numbers above 0');
  const epochs = list('epochs', values.epochs, (s) => integer('epochs', s), 'positive whole numbers');
  const grid = Object.fromEntries(methods.map((m): [Method, GridAxes] => [m, { lrs: lrs ?? DEFAULT_GRID[m].lrs, epochs: epochs ?? DEFAULT_GRID[m].epochs }]));
  const dir = values.output ?? GRID_DIR;
  const base = withRunFlags(courseRunOptions(settings), values);
  const backend = await initBackend(backendOptions(settings, { backend: choice('backend', values.backend, BACKEND_NAMES), quiet: true }));
  const { value: report, interrupted } = await stoppable((signal) => gridSearch({
    base: { ...base, backend: backend.name },
    grid,
    dir,
    signal,
    onPoint: (p, cached) => console.error(`${p.method} lr ${p.lr} ${p.epochs} epochs: val accuracy ${p.val_accuracy}, val loss ${p.val_loss}${cached ? ' (saved earlier)' : ` (${p.train_seconds} s)`}`),
  }));
  if (!report.complete) console.error(`stopped after ${report.points.length} points, saved in ${dir}; run the same command again to continue`);
  console.log(JSON.stringify({ file: `${dir}/grid.json`, complete: report.complete, points: report.points.length, best: report.recipes }));
  return exitCode(interrupted);
}
