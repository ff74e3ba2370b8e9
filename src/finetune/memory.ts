import * as tf from '@tensorflow/tfjs';

/**
 * Runs `work` and returns its result with the peak of `tf.memory().numBytes` during it: the most
 * bytes that TensorFlow.js tensors held at once (weights, activations, gradients, optimizer state),
 * on any backend. Every allocation counts, including the short-lived ones inside a training step
 * that sampling `tf.memory()` between steps would miss.
 */
export async function measurePeakMemory<T>(work: () => Promise<T>): Promise<{ result: T; peakBytes: number }> {
  const state = tf.engine().state;
  // A measurement in progress around this one (nesting) keeps seeing every change.
  const outer = Object.getOwnPropertyDescriptor(state, 'numBytes');
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
      outer?.set?.(value);
    },
  });
  try {
    return { result: await work(), peakBytes };
  } finally {
    Object.defineProperty(state, 'numBytes', outer?.set ? outer : { value: bytes, writable: true, enumerable: true, configurable: true });
  }
}
