/**
 * The pretraining curve of a model card: for every model a `finetune-lab pretrain` run kept (its
 * snapshots, `--snapshot-minutes` or `--snapshot-every`, and its latest model), the test accuracy
 * that each fine-tuning method and cloze prompting reach with the course's settings, against the
 * hours of pretraining behind it. The curve is saved after every figure, so a stopped measurement
 * continues where it was, a run that pretrained further adds its new models, a model deleted since
 * keeps its figures, and a method given another recipe is measured again (where the model is still there).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import { finetune } from '../finetune/finetune.js';
import { METHODS, type Method } from '../finetune/methods.js';
import { clozeSentiment } from './prompting.js';
import { courseFinetuneOptions } from './runs.js';
import type { Settings } from './settings.js';

/** What the curve measures: the fine-tuning methods and cloze prompting. */
export type CurveMethod = Method | 'prompting';
export const CURVE_METHODS: readonly CurveMethod[] = [...METHODS, 'prompting'];

/** One model of the run and its figures. */
export interface CurvePoint {
  /** The model's directory, relative to the run's (e.g. `snapshots/step-2076-1.00h`, `model`). */
  model: string;
  steps: number;
  /** Hours of pretraining (training time, as the run counts it). */
  hours: number;
  /** Held-out masked-token accuracy, as the run measured it for this model. */
  mlm_accuracy: number;
  /** Test accuracy of each method measured so far. */
  test_accuracy: Partial<Record<CurveMethod, number>>;
}

export interface Curve {
  /** The settings every figure was measured with. */
  settings: Record<string, unknown>;
  points: CurvePoint[];
  /** Every method asked for measured on every model. */
  complete: boolean;
}

/** The settings a figure depends on (as JSON keeps them); a curve file measured with others is not continued. */
export function curveSettings(s: Settings): Record<string, unknown> {
  const { profile, trainSize, valSize, testSize, batchSize, maxLength, truncation, headTokens, pooling, adapterSize, recipes, seed } = s;
  return JSON.parse(JSON.stringify({ profile, trainSize, valSize, testSize, batchSize, maxLength, truncation, headTokens, pooling, adapterSize, recipes, seed }));
}

/** The models `runDir` kept, oldest first: its snapshots and its latest model (unless a snapshot is it). */
export function runModels(runDir: string): Omit<CurvePoint, 'test_accuracy'>[] {
  const snapshots = join(runDir, 'snapshots');
  const dirs = [
    ...(existsSync(snapshots) ? readdirSync(snapshots).map((name) => join(snapshots, name)) : []),
    join(runDir, 'model'),
  ].filter((dir) => existsSync(join(dir, 'pretraining.json')));
  if (dirs.length === 0) {
    throw new Error(`${runDir} has no model with a pretraining.json (in snapshots/ or model/); give the --output directory of a finetune-lab pretrain run`);
  }
  const models = dirs.map((dir) => {
    const { summary } = JSON.parse(readFileSync(join(dir, 'pretraining.json'), 'utf8')) as { summary: { steps: number; train_seconds: number; mlm_accuracy: number } };
    return { model: relative(runDir, dir), steps: summary.steps, hours: summary.train_seconds / 3600, mlm_accuracy: summary.mlm_accuracy };
  }).sort((a, b) => a.steps - b.steps);
  return models.filter((m, i) => i === 0 || m.steps !== models[i - 1].steps);
}

export interface CurveOptions {
  /** The pretraining run's output directory. */
  run: string;
  settings: Settings;
  /** Default: all of CURVE_METHODS. */
  methods?: readonly CurveMethod[];
  /** Where the curve is kept (JSON); continued if it exists. */
  file: string;
  /** Stops after the figure in progress (which is then not kept). */
  signal?: AbortSignal;
  /** Called with each figure as it is known; `saved` when the file had it already. */
  onFigure?: (point: CurvePoint, method: CurveMethod, saved: boolean) => void;
}

