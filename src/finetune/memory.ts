import * as tf from '@tensorflow/tfjs';
import { watchEngineBytes } from '../backend/tfjs-internals/index.js';

/**
 * Runs `work` and returns its result with the peak of `tf.memory().numBytes` during it: the most
 * bytes that TensorFlow.js tensors held at once (weights, activations, gradients, optimizer state),
 * on any backend. Every allocation counts, including the short-lived ones inside a training step
 * that sampling `tf.memory()` between steps would miss.
 */
export async function measurePeakMemory<T>(work: () => Promise<T>): Promise<{ result: T; peakBytes: number }> {
  let peakBytes = tf.memory().numBytes;
  const stop = watchEngineBytes((bytes) => {
    if (bytes > peakBytes) peakBytes = bytes;
  });
  try {
    return { result: await work(), peakBytes };
  } finally {
    stop();
  }
}
