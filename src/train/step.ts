/**
 * One optimizer step, the same for every training loop (fine-tuning, pretraining, any objective
 * to come): the learning rate of the schedule, the step's dropout stream, the gradients (summed
 * over micro-batches), the check that the loss is a finite number, clipping, the update, and
 * freeing every tensor the step made. The loops differ in their data and their bookkeeping only.
 *
 * Also the settings every loop shares: how it optimises, and how a run is controlled (where it
 * saves, whether it resumes, when it stops early, resumably).
 */
import * as tf from '@tensorflow/tfjs';
import { trainingContext, type ForwardContext } from '../ops.js';
import { accumulatedValueAndGrads, type AdamW } from './optimizer.js';

/** How a loop optimises. Each loop documents its own defaults. */
export interface OptimizationOptions {
  /** Peak learning rate. */
  lr?: number;
  /** Decoupled weight decay for everything but biases and LayerNorm. */
  weightDecay?: number;
  /** Share of the steps spent warming the learning rate up from 0. */
  warmupRatio?: number;
  /** Gradients are scaled down to this global norm when larger (as `clip_grad_norm_`); 0 turns it off. */
  maxGradNorm?: number;
  /** Seed of dropout (and, where the loop owns them, of the data order and the masks). */
  seed?: number;
}

/** Where a run saves and when it stops. Every stop before the end is saved and resumable. */
export interface RunControl {
  /** Where the run's checkpoints and results go. */
  outputDir?: string;
  /** Continue the run saved in `outputDir`; there must be one. */
  resume?: boolean;
  /** Start afresh even though `outputDir` holds an earlier run, replacing it. Default false: refused. */
  overwrite?: boolean;
  /** Stop after this many optimizer steps in total. */
  maxSteps?: number;
  /** Stop after this many seconds of this call. */
  maxSeconds?: number;
  /** Stop after the current step once aborted, e.g. on Ctrl-C. */
  signal?: AbortSignal;
}

/**
 * Whether the loop should stop before its next step, `started` being when this call began
 * (`performance.now()`). Takes a turn of the event loop first: on wasm and cpu every await
 * resolves at once, and without one a Ctrl-C (a signal handler) would never run.
 */
export async function shouldStop(control: RunControl, started: number, stepsDone: number): Promise<boolean> {
  await new Promise((next) => setImmediate(next));
  return (
    (control.maxSteps !== undefined && stepsDone >= control.maxSteps) ||
    (control.maxSeconds !== undefined && (performance.now() - started) / 1000 >= control.maxSeconds) ||
    (control.signal?.aborted ?? false)
  );
}

/** The loss stopped being a finite number; the variables were not updated with that step. */
export class NonFiniteLossError extends Error {}

/**
 * The loss of part `part` of the batch in the step's forward context, and named terms of it to
 * report (e.g. an auxiliary objective's share).
 */
export type Objective = (part: number, context: ForwardContext) => { loss: tf.Scalar; terms?: Record<string, tf.Scalar> };

export interface StepOptions {
  optimizer: AdamW;
  params: [string, tf.Variable][];
  /** This step's learning rate (the schedule's value). */
  lr: number;
  /** With `step`, the seed of the step's dropout masks (its forward context), so that a resumed run draws the same masks. */
  dropoutSeed: number;
  step: number;
  maxGradNorm: number;
  /** Each part's share of the batch, for gradient accumulation; default one part. */
  weights?: readonly number[];
  /** The error's words when the loss is not finite: where the run stands and what to do. */
  nonFinite: (loss: number) => string;
}

export interface StepResult {
  /** The batch's loss (the weighted sum of its parts'). */
  loss: number;
  /** The batch's value of each term, weighted the same way. */
  terms: Record<string, number>;
}

