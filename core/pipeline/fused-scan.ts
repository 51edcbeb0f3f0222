/**
 * The one pass that finds a placement on a cached node set (node-set.ts): over every row of the
 * set, a row is a candidate when every filter verdict kept for the request says "passes" (1) and
 * its score is ≥ 0; the pass counts the candidates and finds the best score, its first row and
 * how many rows share it. Nothing is materialised: no kept-row lists, no picked scores.
 *
 * Why one pass: filtering (kept rows per filter), picking scores and scanning them were three
 * passes over 100,000 rows with an allocation each; fused, they are one read of a few bytes and
 * one float per row. And a pass over rows splits into chunks that any thread can take: the
 * arrays live in SharedArrayBuffers, so the rank pool's kernel thread (kernel-worker.ts) scans
 * chunks beside the calling thread, and the result is the same whoever scanned which chunk.
 *
 * Pure module: no I/O, no imports with side effects; loaded by the kernel worker too.
 */
import { SUMMARY_FIELDS } from './rank-summary.ts';
import type { NodeTable, ScoreFn, ScoreRequest } from '../types.ts';

/** Rows per chunk: small enough for two threads to share the work evenly, big enough to be cheap to hand out. */
export const CHUNK_ROWS = 4_096;

/** How the scores of a pass are found, per chunk. */
export type ScoreSource =
  /** A vector over every row of the set (row-local scorers: kept and patched per snapshot). */
  | { kind: 'vector'; scores: Float64Array }
  /**
   * A scorer whose row scores depend on the row's table values, the request, the options, the
   * seed and the row number only (ScorerRef.rowwise): each chunk is scored where it is scanned,
   * into `out` (a vector over every row), which later readers (the tie-break, `ranked`) use.
   */
  | { kind: 'rowwise'; table: NodeTable; out: Float64Array; module: string; options: Readonly<Record<string, unknown>>; request: ScoreRequest; seed: number };

/** One fused pass: the verdicts that must all say 1, and where the scores come from. */
export interface FusedJob {
  rows: number;
  verdicts: readonly Uint8Array[];
  source: ScoreSource;
}

/** Per chunk: [fitCount, best, bestAt (row of the set), bestCount], as rank-summary.ts lays summaries out. */
export const CHUNK_FIELDS = SUMMARY_FIELDS;

/**
 * Score (rowwise sources only) and scan rows [from, to); the chunk's summary goes to
 * `out[at..at+4)`. `score` is the scorer function for rowwise sources.
 */
export function scanChunk(job: FusedJob, from: number, to: number, out: Float64Array, at: number, score?: ScoreFn): void {
  const src = job.source;
  let scores: Float64Array;
  if (src.kind === 'vector') scores = src.scores;
  else {
    const fresh = score!({ table: src.table, from, to, request: src.request, options: src.options, seed: src.seed });
    if (fresh.length !== to - from) throw new Error(`scorer ${src.module} returned ${fresh.length} scores for ${to - from} rows`);
    src.out.set(fresh as ArrayLike<number>, from);
    scores = src.out;
  }
  const v = job.verdicts;
  let fit = 0;
  let best = -1;
  let bestAt = -1;
  let count = 0;
  // Specialised loops for the usual numbers of dropping filters (0–2): no inner loop per row.
  // Verdicts are 1 (passes) or 2 (fails), so `a & b` is 1 only when both pass.
  if (v.length === 0) {
    for (let i = from; i < to; i++) {
      const s = scores[i];
      if (!(s >= 0)) continue;
      fit++;
      if (s > best) { best = s; bestAt = i; count = 1; } else if (s === best) count++;
    }
  } else if (v.length === 1) {
    const a = v[0];
    for (let i = from; i < to; i++) {
      if (a[i] !== 1) continue;
      const s = scores[i];
      if (!(s >= 0)) continue;
      fit++;
      if (s > best) { best = s; bestAt = i; count = 1; } else if (s === best) count++;
    }
  } else if (v.length === 2) {
    const a = v[0];
    const b = v[1];
    for (let i = from; i < to; i++) {
      if ((a[i] & b[i]) !== 1) continue;
      const s = scores[i];
      if (!(s >= 0)) continue;
      fit++;
      if (s > best) { best = s; bestAt = i; count = 1; } else if (s === best) count++;
    }
  } else {
    for (let i = from; i < to; i++) {
      if (!passes(v, i)) continue;
      const s = scores[i];
      if (!(s >= 0)) continue;
      fit++;
      if (s > best) { best = s; bestAt = i; count = 1; } else if (s === best) count++;
    }
  }
  out[at] = fit;
  out[at + 1] = best;
  out[at + 2] = bestAt;
  out[at + 3] = count;
}

/** Every verdict says 1 (passes) for row `i`. */
export function passes(v: readonly Uint8Array[], i: number): boolean {
  for (let k = 0; k < v.length; k++) if (v[k][i] !== 1) return false;
  return true;
}

/** The scores a finished job left: the vector, or the rowwise output. */
export function scoresOf(job: FusedJob): Float64Array {
  return job.source.kind === 'vector' ? job.source.scores : job.source.out;
}

/**
 * The row of the `n`-th (from 0) candidate scoring `best`, in row order: the chunk summaries
 * say which chunk holds it, so only that chunk is scanned again.
 */
export function nthBestRow(job: FusedJob, summaries: Float64Array, chunks: number, best: number, n: number): number {
  const scores = scoresOf(job);
  const v = job.verdicts;
  for (let c = 0; c < chunks; c++) {
    const at = c * CHUNK_FIELDS;
    if (summaries[at] === 0 || summaries[at + 1] !== best) continue;
    const here = summaries[at + 3];
    if (n >= here) {
      n -= here;
      continue;
    }
    const to = Math.min(job.rows, (c + 1) * CHUNK_ROWS);
    for (let i = summaries[at + 2]; i < to; i++) {
      if (scores[i] === best && passes(v, i) && n-- === 0) return i;
    }
  }
  throw new Error(`nthBestRow: fewer candidates score ${best} than asked for`);
}

export function chunksOf(rows: number): number {
  return Math.max(1, Math.ceil(rows / CHUNK_ROWS));
}

/** Runs fused jobs: on the calling thread alone, or with the rank pool's kernel thread. */
export interface FusedRunner {
  /** Chunk summaries of `job` (CHUNK_FIELDS per chunk), valid until the next run. */
  run(job: FusedJob, score?: ScoreFn): Float64Array;
  /** Optional: a job is coming soon (helper threads that sleep may start waking up now). */
  prepare?(): void;
}

let summaries: Float64Array = new Float64Array(0);

/** Chunk summaries of `job` (CHUNK_FIELDS per chunk), every chunk on the calling thread, valid until the next call. */
export function scanJob(job: FusedJob, score?: ScoreFn): Float64Array {
  const chunks = chunksOf(job.rows);
  if (summaries.length < chunks * CHUNK_FIELDS) summaries = new Float64Array(chunks * CHUNK_FIELDS);
  for (let c = 0; c < chunks; c++) scanChunk(job, c * CHUNK_ROWS, Math.min(job.rows, (c + 1) * CHUNK_ROWS), summaries, c * CHUNK_FIELDS, score);
  return summaries;
}

/** Every chunk on the calling thread. */
export const inlineRunner: FusedRunner = { run: scanJob };
