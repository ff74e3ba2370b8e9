/**
 * Reverse-mode differentiation over TensorFlow.js's tape that frees memory as it goes.
 *
 * Why: tfjs' own `variableGrads` keeps every intermediate gradient, and every activation saved
 * for the backward pass, until the whole backward pass has ended, so it needs about twice the
 * forward pass's activations on top of the gradients. At bert-base, 2 × 256 tokens on wasm the
 * forward pass grew the heap to 1.5 GB and the backward pass past the wasm limit of 4 GB. Here,
 * as in PyTorch's autograd, a node's saved tensors and its outputs' gradients are freed as soon
 * as the node has been differentiated, and tensors saved by nodes that lie on no path from the
 * variables to the loss (a frozen encoder's) are freed before the backward pass starts.
 *
 * It walks the engine's tape (backend/tfjs-internals: tfjs' private API), so
 * tests/backprop.test.ts checks the results against tf.variableGrads on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { recordingGradients, recordTape, type TapeNode } from '../backend/tfjs-internals/index.js';

/**
 * The loss `f()` and its gradient with respect to each trainable variable in `variables` that it
 * depends on (a variable it does not depend on has no entry, as PyTorch leaves its `.grad` None).
 */
export function gradientsOf(f: () => tf.Scalar, variables: tf.Variable[]): { value: tf.Scalar; grads: Map<tf.Variable, tf.Tensor> } {
  const xs = variables.filter((v) => v.trainable);
  if (xs.length === 0) throw new Error(`none of the ${variables.length} variables is trainable: there is nothing to differentiate`);
  if (recordingGradients()) throw new Error('gradientsOf cannot run inside another gradient computation');
  const { value, tape } = recordTape(() => tf.tidy(f));
  try {
    if (!(value instanceof tf.Tensor) || value.rank !== 0) throw new Error(`the loss must be a scalar, but it has shape [${(value as tf.Tensor)?.shape}]`);
    const nodes = nodesFromXsToY(tape, xs, value);
    const needed = new Set(nodes.map((n) => n.id));
    for (const node of tape) if (!needed.has(node.id)) tf.dispose(node.saved);
    const grads = tf.tidy(() => backpropagate(nodes, value, xs));
    return { value, grads: new Map(xs.flatMap((x, i) => (grads[i] ? [[x, grads[i]!] as const] : []))) };
  } catch (err) {
    tf.dispose(value);
    throw err;
  } finally {
    for (const node of tape) tf.dispose(node.saved);
  }
}

/** The nodes on a path from `xs` to `y`, each with only the inputs that depend on `xs` (tfjs' getFilteredNodesXToY). */
function nodesFromXsToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromXs = new Set(xs.map((x) => x.id));
  const onPathFromXs = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromXs.has(t.id))) {
      onPathFromXs.add(node.id);
      for (const t of node.outputs) fromXs.add(t.id);
    }
  }
  const toY = new Set([y.id]);
  const onPathToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((t) => toY.has(t.id))) {
      onPathToY.add(node.id);
      for (const t of Object.values(node.inputs)) toY.add(t.id);
    }
  }
  return tape
    .filter((node) => onPathFromXs.has(node.id) && onPathToY.has(node.id))
    .map((node) => ({ ...node, inputs: Object.fromEntries(Object.entries(node.inputs).filter(([, t]) => fromXs.has(t.id))) }));
}

/** Walks the nodes backwards from `dy/dy = 1`; returns the gradient of each of `xs` (undefined where none). */
function backpropagate(nodes: TapeNode[], y: tf.Tensor, xs: tf.Tensor[]): (tf.Tensor | undefined)[] {
  // Each entry owns its tensor object, so that freeing one entry frees no other: a gradient
  // function may hand back one of its dys (Identity) or one tensor for two inputs (Add).
  const gradOf = new Map<number, tf.Tensor>([[y.id, tf.onesLike(y)]]);
  const owned = new Set<tf.Tensor>(gradOf.values());
  const accumulate = (x: tf.Tensor, dx: tf.Tensor) => {
    const own = owned.has(dx) ? tf.clone(dx) : dx;
    const sum = gradOf.get(x.id);
    const total = sum ? tf.add(sum, own) : own;
    if (sum) {
      tf.dispose([sum, own]);
      owned.delete(sum);
    }
    gradOf.set(x.id, total);
    owned.add(total);
  };
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!node.gradient) throw new Error(`cannot differentiate through ${node.kernelName}: it has no registered gradient`);
    const dys = node.outputs.map((t) => gradOf.get(t.id) ?? null);
    const names = Object.keys(node.inputs);
    // One scope per node: gradient functions (custom gradients among them) make temporaries eagerly.
    const dxs = tf.tidy(() => {
      const fns = node.gradient!(dys);
      return names.map((name) => {
        if (!fns[name]) throw new Error(`the gradient of ${node.kernelName} has no entry for its input ${name}`);
        return fns[name]();
      });
    });
    names.forEach((name, j) => {
      const x = node.inputs[name];
      if (dxs[j].shape.join() !== x.shape.join()) throw new Error(`the gradient of ${node.kernelName} for ${name} has shape [${dxs[j].shape}], not the input's [${x.shape}]`);
      accumulate(x, dxs[j]);
    });
    for (const t of node.outputs) {
      const g = gradOf.get(t.id);
      if (!g) continue;
      g.dispose();
      owned.delete(g);
      gradOf.delete(t.id);
    }
    tf.dispose(node.saved);
  }
  return xs.map((x) => gradOf.get(x.id));
}
