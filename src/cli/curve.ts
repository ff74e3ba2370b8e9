/** `finetune-lab curve`: a pretraining run's models, each fine-tuned and prompted with the course's settings. */
import { join } from 'node:path';
import { BACKEND_NAMES, initBackend } from '../backend/index.js';
import { CURVE_METHODS, lastDoublings, pretrainingCurve, type CurveMethod } from '../course/curve.js';
import { backendOptions, loadSettings } from '../course/settings.js';
import { choice, existing, list, parseCommand, required } from './args.js';
import { exitCode, stoppable } from './interrupt.js';

export const usage = `Usage: finetune-lab curve --run DIR [options]

The curve of a model card: for each model a finetune-lab pretrain run kept (its snapshots, from
--snapshot-minutes or --snapshot-every, and its latest model), the test accuracy of each method
(${CURVE_METHODS.join(', ')}) with the settings' profile (FINETUNE_LAB_PROFILE, default: default:
its sizes, recipes, truncation, pooling, adapter size), against the hours of pretraining. Every
figure is saved as it is measured: run the same command again to continue, after more pretraining to
add the new models, or after a method's recipe changed to measure that method again. Prints one JSON
line: file, complete, points, and what the last two doublings of pretraining time gave each method
(doublings: the hours, the accuracy at each, the gains).

  --run DIR          the --output directory of a finetune-lab pretrain run
  --output FILE      where the curve goes (default: DIR/curve.json)
  --methods LIST     what to measure, e.g. full,prompting (default: all)
  --backend NAME     ${BACKEND_NAMES.join('|')} (default: FINETUNE_LAB_BACKEND, else the best available)
  -h, --help         show this help`;

const percent = (x: number | undefined) => (x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);

export async function run(args: string[]): Promise<number> {
  const { values } = parseCommand({
    args,
    options: { run: { type: 'string' }, output: { type: 'string' }, methods: { type: 'string' }, backend: { type: 'string' } },
  });
  required(values, ['run']);
  const runDir = existing('run', values.run, 'directory');
  const methods = list('methods', values.methods, (m) => (CURVE_METHODS.includes(m as CurveMethod) ? (m as CurveMethod) : undefined), CURVE_METHODS.join('|'));
  const settings = loadSettings();
  await initBackend(backendOptions(settings, { backend: choice('backend', values.backend, BACKEND_NAMES), quiet: true }));
  const file = values.output ?? join(runDir, 'curve.json');
  const { value: curve, interrupted } = await stoppable((signal) => pretrainingCurve({
    run: runDir, settings, methods, file, signal,
    onFigure: (p, method, saved) => console.error(`${p.model} (${p.hours.toFixed(2)} h): ${method} ${percent(p.test_accuracy[method])}${saved ? ' (saved earlier)' : ''}`),
  }));
  if (!curve.complete) console.error(`stopped; the figures so far are in ${file}: run the same command again to continue`);
  console.log(JSON.stringify({ file, complete: curve.complete, points: curve.points.length, doublings: lastDoublings(curve) }, (_, x) => (typeof x === 'number' ? +x.toFixed(4) : x)));
  return exitCode(interrupted);
}
