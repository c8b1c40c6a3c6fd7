/** Small, fast, seeded hashing and pseudo-random numbers: the portal and the faults are deterministic from a seed. */

/** MurmurHash3's 32-bit finalizer: a good avalanche for a 32-bit integer. */
export const fmix32 = (x: number): number => {
  let h = x >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** A 32-bit hash of a string under a seed (FNV-1a, then finalized). */
export const hashString = (seed: number, s: string): number => {
  let h = (0x811c9dc5 ^ fmix32(seed)) >>> 0
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return fmix32(h)
}

/** A 32-bit hash of two integers. */
export const hash2 = (a: number, b: number): number => fmix32(fmix32(a) ^ Math.imul(b >>> 0, 0x9e3779b1))

/** mulberry32: a generator of floats in [0, 1) from a 32-bit state. */
export const mulberry32 = (seed: number): () => number => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
