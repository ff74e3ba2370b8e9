/** The safetensors format: reading and writing files (file.ts), the header (header.ts), 16-bit floats (float16.ts). */
export * from './file.js';
export type { DType, TensorInfo } from './header.js';
export { f32ToF16Bits, f32ToBf16Bits } from './float16.js';
