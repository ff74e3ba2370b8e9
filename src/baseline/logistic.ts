/**
 * Multinomial logistic regression on sparse features with an L2 penalty, trained on the whole
 * training set at every step with L-BFGS (the solver scikit-learn uses by default). No
 * randomness: the same data always gives the same weights.
 */
import type { SparseRow } from './vectorizer.js';
import { argmax } from '../numbers.js';

export interface LogisticOptions {
  /** Weight of the penalty (l2 / 2)·‖W‖² added to the mean cross-entropy (default 1e-5); the bias is not penalised. */
  l2?: number;
  /** Most L-BFGS iterations (default 200); training stops earlier once the gradient is below `tolerance`. */
  iterations?: number;
  /** Largest gradient entry at which training counts as converged (default 1e-6). */
  tolerance?: number;
}

/** How many recent steps L-BFGS remembers to estimate the curvature. */
const MEMORY = 10;
/** Armijo's sufficient decrease: a step must win at least this share of what the slope promises. */
const ARMIJO = 1e-4;

/** Parameters are one vector: the weights, row-major [features, classes], then one bias per class. */
class Objective {
  private readonly logits: Float64Array;

  constructor(
    private readonly rows: readonly SparseRow[],
    private readonly labels: readonly number[],
    private readonly numFeatures: number,
    private readonly K: number,
    private readonly l2: number,
  ) {
    this.logits = new Float64Array(K);
  }

  /** Writes the gradient at `theta` into `grad` and returns the mean cross-entropy plus the penalty. */
  evaluate(theta: Float64Array, grad: Float64Array): number {
    const { rows, labels, K, l2, logits } = this;
    const biasAt = this.numFeatures * K;
    const n = rows.length;
    let loss = 0;
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      const { indices, values } = rows[i];
      for (let c = 0; c < K; c++) logits[c] = theta[biasAt + c];
      for (let k = 0; k < indices.length; k++) {
        const base = indices[k] * K;
        for (let c = 0; c < K; c++) logits[c] += values[k] * theta[base + c];
      }
      const logSum = logSumExp(logits);
      const y = labels[i];
      loss += logSum - logits[y];
      // d loss / d logits = softmax - one-hot; reuse `logits` for it.
      for (let c = 0; c < K; c++) logits[c] = (Math.exp(logits[c] - logSum) - (c === y ? 1 : 0)) / n;
      for (let c = 0; c < K; c++) grad[biasAt + c] += logits[c];
      for (let k = 0; k < indices.length; k++) {
        const base = indices[k] * K;
        for (let c = 0; c < K; c++) grad[base + c] += values[k] * logits[c];
      }
    }
    let penalty = 0;
    for (let j = 0; j < biasAt; j++) {
      penalty += theta[j] * theta[j];
      grad[j] += l2 * theta[j];
    }
    return loss / n + (l2 / 2) * penalty;
  }
}

