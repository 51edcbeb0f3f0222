/**
 * The rank pool's kernel threads: fused passes (fused-scan.ts) split into chunks that the calling
 * thread and these threads claim from one shared counter (kernel-protocol.ts).
 *
 * Why not a piscina task per pass: a placement at 100,000 nodes is a fraction of a millisecond,
 * and a task's round trip through the threads' event loops (~110 µs measured here) costs more
 * than the half it saves. The threads are still piscina's (one long-lived task each): they wait on
 * shared memory instead, spinning briefly after a job, and the caller never waits for a thread to
 * wake up — it starts on the chunks at once, and a thread that arrives late takes fewer of them.
 * The result does not depend on who scanned which chunk.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { CHUNK_FIELDS, chunksOf, inlineRunner, type FusedJob, type FusedRunner } from './fused-scan.ts';
import { CONTROL_SLOTS, DONE, FAILED, MAX_CHUNKS, MAX_SEQ, NEXT, SEQ, STOP, WAKE, claimChunks, type KernelMessage } from './kernel-protocol.ts';
import type { ServeTask } from './kernel-worker.ts';

/** Longest wait for kernel threads to finish chunks they claimed (ms): past it they are given up on. */
const GIVE_UP_MS = 2_000;
/** The caller spins this long (ms) for chunks a kernel thread is scanning, then sleeps until notified. */
const SPIN_MS = 0.5;

export interface KernelPool extends FusedRunner {
  close(): Promise<void>;
}

function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/** Every array of the job is in shared memory (else a kernel thread would get a copy). */
function shareable(job: FusedJob): boolean {
  if (!job.verdicts.every(isShared)) return false;
  const src = job.source;
  if (src.kind === 'vector') return isShared(src.scores);
  return isShared(src.out) && isShared(src.table.totalCpus);
}

export function createKernelPool(threads: number, execArgv: string[]): KernelPool {
  const ctl = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT));
  const out = new Float64Array(new SharedArrayBuffer(MAX_CHUNKS * CHUNK_FIELDS * Float64Array.BYTES_PER_ELEMENT));
  const piscina = new Piscina({
    filename: new URL('./kernel-worker.ts', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    execArgv,
    idleTimeout: Infinity,
  });
  const ports: MessagePort[] = [];
  const serving: Promise<unknown>[] = [];
  for (let t = 0; t < threads; t++) {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1);
    const task: ServeTask = { ctl, out, port: port2 };
    // A thread that fails is simply not there any more: the caller does every chunk.
    serving.push(piscina.run(task, { transferList: [port2] }).catch(() => undefined));
  }
  let seq = 0;
  let gaveUp = false;
  let closed = false;
  const wake = () => {
    Atomics.add(ctl, WAKE, 1);
    Atomics.notify(ctl, WAKE);
  };

  return {
    prepare() {
      if (!closed && !gaveUp) wake();
    },
    run(job, score) {
      const chunks = chunksOf(job.rows);
      if (closed || gaveUp || chunks < 2 || chunks > MAX_CHUNKS || !shareable(job)) return inlineRunner.run(job, score);
      seq = (seq % MAX_SEQ) + 1;
      Atomics.store(ctl, DONE, 0);
      Atomics.store(ctl, NEXT, seq << 16);
      const msg: KernelMessage = { seq, chunks, job };
      for (const port of ports) port.postMessage(msg);
      Atomics.store(ctl, SEQ, seq);
      wake();
      // A chunk that throws here is not the end of the job: a kernel thread may still be scanning
      // a chunk it claimed, and must be done before `out` and the counters are used again.
      let failure: { err: unknown } | undefined;
      claimChunks(ctl, seq, chunks, job, out, score, (err) => { failure ??= { err }; });
      // Chunks a kernel thread claimed are being scanned now: wait for them (spinning: they
      // take microseconds), sleeping in 1 ms steps if the thread was descheduled.
      const started = performance.now();
      for (let spins = 1, done = Atomics.load(ctl, DONE); done < chunks; spins++, done = Atomics.load(ctl, DONE)) {
        if ((spins & 255) !== 0) continue;
        const waited = performance.now() - started;
        if (waited > GIVE_UP_MS) {
          gaveUp = true; // never reuse `out` while a lost thread may still write into it
          return inlineRunner.run(job, score);
        }
        if (waited > SPIN_MS) Atomics.wait(ctl, DONE, done, 10);
      }
      if (failure) throw failure.err;
      if (Atomics.load(ctl, FAILED) === seq) return inlineRunner.run(job, score); // failed only there: done here (a real error shows here too)
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      Atomics.store(ctl, STOP, 1);
      wake();
      await Promise.all(serving);
      for (const port of ports) port.close();
      await piscina.destroy();
    },
  };
}
