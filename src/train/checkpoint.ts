/**
 * Training checkpoints: a directory replaced as a whole, so that a run interrupted at any moment
 * leaves either the previous checkpoint or the new one, never a mixture.
 *
 * `last/` holds what resuming needs (the trainable variables, AdamW's moments, the loop's
 * position and history); the best model goes to a directory of its own in the model's own format.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readSafetensors, writeSafetensors } from '../safetensors/index.js';
import { recoverDirectory, writeDirectoryAtomic, writeFileAtomic } from '../files/atomic.js';
import { lockDirectory, type DirectoryLock } from '../files/lock.js';
import type { AdamW } from './optimizer.js';

/** Restores a checkpoint directory after crashes (see `recoverDirectory`), saying what it did on stderr. */
export function recoverCheckpoint(dir: string): void {
  for (const action of recoverDirectory(dir)) process.stderr.write(`${action}\n`);
}

const STATE_FILE = 'trainer_state.json';
const PARAMS_FILE = 'trainable.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
/** The trainable variables at the best epoch so far. */
export const BEST_FILE = 'best.safetensors';

/** What every loop's checkpointed state has; each loop adds where it stands (`LoopState` for `fit`, `PretrainState`). */
export interface CheckpointState {
  /** Optimizer steps taken so far. */
  globalStep: number;
  /** What the run was started with; a resume with different settings is refused. */
  fingerprint: Record<string, unknown>;
}

async function writeVariables(path: string, tensors: Iterable<[string, tf.Tensor]>): Promise<void> {
  const arrays = await Promise.all([...tensors].map(async ([name, v]) => ({ name, shape: v.shape, data: (await v.data()) as Float32Array })));
  await writeSafetensors(path, arrays);
}

/** Named tensors from a file written by `saveTrainingCheckpoint`. */
export function loadVariables(path: string): Map<string, tf.Tensor> {
  const file = readSafetensors(path);
  try {
    return new Map(file.names().map((name) => [name, tf.tensor(file.readFloat32(name), [...file.info(name).shape])]));
  } finally {
    file.close();
  }
}

/** Writes the loop state, the trainable variables, the optimizer and (if any) the best variables to `dir`, atomically. */
export async function saveTrainingCheckpoint(dir: string, state: CheckpointState, params: [string, tf.Variable][], optimizer: AdamW, best?: Map<string, tf.Tensor>): Promise<void> {
  await writeDirectoryAtomic(dir, async (tmp) => {
    await writeVariables(join(tmp, PARAMS_FILE), params);
    if (best) await writeVariables(join(tmp, BEST_FILE), best);
    const opt = await optimizer.exportState();
    await writeSafetensors(join(tmp, OPTIMIZER_FILE), opt.tensors, { metadata: { step: String(opt.step) } });
    writeFileAtomic(join(tmp, STATE_FILE), JSON.stringify(state, null, 1));
  });
}

/** Whether `dir` holds a training checkpoint to resume from. */
export function hasTrainingCheckpoint(dir: string): boolean {
  recoverCheckpoint(dir);
  return existsSync(join(dir, STATE_FILE));
}

export interface ClaimOptions {
  /** What runs there, for messages: "training run", "pretraining run". */
  what: string;
  /** Continue the run saved in `outputDir/last`; there must be one. */
  resume: boolean;
  /** Start afresh, removing these earlier results (relative to `outputDir`) if present. */
  overwrite: boolean;
  /** The directories an earlier run leaves in `outputDir` (`last` among them). */
  results: string[];
}

/**
 * Takes `outputDir` for one run: locks it against a second run (see `lockDirectory`), repairs
 * `last/` after crashes, and refuses what would lose work or silently do something else:
 * resuming with nothing to resume, or starting afresh over an earlier run without `overwrite`.
 */
export function claimRunDirectory(outputDir: string, options: ClaimOptions): DirectoryLock {
  const lock = lockDirectory(outputDir, options.what);
  try {
    const lastDir = join(outputDir, 'last');
    if (options.resume && options.overwrite) throw new Error('resume continues the run in the output directory and overwrite replaces it: choose one');
    if (options.resume && !hasTrainingCheckpoint(lastDir)) {
      throw new Error(`there is nothing to resume in ${outputDir}: it holds no checkpoint (${join(lastDir, STATE_FILE)}); start the run without resume, or check the directory`);
    }
    const earlier = options.resume ? [] : options.results.filter((name) => existsSync(join(outputDir, name)));
    if (earlier.length > 0 && !options.overwrite) {
      throw new Error(
        `${outputDir} already holds a ${options.what}; continue it with --resume (resume: true), ` +
          `replace it with --overwrite (overwrite: true; removes ${earlier.join(', ')}), or choose another output directory`,
      );
    }
    for (const name of earlier) rmSync(join(outputDir, name), { recursive: true, force: true });
    return lock;
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** Restores the variables and the optimizer from `dir` and returns the loop state. */
export function loadTrainingCheckpoint<S extends CheckpointState>(dir: string, params: [string, tf.Variable][], optimizer: AdamW): S {
  recoverCheckpoint(dir);
  const statePath = join(dir, STATE_FILE);
  if (!existsSync(statePath)) {
    throw new Error(`${dir} is not a training checkpoint (no ${STATE_FILE}); start without resume, or point at the run's output directory`);
  }
  for (const file of [PARAMS_FILE, OPTIMIZER_FILE]) {
    if (!existsSync(join(dir, file))) throw new Error(`the checkpoint ${dir} is damaged: it lacks ${file}; delete ${dir} to start over`);
  }
  let state: S;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as S;
  } catch (err) {
    throw new Error(`${statePath} is not valid JSON (${(err as Error).message}); the checkpoint is damaged: delete ${dir} to start over`);
  }
  const path = join(dir, PARAMS_FILE);
  const saved = loadVariables(path);
  try {
    for (const [name, v] of params) {
      const value = saved.get(name);
      if (!value) throw new Error(`${path} lacks ${name}: the checkpoint belongs to another model or method`);
      if (value.shape.join() !== v.shape.join()) throw new Error(`${path}: ${name} has shape [${value.shape}] but the model needs [${v.shape}]`);
      v.assign(value);
    }
  } finally {
    tf.dispose([...saved.values()]);
  }
  const optFile = readSafetensors(join(dir, OPTIMIZER_FILE));
  try {
    optimizer.importState({
      step: Number(optFile.metadata.step ?? state.globalStep),
      tensors: optFile.names().map((name) => ({ name, shape: [...optFile.info(name).shape], data: optFile.readFloat32(name) })),
    });
  } finally {
    optFile.close();
  }
  return state;
}