function readCurve(file: string): Curve {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Curve;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); give another file, or delete it to measure the curve afresh`);
  }
}

/** Measures (or continues measuring) the curve of `options.run` into `options.file`. */
export async function pretrainingCurve(options: CurveOptions): Promise<Curve> {
  const { run, settings, file, signal, onFigure } = options;
  const methods = options.methods ?? CURVE_METHODS;
  const bad = methods.filter((m) => !CURVE_METHODS.includes(m));
  if (bad.length > 0) throw new Error(`the curve measures ${CURVE_METHODS.join(', ')}; not ${bad.join(', ')}`);
  const wanted = curveSettings(settings);
  const saved = existsSync(file) ? readCurve(file) : undefined;
  const { recipes: savedRecipes = {}, ...savedShared } = (saved?.settings ?? {}) as { recipes?: Partial<Record<Method, unknown>> };
  const { recipes: _recipes, ...shared } = wanted;
  if (saved && JSON.stringify(savedShared) !== JSON.stringify(shared)) {
    throw new Error(`${file} was measured with other settings (${JSON.stringify(saved.settings)}, now ${JSON.stringify(wanted)}); give another file, or the same settings to continue it`);
  }
  // A method whose recipe changed since is measured again; the others' figures stand.
  const stale = new Set<CurveMethod>(METHODS.filter((m) => JSON.stringify(savedRecipes[m]) !== JSON.stringify(settings.recipes[m])));
  const kept = (before: CurvePoint | undefined) => Object.fromEntries(Object.entries(before?.test_accuracy ?? {}).filter(([method]) => !stale.has(method as CurveMethod)));
  // A saved point counts for the same model at the same step; the run's latest model moves on as it trains.
  const measurable: CurvePoint[] = runModels(run).map((m) => ({ ...m, test_accuracy: kept(saved?.points.find((p) => p.model === m.model && p.steps === m.steps)) }));
  // A point whose model directory is gone since (a snapshot deleted, the run's machine lost) keeps what was measured on it.
  const lost = (saved?.points ?? []).filter((p) => !existsSync(join(run, p.model))).map((p) => ({ ...p, test_accuracy: kept(p) }));
  const points = [...lost, ...measurable].sort((a, b) => a.steps - b.steps);
  const write = (complete: boolean): Curve => {
    const curve = { settings: wanted, points, complete };
    writeFileAtomic(file, `${JSON.stringify(curve, null, 1)}\n`);
    return curve;
  };
  for (const point of measurable) {
    for (const method of methods) {
      const had = point.test_accuracy[method];
      if (had === undefined) {
        if (signal?.aborted) return write(false);
        const model = resolve(run, point.model);
        if (method === 'prompting') {
          point.test_accuracy.prompting = (await clozeSentiment(settings, { model })).test_accuracy;
        } else {
          const result = await finetune({ ...courseFinetuneOptions(settings, method), model, progress: false, signal });
          result.model.dispose();
          if (!result.summary.completed) return write(false);
          point.test_accuracy[method] = result.summary.test_accuracy;
        }
        write(false);
      }
      onFigure?.(point, method, had !== undefined);
    }
  }
  return write(true);
}

/**
 * A method's test accuracy after `hours` of pretraining: read on a straight line between the two
 * models measured around that time, the nearest model's outside them; undefined where none is measured.
 */
export function accuracyAt(curve: Curve, method: CurveMethod, hours: number): number | undefined {
  const points = curve.points.filter((p) => p.test_accuracy[method] !== undefined);
  const at = (p: CurvePoint) => p.test_accuracy[method] as number;
  const after = points.findIndex((p) => p.hours >= hours);
  if (after === -1) return points.length === 0 ? undefined : at(points[points.length - 1]);
  if (after === 0) return at(points[0]);
  const [a, b] = [points[after - 1], points[after]];
  return at(a) + ((hours - a.hours) / (b.hours - a.hours)) * (at(b) - at(a));
}

/** What the last two doublings of pretraining time gave a method: its accuracy at each time and the gain of each doubling. */
export interface Doubling {
  accuracy: [number, number, number];
  gains: [number, number];
}

/**
 * The last two doublings of the curve's pretraining time (a quarter, half and all of its last
 * model's hours) and what each gave every method measured: whether more pretraining still pays.
 */
export function lastDoublings(curve: Curve): { hours: [number, number, number]; methods: Partial<Record<CurveMethod, Doubling>> } {
  const last = curve.points[curve.points.length - 1];
  if (!last) throw new Error('the curve has no models yet; measure it with finetune-lab curve first');
  const hours: [number, number, number] = [last.hours / 4, last.hours / 2, last.hours];
  const methods: Partial<Record<CurveMethod, Doubling>> = {};
  for (const method of CURVE_METHODS) {
    const [early, middle, late] = hours.map((h) => accuracyAt(curve, method, h));
    if (early !== undefined && middle !== undefined && late !== undefined) {
      methods[method] = { accuracy: [early, middle, late], gains: [middle - early, late - middle] };
    }
  }
  return { hours, methods };
}
