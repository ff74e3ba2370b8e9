/**
 * Which engine runs the work that does not train: TensorFlow.js (the engine that trains) or ONNX
 * Runtime (an exported graph, src/onnx/model.ts). `auto` takes ONNX Runtime where onnxruntime-node
 * is installed and TensorFlow.js runs on a CPU backend, where ORT is always the faster: its forward
 * pass ran bert-mini several times as fast as TensorFlow.js' wasm backend (src/bench/RESULTS.md). On a
 * GPU backend (webgpu) the work stays with TensorFlow.js, as onnxruntime-node runs on the CPU unless
 * its CUDA provider is installed.
 */
import { peerInstalled } from '../package/peers.js';

export const ENGINES = ['auto', 'onnx', 'tfjs'] as const;
export type EngineChoice = (typeof ENGINES)[number];
export type Engine = Exclude<EngineChoice, 'auto'>;

/**
 * TensorFlow.js' backends that compute on the CPU. Not `tensorflow`: tfjs-node-gpu registers under
 * that name too, and neither could be installed here to measure.
 */
const CPU_BACKENDS = ['cpu', 'wasm'];

/** The engine for `choice` given TensorFlow.js' backend (`tf.getBackend()`): `auto` decides as the module says. */
export function resolveEngine(choice: EngineChoice, backend: string): Engine {
  if (!(ENGINES as readonly string[]).includes(choice)) throw new Error(`unknown engine ${JSON.stringify(choice)}; use one of ${ENGINES.join(', ')}`);
  if (choice !== 'auto') return choice;
  return CPU_BACKENDS.includes(backend) && peerInstalled('onnxruntime-node') ? 'onnx' : 'tfjs';
}
