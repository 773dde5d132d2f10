/**
 * Deterministic randomness. Fault rates must be reproducible from a seed (a flaky
 * test that fails once in fifty runs is worse than no test), and generated ids are
 * drawn from a seeded stream too so that two runs of the same scenario produce the
 * same ids and logs can be compared line by line.
 */
export type Rng = () => number;

/** mulberry32: tiny, fast, and good enough for picking which calls to fail. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomHex(rng: Rng, length: number): string {
  let out = '';
  while (out.length < length) out += Math.floor(rng() * 16).toString(16);
  return out;
}
