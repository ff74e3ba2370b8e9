// The safetensors format: reading and writing checkpoints as Python's safetensors does.
export type { DType, TensorInfo } from './header.js';
export { f32ToF16Bits, f32ToBf16Bits } from './float16.js';
export * from './io.js';
