/**
 * tfjs-core's Engine beyond its public API: the gradient tape, the custom-op dispatch under
 * tf.customGrad, and the byte count every allocation updates.
 */
import * as tf from '@tensorflow/tfjs';

/** A node of the engine's gradient tape. */
export interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

export interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number; numBytes: number; numDataBuffers: number };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  runKernelFunc(params: {
    forwardFunc: (backend: unknown, save: (tensors: tf.Tensor[]) => void) => tf.Tensor;
    backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
    inputs: Record<string, tf.Tensor>;
  }): tf.Tensor;
  runKernel(name: string, inputs: Record<string, tf.Tensor>, attrs?: object): tf.Tensor | tf.Tensor[];
}

/** The engine with its private members typed (tests/backprop.test.ts counts buffers through it). */
export function engine(): EngineInternals {
  return tf.engine() as unknown as EngineInternals;
}

/**
 * Runs `forward` as one op on the tape, whose input gradients are `backward`'s functions, each
 * called only if backpropagation needs that input's; `forward` saves what they read. (tf.customGrad
 * is built on the same call, but computes every input's gradient.)
 */
export function runCustomOp<T extends tf.Tensor>(
  inputs: Record<string, tf.Tensor>,
  forward: (save: (tensors: tf.Tensor[]) => void) => T,
  backward: (dy: T, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>,
): T {
  return engine().runKernelFunc({ forwardFunc: (_, save) => forward(save), backwardsFunc: (dy, saved) => backward(dy as T, saved), inputs }) as T;
}

/** Whether a gradient computation (tf.grads, gradientsOf, ...) is recording. */
export function recordingGradients(): boolean {
  return engine().state.gradientDepth > 0;
}

/** `f()` with the tape on, and the tape it recorded (which the engine then forgets). */
export function recordTape<T>(f: () => T): { value: T; tape: TapeNode[] } {
  const e = engine();
  const value = e.scopedRun(() => e.startTape(), () => e.endTape(), f);
  const tape = e.state.activeTape ?? [];
  e.state.activeTape = null;
  return { value, tape };
}

/**
 * Calls `onWrite` with each new value of the engine's byte count (the one field every allocation
 * and release updates) until the returned function is called. Watches nest.
 */
export function watchEngineBytes(onWrite: (bytes: number) => void): () => void {
  const state = engine().state;
  const outer = Object.getOwnPropertyDescriptor(state, 'numBytes');
  let bytes = state.numBytes;
  Object.defineProperty(state, 'numBytes', {
    configurable: true,
    enumerable: true,
    get: () => bytes,
    set: (value: number) => {
      bytes = value;
      onWrite(value);
      outer?.set?.(value);
    },
  });
  return () => {
    Object.defineProperty(state, 'numBytes', outer?.set ? outer : { value: bytes, writable: true, enumerable: true, configurable: true });
  };
}
