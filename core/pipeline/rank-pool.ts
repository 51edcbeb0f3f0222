/**
 * Scores big clusters on worker threads (piscina). The node table is written into one
 * SharedArrayBuffer "arena" that every worker received once at start; a score call then sends
 * each worker only a version number, a row range and the request, and workers write their
 * scores back into the arena. Calls are serialised (the arena holds one table at a time),
 * as the original serialised scheduling anyway.
 *
 * Used by `schedule()` only when the scorer is worker-safe and the cluster has at least
 * `threshold` nodes: below that, thread hops cost more than scoring (see README: measured).
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { buildNodeTable, COLUMNS, tableBytes, tableView } from './node-table.ts';
import { FLAG_DONE, FLAG_PENDING, SUMMARY_FIELDS, combineSummaries, scanScores, writeSummary, type ScanSummary } from './rank-summary.ts';

export type { ScanSummary } from './rank-summary.ts';
import type { RankTask } from './rank-worker.ts';
import { createKernelPool, type KernelPool } from './kernel-pool.ts';
import { inlineRunner, type FusedRunner } from './fused-scan.ts';
import type { NodeTable, NodeView, ScoreFn, ScorerRef, ScoreRequest } from '../types.ts';

async function loadScorer(module: string): Promise<ScoreFn> {
  const mod = (await import(module)) as { score?: ScoreFn };
  if (typeof mod.score !== 'function') throw new Error(`scorer module ${module} does not export a score function`);
  return mod.score;
}

/**
 * Nodes from which the pool is considered; from there on, each scoring goes where it has been
 * measured faster for that scorer and size (core/pipeline/pool-choice.ts). Measured with
 * core/pipeline/rank-pool-threshold.ts on the 2-core CI machine (other work running, load ~2),
 * pool = 1 worker + the caller, ratio = pool / inline time (lower: the pool is faster):
 *   random (a few ns per node), every node: 18 at 1k, 5.4 at 10k, 2.9 at 100k, 2.8 at 500k;
 *     every other node: 8.7 at 1k, 1.4 at 100k, 0.93 at 500k — handing a task over, waking a
 *     thread and copying the scores out cost more than the parallel half saves;
 *   a scorer with real work per node (≈ 500 ns, rank-pool-threshold.scorer.ts): 0.91 at 1k,
 *     0.66 at 5k, 0.62 at 50k, 0.75 at 100k, 0.53 at 500k.
 * So no size is right for every scorer: below 5,000 nodes even the heavy scorer gains little,
 * above it the measured choice decides. (Row-local scorers — spread, binpack — score a kept
 * snapshot once, so the pool only ever sees their first scoring of a snapshot.)
 */
export const DEFAULT_POOL_THRESHOLD = 5_000;

export interface RankPoolOptions {
  /** Consider the pool from this many nodes (default DEFAULT_POOL_THRESHOLD). */
  threshold?: number;
  /**
   * true (default): from the threshold on, each scoring goes where it has been measured faster
   * (core/pipeline/pool-choice.ts); false: the pool is always used from the threshold on.
   */
  adaptive?: boolean;
  /** Worker threads (default: available parallelism − 1, at least 1; the caller scores a chunk too). */
  threads?: number;
  /** Largest table kept in the shared arena, in bytes (default 256 MiB ≈ 4.8 M nodes). */
  maxArenaBytes?: number;
}

/** A node table the pool can keep in its arena across calls (core/pipeline/node-set.ts). */
export interface RowSource {
  /** Number of rows. */
  readonly count: number;
  /** The table of all rows. */
  readonly table: NodeTable;
  /** Identifies the table's contents when the same table object is patched in place (optional). */
  readonly version?: number;
  /** Rows of `table` written since it had version `since`, if known: only those are copied again. */
  rowsChangedSince?(since: number): readonly number[] | undefined;
}

/** Scores and their summary, found by the threads that scored each chunk. */
export interface RankedRows {
  scores: Float64Array;
  summary: ScanSummary;
}

