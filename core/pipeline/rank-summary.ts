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

/** What one scan of a score vector tells (schedule.ts `ScoreSummary` without its lazy row lists). */
export interface ScanSummary {
  fitCount: number;
  /** −1 when no row fits. */
  best: number;
  /** First row with the best score (−1 when none fits). */
  bestAt: number;
  bestCount: number;
}

/** One scan of `scores[0..n)`, whose row i is row `offset + i` of the whole vector. */
export function scanScores(scores: ArrayLike<number>, n: number, offset = 0): ScanSummary {
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
  return { fitCount, best, bestAt, bestCount };
}

/** Write a chunk's summary into slot `slot` of the arena's summaries. */
export function writeSummary(out: Float64Array, slot: number, s: ScanSummary): void {
  const at = slot * SUMMARY_FIELDS;
  out[at] = s.fitCount;
  out[at + 1] = s.best;
  out[at + 2] = s.bestAt;
  out[at + 3] = s.bestCount;
}

/** The summary of a whole vector from its chunks' summaries (slots 0..slots−1, chunks in row order). */
export function combineSummaries(summaries: Float64Array, slots: number): ScanSummary {
  let fitCount = 0;
  let best = -1;
  let bestAt = -1;
  let bestCount = 0;
  for (let s = 0; s < slots; s++) {
    const at = s * SUMMARY_FIELDS;
    if (summaries[at] === 0) continue;
    fitCount += summaries[at];
    const b = summaries[at + 1];
    if (b > best) {
      best = b;
      bestAt = summaries[at + 2];
      bestCount = summaries[at + 3];
    } else if (b === best) bestCount += summaries[at + 3];
  }
  return { fitCount, best, bestAt, bestCount };
}
