/** Where the course writes what its notebooks make: all of it under the project's `build/`. */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../package/root.js';

/** The results ledger: each method notebook's figures, which notebook 07 compares. */
export const RESULTS_FILE = join(PROJECT_ROOT, 'build', 'results.json');

/** Where notebook 01's live pretraining run goes (`DIR/model` is the model). */
export const LIVE_RUN_DIR = join(PROJECT_ROOT, 'build', 'pretrain-live');

/** Where a method notebook's training run goes (`DIR/best` is the best epoch's model). */
export function runDir(method: string): string {
  return join(PROJECT_ROOT, 'build', 'runs', method);
}

/** Where `finetune-lab grid` keeps each point's result and its `grid.json`. */
export const GRID_DIR = join(PROJECT_ROOT, 'build', 'grid');

/** Where notebooks save charts as pictures. */
export const FIGURES_DIR = join(PROJECT_ROOT, 'build', 'figures');
