import * as tf from '@tensorflow/tfjs';

/**
 * Runs `work` and returns its result with the peak of `tf.memory().numBytes` during it: the most
 * bytes that TensorFlow.js tensors held at once (weights, activations, gradients, optimizer state),
 * on any backend. Every allocation counts, including the short-lived ones inside a training step
 * that sampling `tf.memory()` between steps would miss.
 */
export async function measurePeakMemory<T>(work: () => Promise<T>): Promise<{ result: T; peakBytes: number }> {
  const state = tf.engine().state;
  let bytes = state.numBytes;
  let peakBytes = bytes;
  // The engine keeps its byte count in this one field; watching its writes sees every change.
  Object.defineProperty(state, 'numBytes', {
    configurable: true,
    enumerable: true,
    get: () => bytes,
    set: (value: number) => {
      bytes = value;
      if (value > peakBytes) peakBytes = value;
    },
  });
  try {
    return { result: await work(), peakBytes };
  } finally {
    delete (state as { numBytes?: number }).numBytes;
    state.numBytes = bytes;
  }
}
