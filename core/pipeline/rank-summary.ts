/**
 * What a rank-pool call and its workers share besides the node table: per chunk, a summary of its
 * scores and a done flag, both in the shared arena. Kept apart from rank-worker.ts, whose module
 * body only runs in a worker (it reads its workerData).
 */

/** A chunk summary: rows that fit, the best score, its first row (index into the scored rows), how many share it. */
export const SUMMARY_FIELDS = 4;
export const FLAG_PENDING = 0;
export const FLAG_DONE = 1;
export const FLAG_FAILED = 2;

/**
 * Summarize `scores[0..n)` (row `offset + i`) into `out[at..at+4)`: fitCount, best, bestAt,
 * bestCount — what schedule()'s `summarize` finds, for one chunk. best = −1 and bestAt = −1 when
 * no row fits.
 */
export function summarizeChunk(scores: ArrayLike<number>, n: number, offset: number, out: Float64Array, at: number): void {
  let fitCount = 0;
  let best = -1;
  let bestAt = -1;
  let bestCount = 0;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    if (!(s >= 0)) continue;
    fitCount++;
    if (s > best) {
      best = s;
      bestAt = offset + i;
      bestCount = 1;
    } else if (s === best) bestCount++;
  }
  out[at] = fitCount;
  out[at + 1] = best;
  out[at + 2] = bestAt;
  out[at + 3] = bestCount;
}
