/**
 * Choosing each method's learning rate and epochs on the validation split, never the test split:
 * `gridSearch` fine-tunes every method at every point of a grid, as Turc et al. (2019, "Well-Read
 * Students Learn Better") tuned their compact BERTs, and keeps for each method the point with the
 * best validation accuracy. The test split is not even tokenized. Each point's result is saved
 * the moment it is known, so a search stopped at any point continues where it was when run again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import { lockDirectory } from '../files/lock.js';
import { finetune, type FinetuneOptions } from './finetune.js';
import { METHODS, type Method, type Recipe } from './methods.js';

/** The learning rates and epoch counts to try for a method: every pair is one run. */
export interface GridAxes {
  lrs: readonly number[];
  epochs: readonly number[];
}

/**
 * Turc et al.'s learning rates for compact BERTs (1e-4, 3e-4) and epochs up to 4, widened until
 * each method's best learning rate on the embedded model lay inside its range, not at an end (the
 * figures are in the model card): full fine-tuning to 2e-3; the methods that train new
 * modules from scratch on a frozen encoder higher, adapters to 1e-2 and LoRA to 3e-2; the small
 * head of frozen features, on cached features, to 1e-1. The course's own defaults (METHOD_SPECS)
 * are among them.
 */
export const DEFAULT_GRID: Record<Method, GridAxes> = {
  frozen: { lrs: [3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1], epochs: [1, 2, 3, 4] },
  full: { lrs: [1e-4, 3e-4, 5e-4, 1e-3, 2e-3], epochs: [1, 2, 3, 4] },
  adapter: { lrs: [3e-4, 1e-3, 3e-3, 1e-2], epochs: [1, 2, 3, 4] },
  lora: { lrs: [3e-4, 1e-3, 3e-3, 1e-2, 3e-2], epochs: [1, 2, 3, 4] },
};

/** What every run of a search shares: all of `finetune`'s options but those the grid sets or that only concern one run (`pooling` reaches method frozen alone). */
export type GridBase = Omit<FinetuneOptions, 'method' | 'lr' | 'epochs' | 'testSize' | 'outputDir' | 'resume' | 'overwrite' | 'maxSteps' | 'maxSeconds' | 'signal'>;

export interface GridOptions {
  base: GridBase;
  /** The methods to tune and their axes (default DEFAULT_GRID). */
  grid?: Partial<Record<Method, GridAxes>>;
  /** Where each point's result (`DIR/points/`) and the summary (`DIR/grid.json`) go; run again on it to continue. */
  dir: string;
  /** Stops after the run in progress (which is then not kept); the points done are. */
  signal?: AbortSignal;
  /** Called for every point as its result is known; `cached` when an earlier search had it. */
  onPoint?: (point: GridPoint, cached: boolean) => void;
}

/** One run of the search and its validation figures (of its best epoch, which `finetune` keeps). */
export interface GridPoint extends Recipe {
  method: Method;
  val_accuracy: number;
  val_loss: number;
  train_seconds: number;
  steps: number;
}

/** `grid.json`: the shared settings, every point, and per method the best point and its recipe. */
export interface GridReport {
  base: Record<string, unknown>;
  grid: Partial<Record<Method, GridAxes>>;
  /** False while points are missing (the search was stopped). */
  complete: boolean;
  points: GridPoint[];
  best: Partial<Record<Method, GridPoint>>;
  /** The best points' learning rates and epochs, in the form a settings profile takes them. */
  recipes: Partial<Record<Method, Recipe>>;
}

/** The settings a point's result depends on, to refuse results that another search saved. */
function fingerprint(base: GridBase): Record<string, unknown> {
  const { progress: _progress, ...rest } = base;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

/** The better of two points: higher validation accuracy, then lower validation loss, then the cheaper run. */
function better(a: GridPoint, b: GridPoint): GridPoint {
  if (a.val_accuracy !== b.val_accuracy) return a.val_accuracy > b.val_accuracy ? a : b;
  if (a.val_loss !== b.val_loss) return a.val_loss < b.val_loss ? a : b;
  return a.epochs <= b.epochs ? a : b;
}

function bestPerMethod(points: readonly GridPoint[]): Partial<Record<Method, GridPoint>> {
  const best: Partial<Record<Method, GridPoint>> = {};
  for (const point of points) best[point.method] = best[point.method] ? better(best[point.method]!, point) : point;
  return best;
}

/** Fine-tunes every point of the grid (skipping those already saved in `dir`), writes `dir/grid.json` after each, and returns it. */
export async function gridSearch(options: GridOptions): Promise<GridReport> {
  const { base, dir, signal, onPoint } = options;
  const grid = options.grid ?? DEFAULT_GRID;
  const methods = METHODS.filter((m) => grid[m]);
  if (methods.length === 0) throw new Error(`the grid names no method; give axes for one or more of ${METHODS.join(', ')}`);
  for (const method of methods) {
    const { lrs, epochs } = grid[method]!;
    if (lrs.length === 0 || epochs.length === 0) throw new Error(`the grid gives ${method} no ${lrs.length === 0 ? 'learning rates' : 'epochs'}; give at least one`);
    if (lrs.some((lr) => !(lr > 0))) throw new Error(`${method}'s learning rates must be positive numbers, got ${lrs.join(', ')}`);
    if (epochs.some((e) => !Number.isInteger(e) || e < 1)) throw new Error(`${method}'s epochs must be positive whole numbers, got ${epochs.join(', ')}`);
  }
  const shared = fingerprint(base);
  const lock = lockDirectory(dir, 'a grid search');
  try {
    const points: GridPoint[] = [];
    const report = (complete: boolean): GridReport => {
      const best = bestPerMethod(points);
      const recipes = Object.fromEntries(Object.entries(best).map(([m, p]) => [m, { lr: p.lr, epochs: p.epochs }]));
      const result = { base: shared, grid, complete, points: [...points], best, recipes };
      writeFileAtomic(join(dir, 'grid.json'), `${JSON.stringify(result, null, 2)}\n`);
      return result;
    };
    for (const method of methods) {
      for (const lr of grid[method]!.lrs) {
        for (const epochs of grid[method]!.epochs) {
          const file = join(dir, 'points', `${method}-lr${lr}-epochs${epochs}.json`);
          const saved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { base: unknown; point: GridPoint }) : undefined;
          if (saved && JSON.stringify(saved.base) !== JSON.stringify(shared)) {
            throw new Error(`${file} was saved by a search with other settings (${JSON.stringify(saved.base)}, now ${JSON.stringify(shared)}); give another directory, or delete ${dir} to start afresh`);
          }
          if (signal?.aborted) return report(false);
          let point = saved?.point;
          if (!point) {
            const { summary, model } = await finetune({ ...base, pooling: method === 'frozen' ? base.pooling : undefined, method, lr, epochs, testSize: 0, signal });
            model.dispose();
            if (!summary.completed) return report(false);
            point = { method, lr, epochs, val_accuracy: summary.val_accuracy, val_loss: summary.val_loss, train_seconds: summary.train_seconds, steps: summary.steps };
            writeFileAtomic(file, `${JSON.stringify({ base: shared, point }, null, 2)}\n`);
          }
          points.push(point);
          onPoint?.(point, saved !== undefined);
          report(false);
        }
      }
    }
    return report(true);
  } finally {
    lock.release();
  }
}
