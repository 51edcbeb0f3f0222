/**
 * The shared-memory protocol between the calling thread and the rank pool's kernel threads
 * (kernel-pool.ts, kernel-worker.ts), kept apart so both sides import the same numbers, the same
 * job layout and the same claim loop.
 *
 * A job is split into chunks (fused-scan.ts); every thread claims chunks by compare-and-swap on
 * one counter tagged with the job's number, so a thread still holding an older job can never
 * take a chunk of a newer one, and the caller can always do every chunk itself.
 *
 * Nothing is posted per job: a job is a few numbers in shared memory (JOB_* slots) naming arrays
 * by the id of their SharedArrayBuffer, which was posted to the threads once, when first seen
 * (posting a job's typed arrays cost ~10 µs of structured cloning per placement, measured).
 */
import { CHUNK_FIELDS, CHUNK_ROWS, scanChunk, type FusedJob } from './fused-scan.ts';
import type { ScoreFn } from '../types.ts';

/** Int32 slots of the control array. */
export const SEQ = 0; // number of the newest job (1..MAX_SEQ), set after its description is written
export const NEXT = 1; // (job number << 16) | next unclaimed chunk
export const DONE = 2; // chunks of the current job finished (by anyone)
export const STOP = 3; // 1: kernel threads return
export const FAILED = 4; // number of a job in which a kernel thread's chunk threw
export const WAKE = 5; // bumped by the caller to wake sleeping threads
export const POSTED = 6; // messages posted to every thread so far (buffers, scorers, drops)
export const SLEEPING = 7; // kernel threads asleep (or about to be) on WAKE: only then is a wake worth a syscall
export const CONTROL_SLOTS = 8;

export const MAX_SEQ = 0x7fff;
/** Chunk index bits in NEXT: jobs of more chunks run on the caller alone. */
export const MAX_CHUNKS = 0xffff;
/** Verdict arrays a job can name; a job with more runs on the caller alone. */
export const MAX_VERDICTS = 8;

/** Float64 slots of the job description. An array is (buffer id, byteOffset, length). */
export const JOB_ROWS = 0;
export const JOB_KIND = 1; // 0 vector, 1 rowwise
export const JOB_VERDICTS = 2; // how many
export const JOB_SCORES = 3; // vector: the scores array; rowwise: the output array
export const JOB_TABLE = 6; // rowwise: (buffer id, byteOffset of the first column, rows)
export const JOB_SCORER = 9; // rowwise: scorer id
export const JOB_CPUS = 10;
export const JOB_MEMORY = 11;
export const JOB_SEED = 12;
export const JOB_VERDICT0 = 13; // then 3 slots per verdict array
export const JOB_SLOTS = JOB_VERDICT0 + 3 * MAX_VERDICTS;

/** What the caller posts to a kernel thread, once per buffer or scorer (never per job). */
export type KernelMessage =
  | { t: 'buffer'; id: number; buffer: SharedArrayBuffer }
  | { t: 'drop'; id: number }
  | { t: 'scorer'; id: number; module: string; options: Readonly<Record<string, unknown>> };

/** Claim and scan chunks of job `seq` until none is left; returns how many this thread did. */
export function claimChunks(ctl: Int32Array, seq: number, chunks: number, job: FusedJob, out: Float64Array, score: ScoreFn | undefined, onError?: (err: unknown) => void): number {
  let did = 0;
  for (;;) {
    const x = Atomics.load(ctl, NEXT);
    if (x >>> 16 !== seq) return did;
    const c = x & 0xffff;
    if (c >= chunks) return did;
    if (Atomics.compareExchange(ctl, NEXT, x, x + 1) !== x) continue;
    try {
      scanChunk(job, c * CHUNK_ROWS, Math.min(job.rows, (c + 1) * CHUNK_ROWS), out, c * CHUNK_FIELDS, score);
    } catch (err) {
      if (!onError) throw err;
      onError(err);
    } finally {
      Atomics.add(ctl, DONE, 1);
      Atomics.notify(ctl, DONE); // a caller that stopped spinning sleeps on DONE
    }
    did++;
  }
}
