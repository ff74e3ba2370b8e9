/**
 * IEEE half precision (F16) and bfloat16 (BF16) conversions to and from float32, bit for bit
 * what PyTorch does: round to nearest, ties to even; NaN stays NaN; overflow becomes infinity.
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The F16 bit pattern nearest to `value` (ties to even). */
export function f32ToF16Bits(value: number): number {
  scratchF32[0] = value;
  const f = scratchU32[0];
  const sign = (f >>> 16) & 0x8000;
  const exp = f & 0x7f800000;
  if (exp >= 0x47800000) {
    // Infinity, NaN (PyTorch's canonical quiet NaN), or a finite value too large for F16.
    if (exp === 0x7f800000 && (f & 0x007fffff) !== 0) return sign | 0x7e00;
    return sign | 0x7c00;
  }
  if (exp <= 0x38000000) {
    // Subnormal F16 (or zero): below 2^-25 everything rounds to zero.
    if (exp < 0x33000000) return sign;
    const e = exp >>> 23;
    let sig = (0x00800000 | (f & 0x007fffff)) >>> (113 - e);
    // The shifted-out bits (f & 0x7ff) decide ties together with the 0x3fff window.
    if ((sig & 0x3fff) !== 0x1000 || (f & 0x7ff) !== 0) sig += 0x1000;
    return sign | (sig >>> 13);
  }
  let sig = f & 0x007fffff;
  if ((sig & 0x3fff) !== 0x1000) sig += 0x1000;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | (((exp - 0x38000000) >>> 13) + (sig >>> 13));
}

let f16Table: Float32Array | undefined;

/** All 65,536 F16 values as float32, built once (256 KB) so decoding is a table lookup. */
function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) table[h] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) table[h] = mant ? NaN : sign * Infinity;
    else table[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  f16Table = table;
  return table;
}

/** The BF16 bit pattern nearest to `value` (ties to even). */
export function f32ToBf16Bits(value: number): number {
  scratchF32[0] = value;
  const f = scratchU32[0];
  if ((f & 0x7fffffff) > 0x7f800000) return 0x7fc0; // PyTorch's canonical NaN
  return ((f + 0x7fff + ((f >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Decodes F16 bit patterns into `out` (same length). */
export function decodeF16(bits: Uint16Array, out: Float32Array): void {
  const table = f16ToF32Table();
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
}

/** Decodes BF16 bit patterns into `out` (same length): bfloat16 is the top half of a float32. */
export function decodeBf16(bits: Uint16Array, out: Float32Array): void {
  const wide = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) wide[i] = bits[i] << 16;
}

/** Encodes float32 values as F16 bit patterns. */
export function encodeF16(values: Float32Array): Uint16Array {
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = f32ToF16Bits(values[i]);
  return bits;
}

/** Encodes float32 values as BF16 bit patterns. */
export function encodeBf16(values: Float32Array): Uint16Array {
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = f32ToBf16Bits(values[i]);
  return bits;
}
