/**
 * A rank pool kernel thread (piscina task that lives as long as the pool): waits for fused jobs
 * (kernel-protocol.ts), claims chunks beside the calling thread and writes their summaries into
 * the shared summary array. Buffers and scorers arrive as messages, once; a job is read from the
 * shared description.
 *
 * Between jobs it spins for SPIN_MS, then sleeps on the wake counter. Placements back to back
 * come a fraction of a millisecond apart, so the next job finds it awake: the caller pays no
 * syscall to wake it and it starts on the chunks within a microsecond (a woken thread takes
 * ~25 µs here). A thread idle for longer sleeps and costs nothing.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { tableView } from './node-table.ts';
import {
  FAILED, JOB_CPUS, JOB_KIND, JOB_MEMORY, JOB_ROWS, JOB_SCORER, JOB_SCORES, JOB_SEED, JOB_TABLE, JOB_VERDICT0, JOB_VERDICTS,
  POSTED, SEQ, SLEEPING, STOP, WAKE, claimChunks, type KernelMessage,
} from './kernel-protocol.ts';
import { loadScoreFn } from './scorer-loader.ts';
import { chunksOf, type FusedJob } from './fused-scan.ts';
import type { ScoreFn } from '../types.ts';

/** How long a thread spins for the next job after a job or a wake before it sleeps (ms). */
const SPIN_MS = 1;

/**
 * Give this thread the lowest scheduling priority (Linux: nice 19 for this thread alone, found
 * by its id in /proc/thread-self). It spins between placements, and on 2 cores V8's own
 * background threads (GC, compiler) and the API's I/O must take a core from someone: this way
 * they take it from this thread, whose chunks the caller then scans itself, and not from the
 * caller. Measured at 100,000 nodes (spread, pool only, 5,000 decisions): p99 2.3 ms at nice 0,
 * 0.5 ms at nice 19. Elsewhere, or without the right, the thread keeps its priority.
 */
function lowerPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    // not Linux, or not allowed: run at the inherited priority
  }
}

export interface ServeTask {
  ctl: Int32Array;
  out: Float64Array;
  desc: Float64Array;
  port: MessagePort;
}

export default async function serve({ ctl, out, desc, port }: ServeTask): Promise<number> {
  lowerPriority();
  const buffers = new Map<number, SharedArrayBuffer>();
  const scorers = new Map<number, { module: string; options: Readonly<Record<string, unknown>>; fn?: ScoreFn; failed?: boolean }>();
  let received = 0;
  const drain = () => {
    // The caller counts a message after posting it, so it is queued by the time the count shows.
    while (received < Atomics.load(ctl, POSTED)) {
      const m = receiveMessageOnPort(port);
      if (!m) break;
      received++;
      const msg = m.message as KernelMessage;
      if (msg.t === 'buffer') buffers.set(msg.id, msg.buffer);
      else if (msg.t === 'drop') buffers.delete(msg.id);
      else scorers.set(msg.id, { module: msg.module, options: msg.options });
    }
  };
  const array = <T>(at: number, make: (b: SharedArrayBuffer, offset: number, length: number) => T): T => {
    const b = buffers.get(desc[at]);
    if (!b) throw new Error(`kernel thread: unknown buffer ${desc[at]}`);
    return make(b, desc[at + 1], desc[at + 2]);
  };
  let seen = 0;
  let jobs = 0;
  for (;;) {
    const idleSince = performance.now();
    for (let spins = 0; Atomics.load(ctl, SEQ) === seen && Atomics.load(ctl, STOP) === 0; spins++) {
      if ((spins & 1023) !== 0 || performance.now() - idleSince <= SPIN_MS) continue;
      const wake = Atomics.load(ctl, WAKE);
      Atomics.add(ctl, SLEEPING, 1);
      // Seen after SLEEPING is raised: a job or stop published before it is not slept through.
      if (Atomics.load(ctl, SEQ) === seen && Atomics.load(ctl, STOP) === 0) Atomics.wait(ctl, WAKE, wake, 1000);
      Atomics.sub(ctl, SLEEPING, 1);
      break; // woken (a job is coming) or a second passed: spin again from now
    }
    if (Atomics.load(ctl, STOP) !== 0) return jobs;
    if (Atomics.load(ctl, SEQ) === seen) continue;
    seen = Atomics.load(ctl, SEQ);
    drain();
    let job: FusedJob;
    let score: ScoreFn | undefined;
    try {
      const rows = desc[JOB_ROWS];
      const verdicts: Uint8Array[] = [];
      for (let k = 0; k < desc[JOB_VERDICTS]; k++) verdicts.push(array(JOB_VERDICT0 + 3 * k, (b, o, n) => new Uint8Array(b, o, n)));
      if (desc[JOB_KIND] === 0) {
        job = { rows, verdicts, source: { kind: 'vector', scores: array(JOB_SCORES, (b, o, n) => new Float64Array(b, o, n)) } };
      } else {
        const scorer = scorers.get(desc[JOB_SCORER]);
        if (!scorer || scorer.failed) continue; // cannot score here: the caller scans every chunk itself
        if (!scorer.fn) {
          try {
            scorer.fn = await loadScoreFn(scorer.module);
          } catch {
            scorer.failed = true;
            continue;
          }
          if (Atomics.load(ctl, SEQ) !== seen) continue; // the job went on without this thread
        }
        score = scorer.fn;
        job = {
          rows,
          verdicts,
          source: {
            kind: 'rowwise',
            table: array(JOB_TABLE, (b, o, n) => tableView(b, o, n)),
            out: array(JOB_SCORES, (b, o, n) => new Float64Array(b, o, n)),
            module: scorer.module,
            options: scorer.options,
            request: { cpus: desc[JOB_CPUS], memory: desc[JOB_MEMORY] },
            seed: desc[JOB_SEED],
          },
        };
      }
      // The description may be half the next job's if this one ended without us. Then no chunk
      // is claimed: the caller closes the chunk counter (NEXT = 0) before it writes a description,
      // so a claim (compare-and-swap on NEXT) that succeeds proves the description read before it
      // was whole, and this job's.
      if (Atomics.load(ctl, SEQ) !== seen) continue;
    } catch {
      continue; // a description this thread cannot read: the caller does the chunks
    }
    claimChunks(ctl, seen, chunksOf(job.rows), job, out, score, () => Atomics.store(ctl, FAILED, seen));
    jobs++;
  }
}