export interface RankPool {
  readonly threshold: number;
  /** false: always used from the threshold on; otherwise only where measured faster (pool-choice.ts). */
  readonly adaptive?: boolean;
  /** Scores for `nodes` (row i = nodes[i]), identical to calling the scorer inline. */
  score(nodes: readonly NodeView[], scorer: ScorerRef, request: ScoreRequest, seed: number): Promise<Float64Array>;
  /**
   * Optional: scores for the rows `rows` (ascending) of `source.table`, identical to scoring a
   * table of those rows inline (row k = rows[k]). The table stays in the shared arena while the
   * same source comes back, so a call sends only the row numbers.
   */
  scoreRows?(source: RowSource, rows: Int32Array, scorer: ScorerRef, request: ScoreRequest, seed: number): Promise<Float64Array>;
  /** Optional: `scoreRows` with the scores' summary, each thread summarizing the chunk it scored. */
  rankRows?(source: RowSource, rows: Int32Array, scorer: ScorerRef, request: ScoreRequest, seed: number): Promise<RankedRows>;
  /** Optional: the runner of fused passes that shares their chunks with the pool's kernel threads (kernel-pool.ts). */
  kernel?(): FusedRunner;
  close(): Promise<void>;
}

/** Workers run `.ts` modules: make sure tsx is loaded in them (inherited when the parent has it). */
function workerExecArgv(): string[] {
  const argv = process.execArgv;
  return argv.some((a) => a.includes('tsx')) ? [...argv] : [...argv, '--import', 'tsx'];
}

/** ES2024 growable SharedArrayBuffer (Node 20 has it; our `lib` is ES2023). */
interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  grow(byteLength: number): void;
}
const GrowableSAB = SharedArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => GrowableSharedArrayBuffer;