/** Runs one optimizer step on `objective` (see above); throws `NonFiniteLossError` before updating anything when the loss is not finite. */
export async function trainStep(objective: Objective, options: StepOptions): Promise<StepResult> {
  const { optimizer, params, maxGradNorm } = options;
  const weights = options.weights ?? [1];
  optimizer.lr = options.lr;
  const context = trainingContext(options.dropoutSeed, options.step);
  const kept: Record<string, tf.Scalar>[] = [];
  const { value, grads } = accumulatedValueAndGrads((part) => {
    const { loss, terms = {} } = objective(part, context);
    kept.push(Object.fromEntries(Object.entries(terms).map(([name, t]) => [name, tf.keep(weights.length > 1 ? tf.mul(t, weights[part]) : t)])));
    return loss;
  }, weights, params);
  const loss = (await value.data())[0];
  const terms: Record<string, number> = {};
  for (const part of kept) for (const [name, t] of Object.entries(part)) terms[name] = (terms[name] ?? 0) + (await t.data())[0];
  tf.dispose([value, ...kept.flatMap((part) => Object.values(part))]);
  if (!Number.isFinite(loss)) {
    tf.dispose([...grads.values()]);
    throw new NonFiniteLossError(options.nonFinite(loss));
  }
  const applied = maxGradNorm > 0 ? clipByGlobalNorm(grads, maxGradNorm) : grads;
  optimizer.applyGradients(applied);
  tf.dispose([...applied.values()]);
  return { loss, terms };
}

/** transformers' `get_linear_schedule_with_warmup`: the factor for the step after `done` steps. */
export function linearSchedule(done: number, total: number, warmup: number): number {
  if (done < warmup) return done / Math.max(1, warmup);
  return Math.max(0, (total - done) / Math.max(1, total - warmup));
}

/** The learning-rate schedules: transformers' linear one, and PyTorch's `OneCycleLR` (`oneCycleSchedule`). */
export type ScheduleName = 'linear' | 'one-cycle';

export const SCHEDULES: readonly ScheduleName[] = ['linear', 'one-cycle'];

/** `from` at `t` = 0 to `to` at `t` = 1 along half a cosine (OneCycleLR's `anneal_strategy='cos'`). */
function cosineBetween(from: number, to: number, t: number): number {
  return to + ((from - to) / 2) * (1 + Math.cos(Math.PI * Math.min(1, Math.max(0, t))));
}

/**
 * PyTorch's `OneCycleLR` (Smith & Topin, 2019) with its defaults, the warm-up given in steps: from
 * 1/25 of the peak up to the peak over `warmup` steps, then down to 1/25 / 10^4 of it at `total`,
 * both along half a cosine.
 */
export function oneCycleSchedule(done: number, total: number, warmup: number): number {
  const start = 1 / 25;
  if (done < warmup) return cosineBetween(start, 1, done / warmup);
  return cosineBetween(1, start / 1e4, (done - warmup) / Math.max(1, total - warmup));
}

/**
 * The factor of the peak learning rate for the step after `done` steps of `total`. With `total`
 * undefined (not known yet: a run given a time budget is still measuring its speed) the warm-up
 * runs as it will, and after it the factor stays at the peak, where the decay would begin.
 */
export function scheduleFactor(schedule: ScheduleName, done: number, total: number | undefined, warmup: number): number {
  if (total === undefined && done >= warmup) return 1;
  // The warm-up does not depend on the total.
  const steps = total ?? warmup;
  return schedule === 'one-cycle' ? oneCycleSchedule(done, steps, warmup) : linearSchedule(done, steps, warmup);
}

/** Scales the gradients so that their global norm is at most `maxNorm` (PyTorch's `clip_grad_norm_`); frees the gradients it is given. */
export function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): Map<string, tf.Tensor> {
  const names = [...grads.keys()];
  const clipped = tf.tidy(() => {
    // Not addN: webgpu's takes every input as a storage buffer of one shader, and a BERT has more
    // gradients than a shader may bind (8 on llvmpipe); stack (concat) splits its inputs to fit.
    const norm = tf.sqrt(tf.sum(tf.stack([...grads.values()].map((g) => tf.sum(tf.square(g))))));
    const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
    return [...grads.values()].map((g) => tf.mul(g, scale));
  });
  tf.dispose([...grads.values()]);
  return new Map(names.map((name, i) => [name, clipped[i]]));
}
