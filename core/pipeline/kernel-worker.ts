/**
 * A rank pool kernel thread (piscina task that lives as long as the pool): waits for fused jobs
 * (kernel-protocol.ts), claims chunks beside the calling thread and writes their summaries into
 * the shared summary array. Between jobs it sleeps on the wake counter.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { FAILED, SEQ, STOP, WAKE, claimChunks, type KernelMessage } from './kernel-protocol.ts';
import { loadScoreFn } from './scorer-loader.ts';
import type { ScoreFn } from '../types.ts';

/**
 * How long a thread woken by the caller spins for the job before it sleeps again (ms). The caller
 * wakes it when a placement starts (schedule.ts), so it is awake by the time the filters are done;
 * after a job it sleeps at once: spinning between placements was measured no faster here, and it
 * takes a core from the main thread's garbage collector.
 */
const SPIN_AFTER_WAKE_MS = 1;

export interface ServeTask {
  ctl: Int32Array;
  out: Float64Array;
  port: MessagePort;
}

export default async function serve({ ctl, out, port }: ServeTask): Promise<number> {
  let seen = 0;
  let jobs = 0;
  for (;;) {
    let idleSince = -Infinity; // no spinning before the first sleep
    for (let spins = 0; Atomics.load(ctl, SEQ) === seen && Atomics.load(ctl, STOP) === 0; spins++) {
      if ((spins & 1023) !== 0 || performance.now() - idleSince <= SPIN_AFTER_WAKE_MS) continue;
      const wake = Atomics.load(ctl, WAKE);
      if (Atomics.load(ctl, SEQ) === seen && Atomics.load(ctl, STOP) === 0) Atomics.wait(ctl, WAKE, wake, 1000);
      idleSince = performance.now(); // woken: a job is coming (or a second passed)
    }
    if (Atomics.load(ctl, STOP) !== 0) return jobs;
    seen = Atomics.load(ctl, SEQ);
    let msg: KernelMessage | undefined;
    for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) msg = m.message as KernelMessage;
    if (!msg) continue;
    let score: ScoreFn | undefined;
    if (msg.job.source.kind === 'rowwise') {
      try {
        score = await loadScoreFn(msg.job.source.module);
      } catch {
        continue; // cannot score here: the caller scans every chunk itself
      }
    }
    claimChunks(ctl, msg.seq, msg.chunks, msg.job, out, score, () => Atomics.store(ctl, FAILED, msg.seq));
    jobs++;
  }
}
