/**
 * 8-bit weight quantization for the `model_quantized.onnx` variant: symmetric, each weight
 * rounded to one of the 255 steps in [-127, 127] of its group's scale, one scale per output
 * column of a Linear weight `[in, out]` (what each output's dot product multiplies by) or per row
 * of an embedding table `[rows, width]` (what each looked-up vector, and each logit of a tied
 * decoder, multiplies by). The activations are quantized at run time by the graph itself
 * (DynamicQuantizeLinear, to uint8), as ONNX Runtime's own `quantize_dynamic` does.
 *
 * The steps are stored as uint8 with zero point 128, not as int8: on x86 CPUs without VNNI
 * (AVX2, e.g. AMD Zen 2 and 3) ONNX Runtime multiplies uint8 activations by int8 weights with
 * VPMADDUBSW, which adds two products in int16 and saturates when both are large (255 × 127 × 2 >
 * 32,767), so the same file gave other outputs there; uint8 by uint8 is multiplied in 32 bits on
 * every CPU.
 */

/** The zero point of every quantized weight: the uint8 that stands for 0. */
export const WEIGHT_ZERO_POINT = 128;

/** Along which axis a weight gets its scales: one per column, or one per row. */
export type ScaleAxis = 'column' | 'row';

/** `weight ≈ (values - WEIGHT_ZERO_POINT) * scales[column or row]`, for a row-major `[rows, columns]` weight. */
export function quantizeWeight(weight: Float32Array, rows: number, columns: number, per: ScaleAxis): { values: Uint8Array; scales: Float32Array } {
  const group = per === 'column' ? (i: number) => i % columns : (i: number) => Math.floor(i / columns);
  const scales = new Float32Array(per === 'column' ? columns : rows);
  for (let i = 0; i < weight.length; i++) scales[group(i)] = Math.max(scales[group(i)], Math.abs(weight[i]));
  // An all-zero group keeps scale 1, so that nothing divides by zero and it stays exactly zero.
  for (let g = 0; g < scales.length; g++) scales[g] = scales[g] > 0 ? scales[g] / 127 : 1;
  const values = new Uint8Array(rows * columns);
  for (let i = 0; i < weight.length; i++) values[i] = WEIGHT_ZERO_POINT + Math.max(-127, Math.min(127, Math.round(weight[i] / scales[group(i)])));
  return { values, scales };
}
