/**
 * The shared-memory protocol between the calling thread and the rank pool's kernel threads
 * (kernel-pool.ts, kernel-worker.ts), kept apart so both sides import the same numbers and the
 * same claim loop. A job is split into chunks (fused-scan.ts); every thread claims chunks by
 * compare-and-swap on one counter tagged with the job's number, so a thread still holding an
 * older job can never take a chunk of a newer one, and the caller can always do every chunk itself.
 */
import { CHUNK_FIELDS, CHUNK_ROWS, scanChunk, type FusedJob } from './fused-scan.ts';
import type { ScoreFn } from '../types.ts';

/** Int32 slots of the control array. */
export const SEQ = 0; // number of the newest job (1..MAX_SEQ), set after its message is posted
export const NEXT = 1; // (job number << 16) | next unclaimed chunk
export const DONE = 2; // chunks of the current job finished (by anyone)
export const STOP = 3; // 1: kernel threads return
export const FAILED = 4; // number of a job in which a kernel thread's chunk threw
export const WAKE = 5; // bumped by the caller when a job is about to come: sleeping threads start spinning
export const CONTROL_SLOTS = 8;

export const MAX_SEQ = 0x7fff;
/** Chunk index bits in NEXT: jobs of more chunks run on the caller alone. */
export const MAX_CHUNKS = 0xffff;

/** What the caller posts to a kernel thread per job. */
export interface KernelMessage {
  seq: number;
  chunks: number;
  job: FusedJob;
}

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
