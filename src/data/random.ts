/**
 * Seeded randomness for everything that shuffles or samples (splits, batch order, masking),
 * so a run is reproducible from its seed alone.
 */

/** A source of uniform floats in [0, 1), like `Math.random`. */
export type Random = () => number;

/**
 * mulberry32 (Tommy Ettinger, 2017): one 32-bit word of state, a Weyl sequence step and a
 * murmur-style output mix. Small and fast, and good enough for shuffling and sampling
 * (it is not cryptographic, and its period is 2^32).
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seed for a sub-stream, e.g. `deriveSeed(seed, epoch)`: nearby inputs give unrelated seeds
 * because each part goes through murmur3's 32-bit finaliser. Deterministic, so epoch k of a
 * resumed run sees the same order as epoch k of an uninterrupted one.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = seed >>> 0;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x9e3779b1) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** A shuffled copy of `items` (Fisher-Yates); `items` itself is left as it was. */
export function shuffle<T>(items: readonly T[], random: Random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** The indices 0..n-1 in an order fixed by `seed`. */
export function permutation(n: number, seed: number): number[] {
  return shuffle(Array.from({ length: n }, (_, i) => i), mulberry32(seed));
}
