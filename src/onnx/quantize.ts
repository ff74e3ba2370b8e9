/**
 * Int8 weight quantization for the `model_quantized.onnx` variant: symmetric (zero point 0),
 * values in [-127, 127], one scale per output column of a Linear weight `[in, out]` (what each
 * output's dot product multiplies by) or per row of an embedding table `[rows, width]` (what each
 * looked-up vector, and each logit of a tied decoder, multiplies by). The activations are
 * quantized at run time by the graph itself (DynamicQuantizeLinear), as ONNX Runtime's own
 * `quantize_dynamic` does.
 */

/** Along which axis a weight gets its scales: one per column, or one per row. */
export type ScaleAxis = 'column' | 'row';

/** `weight ≈ values * scales[column or row]`, for a row-major `[rows, columns]` weight. */
export function quantizeInt8(weight: Float32Array, rows: number, columns: number, per: ScaleAxis): { values: Int8Array; scales: Float32Array } {
  const group = per === 'column' ? (i: number) => i % columns : (i: number) => Math.floor(i / columns);
  const scales = new Float32Array(per === 'column' ? columns : rows);
  for (let i = 0; i < weight.length; i++) scales[group(i)] = Math.max(scales[group(i)], Math.abs(weight[i]));
  // An all-zero group keeps scale 1, so that nothing divides by zero and it stays exactly zero.
  for (let g = 0; g < scales.length; g++) scales[g] = scales[g] > 0 ? scales[g] / 127 : 1;
  const values = new Int8Array(rows * columns);
  for (let i = 0; i < weight.length; i++) values[i] = Math.max(-127, Math.min(127, Math.round(weight[i] / scales[group(i)])));
  return { values, scales };
}
