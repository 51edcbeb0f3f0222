/**
 * Random scorer: pure and worker-safe. Legacy `scheduler/strategy/random.go` shuffled the
 * filtered nodes and did NOT check resources; here every row gets a uniform pseudo-random
 * score in [0, 100) derived from (seed, row) only, so the ranking is a seeded shuffle that is
 * the same inline or in any worker, for any chunking.
 */
import type { ScoreTask } from '../../core/types.ts';

/** splitmix32-style finalizer of (seed, row): a well-mixed 32-bit value. */
export function mix(seed: number, row: number): number {
  let h = (seed ^ Math.imul(row + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export function score({ from, to, seed }: ScoreTask): Float64Array {
  const out = new Float64Array(to - from);
  // decorrelate from the scheduler's tie-break RNG, which uses the same seed
  const s = (seed ^ 0x5bd1e995) >>> 0;
  for (let i = from; i < to; i++) out[i - from] = (mix(s, i) / 2 ** 32) * 100;
  return out;
}