function logSumExp(z: Float64Array): number {
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  let sum = 0;
  for (const v of z) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * b[j];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * Minimises `f` from `theta` (updated in place) with L-BFGS and a backtracking line search;
 * returns the objective after each iteration and the most steps the history held.
 */
function lbfgs(f: Objective, theta: Float64Array, iterations: number, tolerance: number): { history: number[]; steps: number } {
  const size = theta.length;
  let grad = new Float64Array(size);
  let loss = f.evaluate(theta, grad);
  const history: number[] = [loss];
  const memory: { s: Float64Array; y: Float64Array; rho: number }[] = [];
  const direction = new Float64Array(size);
  const trial = new Float64Array(size);
  let trialGrad = new Float64Array(size);
  const alpha = new Float64Array(MEMORY);
  let steps = 0;
  for (let t = 0; t < iterations && maxAbs(grad) > tolerance; t++) {
    // Two-loop recursion: direction = -H·grad with H the inverse-curvature estimate.
    for (let j = 0; j < size; j++) direction[j] = -grad[j];
    for (let m = memory.length - 1; m >= 0; m--) {
      alpha[m] = memory[m].rho * dot(memory[m].s, direction);
      const y = memory[m].y;
      for (let j = 0; j < size; j++) direction[j] -= alpha[m] * y[j];
    }
    const last = memory[memory.length - 1];
    // Without any history, a first step whose length is 1 in the largest coordinate.
    const scale = last ? 1 / (last.rho * dot(last.y, last.y)) : 1 / Math.max(maxAbs(grad), 1e-12);
    for (let j = 0; j < size; j++) direction[j] *= scale;
    for (let m = 0; m < memory.length; m++) {
      const beta = memory[m].rho * dot(memory[m].y, direction);
      const s = memory[m].s;
      for (let j = 0; j < size; j++) direction[j] += (alpha[m] - beta) * s[j];
    }
    const slope = dot(grad, direction);
    if (!(slope < 0)) break;
    let step = 1;
    let trialLoss = Infinity;
    for (let tries = 0; tries < 40; tries++, step /= 2) {
      for (let j = 0; j < size; j++) trial[j] = theta[j] + step * direction[j];
      trialLoss = f.evaluate(trial, trialGrad);
      if (trialLoss <= loss + ARMIJO * step * slope) break;
    }
    if (!(trialLoss < loss)) break;
    const s = new Float64Array(size);
    const y = new Float64Array(size);
    for (let j = 0; j < size; j++) {
      s[j] = trial[j] - theta[j];
      y[j] = trialGrad[j] - grad[j];
    }
    const sy = dot(s, y);
    // The penalty makes the objective strictly convex, so sy > 0; the check guards rounding.
    if (sy > 1e-12) {
      memory.push({ s, y, rho: 1 / sy });
      if (memory.length > MEMORY) memory.shift();
      steps = Math.max(steps, memory.length);
    }
    theta.set(trial);
    [grad, trialGrad] = [trialGrad, grad];
    loss = trialLoss;
    history.push(loss);
  }
  return { history, steps };
}

export class LogisticRegression {
  private constructor(
    /** Row-major [features, classes]. */
    readonly weights: Float64Array,
    readonly bias: Float64Array,
    readonly numFeatures: number,
    readonly numClasses: number,
    /** Training objective at the start and after each iteration. */
    readonly lossHistory: readonly number[],
    /**
     * Bytes of the numeric arrays training held at its peak: the features, the parameters and
     * their gradients, the line search's trial point and L-BFGS's history of steps.
     */
    readonly trainingBytes: number,
  ) {}

  /** Number of learnt numbers: one weight per feature and class, one bias per class. */
  get parameterCount(): number {
    return this.weights.length + this.bias.length;
  }

  static fit(rows: readonly SparseRow[], labels: readonly number[], numFeatures: number, numClasses: number, options: LogisticOptions = {}): LogisticRegression {
    const { l2 = 1e-5, iterations = 200, tolerance = 1e-6 } = options;
    if (rows.length === 0 || rows.length !== labels.length) throw new Error(`logistic regression needs one label per row and at least one row (got ${rows.length} rows, ${labels.length} labels)`);
    if (!(l2 > 0) || !Number.isInteger(iterations) || iterations <= 0) throw new Error(`l2 must be above 0 and iterations a positive whole number (got l2=${l2}, iterations=${iterations})`);
    const theta = new Float64Array((numFeatures + 1) * numClasses);
    const { history, steps } = lbfgs(new Objective(rows, labels, numFeatures, numClasses, l2), theta, iterations, tolerance);
    const split = numFeatures * numClasses;
    // theta, grad, direction, trial, trialGrad, and one s and one y per remembered step.
    const vectors = 5 + 2 * steps;
    const featureBytes = rows.reduce((sum, row) => sum + row.indices.byteLength + row.values.byteLength, 0);
    return new LogisticRegression(theta.slice(0, split), theta.slice(split), numFeatures, numClasses, history, vectors * theta.byteLength + featureBytes);
  }

  /** Class probabilities of one row. */
  probabilities(row: SparseRow): number[] {
    const K = this.numClasses;
    const logits = Float64Array.from(this.bias);
    for (let k = 0; k < row.indices.length; k++) {
      const base = row.indices[k] * K;
      for (let c = 0; c < K; c++) logits[c] += row.values[k] * this.weights[base + c];
    }
    const logSum = logSumExp(logits);
    return Array.from(logits, (z) => Math.exp(z - logSum));
  }

  predict(row: SparseRow): number {
    const p = this.probabilities(row);
    return argmax(p);
  }
}