export function createRankPool(options: RankPoolOptions = {}): RankPool {
  const threshold = options.threshold ?? DEFAULT_POOL_THRESHOLD;
  const threads = Math.max(1, options.threads ?? availableParallelism() - 1);
  const maxArenaBytes = options.maxArenaBytes ?? 256 * 1024 * 1024;
  const arena = new GrowableSAB(0, { maxByteLength: maxArenaBytes });
  const piscina = new Piscina({
    filename: new URL('./rank-worker.ts', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    execArgv: workerExecArgv(),
    workerData: { arena },
    // A call does not wait for its tasks' reply messages (it reads the workers' done flags in the
    // arena, see waitForFlags), so the next call's task may reach a worker whose last reply is still
    // on its way: with one task per worker piscina would hold it back until the reply is handled.
    concurrentTasksPerWorker: 2,
  });
  let version = 0;
  let queue: Promise<unknown> = Promise.resolve();
  /** Tasks whose reply has not arrived yet. */
  const unsettled = new Set<Promise<number>>();
  let closed = false;
  /** The table the arena holds (by identity), so a source that comes back is not written again. */
  let held: NodeTable | undefined;
  let heldVersion: number | undefined;
  /** Per-thread scratch for the caller's own chunk of gathered rows. */
  let local = new ArrayBuffer(0);
  /** Kernel threads for fused passes, started on first use. */
  let kernel: KernelPool | undefined;

  /**
   * Arena layout for a table of `count` rows of which `k` are scored, with `slots` chunks:
   *   [table: COLUMNS × count f64][results: count f64][summaries: slots × 4 f64]
   *   [done flags: slots int32][rows: count int32]
   */
  async function run(source: RowSource, rows: Int32Array | undefined, scorer: ScorerRef, request: ScoreRequest, seed: number): Promise<RankedRows> {
    const count = source.count;
    const k = rows ? rows.length : count;
    const slots = threads + 1;
    const resultOffset = tableBytes(count);
    const summaryOffset = resultOffset + count * Float64Array.BYTES_PER_ELEMENT;
    const flagsOffset = summaryOffset + slots * SUMMARY_FIELDS * Float64Array.BYTES_PER_ELEMENT;
    const rowsOffset = flagsOffset + slots * Int32Array.BYTES_PER_ELEMENT;
    const bytes = rowsOffset + count * Int32Array.BYTES_PER_ELEMENT;
    let buffer: SharedArrayBuffer | undefined;
    if (bytes <= maxArenaBytes) {
      if (arena.byteLength < bytes) {
        arena.grow(bytes);
        held = undefined; // offsets of a held table depend on its count only, but be plain about it
      }
      if (held !== source.table || heldVersion !== source.version) {
        // The same table patched in place since the arena got it: copy the patched rows only.
        const changed = held === source.table && heldVersion !== undefined ? source.rowsChangedSince?.(heldVersion) : undefined;
        if (changed) writeRows(arena, source.table, changed);
        else writeTable(arena, source.table);
        held = source.table;
        heldVersion = source.version;
        version++;
      }
    } else {
      buffer = new SharedArrayBuffer(bytes); // too big for the arena: this table travels with its tasks
      writeTable(buffer, source.table);
      version++;
    }
    const target = buffer ?? arena;
    if (rows) new Int32Array(target, rowsOffset, k).set(rows);
    const summaries = new Float64Array(target, summaryOffset, slots * SUMMARY_FIELDS);
    const flags = new Int32Array(target, flagsOffset, slots);
    flags.fill(FLAG_PENDING);
    // The calling thread scores the first chunk itself while the workers score the others.
    const chunk = Math.max(1, Math.ceil(k / slots));
    const tasks: Promise<number>[] = [];
    for (let from = chunk, slot = 1; from < k; from += chunk, slot++) {
      const task: RankTask = {
        version, count, tableOffset: 0, resultOffset, rowsOffset: rows ? rowsOffset : -1, rowCount: k,
        from, to: Math.min(k, from + chunk),
        module: scorer.module, options: scorer.options, request, seed, ...(buffer ? { buffer } : {}),
        summaryOffset, flagsOffset, slot,
      };
      const pending = piscina.run(task) as Promise<number>;
      // A call may return before this settles (it reads the done flag): close() waits for it. A
      // failure is reported below (flags, then Promise.all); this handler only keeps a task that
      // fails while nobody awaits it from counting as an unhandled rejection.
      unsettled.add(pending);
      void pending.catch(() => undefined).finally(() => unsettled.delete(pending));
      tasks.push(pending);
    }
    const results = new Float64Array(target, resultOffset, k);
    let ownMs = 0;
    try {
      const fn = scorer.score ?? (await loadScorer(scorer.module));
      const started = performance.now();
      const first = Math.min(chunk, k);
      let table = tableView(target, 0, count);
      if (rows) {
        const bytesNeeded = tableBytes(k);
        if (local.byteLength < bytesNeeded) local = new ArrayBuffer(bytesNeeded);
        table = gatherRows(table, rows, 0, first, tableView(local, 0, k));
      }
      const own = fn({ table, from: 0, to: first, request, options: scorer.options, seed }) as ArrayLike<number>;
      if (own.length !== first) throw new Error(`scorer ${scorer.module} returned ${own.length} scores for ${first} rows`);
      results.set(own, 0);
      writeSummary(summaries, 0, scanScores(own, first));
      ownMs = performance.now() - started;
    } finally {
      // never reuse the arena while a worker still writes into it
      if (!waitForFlags(flags, tasks.length + 1, Math.max(MIN_BLOCK_MS, 2 * ownMs))) await Promise.allSettled(tasks);
    }
    if (tasks.length > 0 && flags.subarray(1, tasks.length + 1).some((f) => f !== FLAG_DONE)) await Promise.all(tasks);
    // copy out before the arena is reused by the next call
    return { scores: results.slice(), summary: combineSummaries(summaries, tasks.length + 1) };
  }

  function enqueue<T>(work: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new Error('rank pool is closed'));
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  }

  return {
    threshold,
    adaptive: options.adaptive ?? true,
    score(nodes, scorer, request, seed) {
      // A one-off table: a new object every call, so it is always written to the arena.
      return enqueue(() => run({ count: nodes.length, table: buildNodeTable(nodes) }, undefined, scorer, request, seed)).then((r) => r.scores);
    },
    scoreRows(source, rows, scorer, request, seed) {
      return enqueue(() => run(source, rows.length === source.count ? undefined : rows, scorer, request, seed)).then((r) => r.scores);
    },
    rankRows(source, rows, scorer, request, seed) {
      return enqueue(() => run(source, rows.length === source.count ? undefined : rows, scorer, request, seed));
    },
    kernel() {
      kernel ??= createKernelPool(threads, workerExecArgv());
      return kernel;
    },
    async close() {
      if (closed) return;
      closed = true;
      await kernel?.close();
      await queue;
      await Promise.allSettled(unsettled);
      await piscina.destroy();
    },
  };
}

