/**
 * ONNX export: fine-tuned BERTs (LoRA folded in, bottleneck adapters as layers) as ONNX files in
 * transformers.js' layout, and ONNX Runtime sessions to run them.
 */
export { exportOnnx, defaultTask, onnxGraph, type ExportOptions, type ExportResult, type OnnxGraph } from './export.js';
export { ENGINES, resolveEngine, type Engine, type EngineChoice } from './engine.js';
export { OnnxModel, type OnnxModelOptions, type TokenBatch } from './model.js';
export { ONNX_INPUTS, ONNX_MODEL_FILE, ONNX_QUANTIZED_FILE, ONNX_TASKS, OPSET, type OnnxTask } from './layout.js';
export { createSession, onnxRuntime, runBert, type OnnxBatch, type OnnxOutputs, type OrtSessionOptions } from './session.js';
export { decodeModel, encodeModel, ONNX_PROTO } from './proto.js';
