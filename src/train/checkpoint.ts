/**
 * Training checkpoints: a directory replaced as a whole, so that a run interrupted at any moment
 * leaves either the previous checkpoint or the new one, never a mixture.
 *
 * `last/` holds what resuming needs (the trainable variables, AdamW's moments, the loop's
 * position and history); the best model goes to a directory of its own in the model's own format.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { readSafetensors, writeSafetensors } from '../safetensors/index.js';
import type { AdamW } from './optimizer.js';

/**
 * Writes a directory atomically: `write` fills a temporary sibling, which then replaces `dir`.
 * The old copy is moved aside before the swap and removed after, so a crash between the two
 * renames leaves `dir.old-*`, which `recoverDirectory` puts back.
 */
export async function writeDirectoryAtomically(dir: string, write: (tmp: string) => Promise<void> | void): Promise<void> {
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(dir)}.tmp-${process.pid}`);
  const old = join(parent, `.${basename(dir)}.old-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    await write(tmp);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/** Puts back a directory that a crash during `writeDirectoryAtomically`'s swap left moved aside. */
function recoverDirectory(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (!existsSync(parent)) return;
  const prefix = `.${basename(dir)}.old-`;
  const aside = readdirSync(parent).find((name) => name.startsWith(prefix));
  if (aside) renameSync(join(parent, aside), dir);
}

const STATE_FILE = 'trainer_state.json';
const PARAMS_FILE = 'trainable.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
/** The trainable variables at the best epoch so far. */
export const BEST_FILE = 'best.safetensors';

/** Where the loop stands; with the variables and the optimizer it is everything a resume needs. */
export interface LoopState<H> {
  /** The epoch in progress (0-based) and how many of its batches are done. */
  epoch: number;
  batchInEpoch: number;
  /** Optimizer steps taken so far. */
  globalStep: number;
  /** Sum of the losses (times batch size) and the examples seen in the epoch in progress. */
  epochLossSum: number;
  epochExamples: number;
  /** Examples trained on in the whole run. */
  trainExamples: number;
  /** Seconds spent training before this checkpoint, so throughput figures survive a resume. */
  trainSeconds: number;
  bestValLoss: number | null;
  bestEpoch: number | null;
  history: H[];
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
export async function saveTrainingCheckpoint<H>(dir: string, state: LoopState<H>, params: [string, tf.Variable][], optimizer: AdamW, best?: Map<string, tf.Tensor>): Promise<void> {
  await writeDirectoryAtomically(dir, async (tmp) => {
    await writeVariables(join(tmp, PARAMS_FILE), params);
    if (best) await writeVariables(join(tmp, BEST_FILE), best);
    const opt = await optimizer.exportState();
    await writeSafetensors(join(tmp, OPTIMIZER_FILE), opt.tensors, { metadata: { step: String(opt.step) } });
    writeFileSync(join(tmp, STATE_FILE), JSON.stringify(state, null, 1));
  });
}

/** Whether `dir` holds a training checkpoint to resume from. */
export function hasTrainingCheckpoint(dir: string): boolean {
  recoverDirectory(dir);
  return existsSync(join(dir, STATE_FILE));
}

/** Restores the variables and the optimizer from `dir` and returns the loop state. */
export function loadTrainingCheckpoint<H>(dir: string, params: [string, tf.Variable][], optimizer: AdamW): LoopState<H> {
  recoverDirectory(dir);
  const statePath = join(dir, STATE_FILE);
  if (!existsSync(statePath)) {
    throw new Error(`${dir} is not a training checkpoint (no ${STATE_FILE}); start without resume, or point at the run's output directory`);
  }
  let state: LoopState<H>;
  try {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as LoopState<H>;
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