/**
 * Longest time (ms) the calling thread blocks for workers to finish their chunks, at least: it
 * would otherwise only wait for their reply messages, which reach it on a later turn of its event
 * loop — measured here at ~110 µs per call for piscina's reply against ~15 µs for an Atomics
 * wake-up. A worker that is not done by then (loading a scorer module, or starved of CPU) is
 * waited for the usual way, without blocking the event loop.
 */
const MIN_BLOCK_MS = 1;

/** Block until `flags[1..slots)` are all set (done or failed) or `budgetMs` passed; true when all are set. */
function waitForFlags(flags: Int32Array, slots: number, budgetMs: number): boolean {
  const until = performance.now() + budgetMs;
  for (let s = 1; s < slots; s++) {
    while (Atomics.load(flags, s) === FLAG_PENDING) {
      const left = until - performance.now();
      if (left <= 0) return false;
      Atomics.wait(flags, s, FLAG_PENDING, left);
    }
  }
  return true;
}

/** Copy a table (its own buffer) into `buffer` at offset 0, column by column. */
function writeTable(buffer: ArrayBufferLike, table: NodeTable): void {
  const into = tableView(buffer, 0, table.count);
  for (const c of COLUMNS) into[c].set(table[c]);
}

/** Copy rows `rows` of a table into the table `buffer` holds at offset 0 (same row count). */
function writeRows(buffer: ArrayBufferLike, table: NodeTable, rows: readonly number[]): void {
  const into = tableView(buffer, 0, table.count);
  for (const c of COLUMNS) {
    const src = table[c];
    const dst = into[c];
    for (const r of rows) dst[r] = src[r];
  }
}

/** Rows [from, to) of `out` = rows rows[from..to) of `table`; the rest of `out` is left as it is. */
export function gatherRows(table: NodeTable, rows: Int32Array, from: number, to: number, out: NodeTable): NodeTable {
  for (const c of COLUMNS) {
    const src = table[c];
    const dst = out[c];
    for (let k = from; k < to; k++) dst[k] = src[rows[k]];
  }
  return out;
}

/**
 * A pool that starts its worker threads only when a cluster first reaches the threshold, so a
 * manager of a few engines never pays for idle workers.
 */
export function lazyRankPool(options: RankPoolOptions = {}): RankPool {
  const threshold = options.threshold ?? DEFAULT_POOL_THRESHOLD;
  let pool: RankPool | undefined;
  let closed = false;
  return {
    threshold,
    adaptive: options.adaptive ?? true,
    score(nodes, scorer, request, seed) {
      if (closed) return Promise.reject(new Error('rank pool is closed'));
      pool ??= createRankPool({ ...options, threshold });
      return pool.score(nodes, scorer, request, seed);
    },
    scoreRows(source, rows, scorer, request, seed) {
      if (closed) return Promise.reject(new Error('rank pool is closed'));
      pool ??= createRankPool({ ...options, threshold });
      return pool.scoreRows!(source, rows, scorer, request, seed);
    },
    rankRows(source, rows, scorer, request, seed) {
      if (closed) return Promise.reject(new Error('rank pool is closed'));
      pool ??= createRankPool({ ...options, threshold });
      return pool.rankRows!(source, rows, scorer, request, seed);
    },
    kernel() {
      if (closed) return inlineRunner;
      pool ??= createRankPool({ ...options, threshold });
      return pool.kernel!();
    },
    async close() {
      closed = true;
      await pool?.close();
    },
  };
}
