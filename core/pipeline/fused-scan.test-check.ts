/** Test helper (fused-scan.test.ts, kernel-pool.test.ts): a fused job's result against the plain definition. */
import assert from 'node:assert/strict';
import { chunksOf, nthBestRow, type FusedJob } from './fused-scan.ts';
import { combineSummaries } from './rank-summary.ts';
import type { ScoreFn } from '../types.ts';

/** The answer by the plain definition: candidates are rows whose verdicts are all 1 and whose score is ≥ 0. */
function reference(job: FusedJob, scores: Float64Array) {
  let fitCount = 0;
  let best = -1;
  const bestRows: number[] = [];
  for (let i = 0; i < job.rows; i++) {
    if (!job.verdicts.every((v) => v[i] === 1) || !(scores[i] >= 0)) continue;
    fitCount++;
    if (scores[i] > best) { best = scores[i]; bestRows.length = 0; }
    if (scores[i] === best) bestRows.push(i);
  }
  return { fitCount, best, bestRows };
}

/** Run `job` with `run` and check the count, the best score, its rows and the tie-break against `reference`. */
export function checkJob(job: FusedJob, run: (job: FusedJob, score?: ScoreFn) => Float64Array, score?: ScoreFn): void {
  const summaries = run(job, score);
  const scores = job.source.kind === 'vector' ? job.source.scores : job.source.out;
  const ref = reference(job, scores);
  const chunks = chunksOf(job.rows);
  const got = combineSummaries(summaries, chunks);
  assert.equal(got.fitCount, ref.fitCount);
  if (ref.fitCount === 0) return;
  assert.equal(got.best, ref.best);
  assert.equal(got.bestAt, ref.bestRows[0]);
  assert.equal(got.bestCount, ref.bestRows.length);
  for (const n of [0, ref.bestRows.length >> 1, ref.bestRows.length - 1]) assert.equal(nthBestRow(job, summaries, chunks, got.best, n), ref.bestRows[n]);
}
