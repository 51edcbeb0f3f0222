/**
 * The rank pool's kernel threads: fused passes (fused-scan.ts) split into chunks that the calling
 * thread and these threads claim from one shared counter (kernel-protocol.ts).
 *
 * Why not a piscina task per pass: a placement at 100,000 nodes is a fraction of a millisecond,
 * and a task's round trip through the threads' event loops (~110 µs measured here) costs more
 * than the half it saves. The threads are still piscina's (one long-lived task each): they wait on
 * shared memory instead. The caller never waits for a thread to wake up: it starts on the chunks
 * at once, and a thread that arrives late takes fewer of them. The result does not depend on who
 * scanned which chunk.
 *
 * What a job costs the caller, measured on the 2-core machine (see kernel-worker.ts for the
 * thread's side): writing its description, ~1 µs; waking a sleeping thread, ~8 µs of syscall
 * here and ~25 µs until it runs, so the caller wakes a thread only when it sleeps, and early
 * (`prepare`, when a placement starts); a thread that just finished a job spins a little while
 * for the next one instead of sleeping.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { CHUNK_FIELDS, chunksOf, inlineRunner, type FusedJob, type FusedRunner } from './fused-scan.ts';
import {
  CONTROL_SLOTS, DONE, FAILED, JOB_CPUS, JOB_KIND, JOB_MEMORY, JOB_ROWS, JOB_SCORER, JOB_SCORES, JOB_SEED, JOB_SLOTS, JOB_TABLE,
  JOB_VERDICT0, JOB_VERDICTS, MAX_CHUNKS, MAX_SEQ, MAX_VERDICTS, NEXT, POSTED, SEQ, SLEEPING, STOP, WAKE, claimChunks,
  type KernelMessage,
} from './kernel-protocol.ts';
import type { ServeTask } from './kernel-worker.ts';
import type { NodeTable } from '../types.ts';

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

/** Every array of the job is in shared memory (else a kernel thread could not read it) and the job fits the description slots. */
function shareable(job: FusedJob): boolean {
  if (job.verdicts.length > MAX_VERDICTS || !job.verdicts.every(isShared)) return false;
  const src = job.source;
  if (src.kind === 'vector') return isShared(src.scores);
  return isShared(src.out) && isShared(src.table.totalCpus) && tableIsOneBlock(src.table);
}

/** The table's columns lie back to back in one buffer, as tableView lays them out (node-table.ts). */
function tableIsOneBlock(table: NodeTable): boolean {
  const first = table.totalCpus;
  const cols = [table.totalCpus, table.totalMemory, table.usedCpus, table.usedMemory, table.health, table.containers];
  return cols.every((c, i) => c.buffer === first.buffer && c.length === first.length && c.byteOffset === first.byteOffset + i * first.byteLength);
}

export function createKernelPool(threads: number, execArgv: string[]): KernelPool {
  const ctl = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT));
  const out = new Float64Array(new SharedArrayBuffer(MAX_CHUNKS * CHUNK_FIELDS * Float64Array.BYTES_PER_ELEMENT));
  const desc = new Float64Array(new SharedArrayBuffer(JOB_SLOTS * Float64Array.BYTES_PER_ELEMENT));
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
    const task: ServeTask = { ctl, out, desc, port: port2 };
    // A thread that fails is simply not there any more: the caller does every chunk.
    serving.push(piscina.run(task, { transferList: [port2] }).catch(() => undefined));
  }
  let seq = 0;
  let gaveUp = false;
  let closed = false;

  // Buffers and scorers are posted to the threads once; a buffer collected here is dropped there.
  const post = (msg: KernelMessage) => {
    for (const port of ports) port.postMessage(msg);
    Atomics.add(ctl, POSTED, 1); // after the message: a thread that sees the count finds the message queued
  };
  let nextId = 0;
  const bufferIds = new WeakMap<ArrayBufferLike, number>();
  const dropped = new FinalizationRegistry<number>((id) => {
    if (!closed) post({ t: 'drop', id });
  });
  const bufferId = (buffer: ArrayBufferLike): number => {
    let id = bufferIds.get(buffer);
    if (id === undefined) {
      id = ++nextId;
      bufferIds.set(buffer, id);
      dropped.register(buffer, id);
      post({ t: 'buffer', id, buffer: buffer as SharedArrayBuffer });
    }
    return id;
  };
  const scorerIds = new Map<string, number>();
  const scorerId = (module: string, options: Readonly<Record<string, unknown>>): number => {
    const key = `${module}\0${JSON.stringify(options)}`;
    let id = scorerIds.get(key);
    if (id === undefined) {
      id = ++nextId;
      scorerIds.set(key, id);
      post({ t: 'scorer', id, module, options });
    }
    return id;
  };
  const describeArray = (at: number, a: ArrayBufferView & { length: number }) => {
    desc[at] = bufferId(a.buffer);
    desc[at + 1] = a.byteOffset;
    desc[at + 2] = a.length;
  };
  const describe = (job: FusedJob) => {
    desc[JOB_ROWS] = job.rows;
    desc[JOB_VERDICTS] = job.verdicts.length;
    for (let k = 0; k < job.verdicts.length; k++) describeArray(JOB_VERDICT0 + 3 * k, job.verdicts[k]);
    const src = job.source;
    if (src.kind === 'vector') {
      desc[JOB_KIND] = 0;
      describeArray(JOB_SCORES, src.scores);
    } else {
      desc[JOB_KIND] = 1;
      describeArray(JOB_SCORES, src.out);
      desc[JOB_TABLE] = bufferId(src.table.totalCpus.buffer);
      desc[JOB_TABLE + 1] = src.table.totalCpus.byteOffset;
      desc[JOB_TABLE + 2] = src.table.totalCpus.length;
      desc[JOB_SCORER] = scorerId(src.module, src.options);
      desc[JOB_CPUS] = src.request.cpus;
      desc[JOB_MEMORY] = src.request.memory;
      desc[JOB_SEED] = src.seed;
    }
  };
  const wake = () => {
    Atomics.add(ctl, WAKE, 1);
    // Only a sleeping thread needs the syscall; one that spins sees the new job by itself.
    if (Atomics.load(ctl, SLEEPING) > 0) Atomics.notify(ctl, WAKE);
  };

  return {
    prepare() {
      if (!closed && !gaveUp) wake();
    },
    run(job, score) {
      const chunks = chunksOf(job.rows);
      if (closed || gaveUp || chunks < 2 || chunks > MAX_CHUNKS || !shareable(job)) return inlineRunner.run(job, score);
      seq = (seq % MAX_SEQ) + 1;
      // Closed first: a thread still reading the last job's description can no longer claim a
      // chunk with what it read (kernel-worker.ts).
      Atomics.store(ctl, NEXT, 0);
      describe(job);
      Atomics.store(ctl, DONE, 0);
      Atomics.store(ctl, NEXT, seq << 16);
      Atomics.store(ctl, SEQ, seq); // publishes the description (sequentially consistent store)
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
        if (waited > SPIN_MS) Atomics.wait(ctl, DONE, done, 1);
      }
      if (failure) throw failure.err;
      if (Atomics.load(ctl, FAILED) === seq) return inlineRunner.run(job, score); // failed only there: done here (a real error shows here too)
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      Atomics.store(ctl, STOP, 1);
      Atomics.add(ctl, WAKE, 1);
      Atomics.notify(ctl, WAKE);
      await Promise.all(serving);
      for (const port of ports) port.close();
      await piscina.destroy();
    },
  };
}
