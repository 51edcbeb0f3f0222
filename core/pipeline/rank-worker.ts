/**
 * Piscina worker of the rank pool. It receives the shared arena ONCE, at start (workerData);
 * each task then carries only the table version and location, a row range, the request and
 * the scorer module. Scores are written straight into the arena's result column, so neither
 * the table nor the scores are copied between threads.
 */
import { workerData } from 'node:worker_threads';
import { COLUMNS, tableBytes, tableView } from './node-table.ts';
import { loadScoreFn } from './scorer-loader.ts';
import { FLAG_DONE, FLAG_FAILED, SUMMARY_FIELDS, scanScores, writeSummary } from './rank-summary.ts';
import type { NodeTable, ScoreFn, ScoreRequest } from '../types.ts';

export interface RankTask {
  /** Bumped by the pool every time it writes a new table into the arena. */
  version: number;
  count: number;
  /** Where the table starts in the arena (bytes). */
  tableOffset: number;
  /** Where the result column (rowCount × float64) starts in the arena (bytes). */
  resultOffset: number;
  /**
   * Where the scored rows (rowCount × int32, ascending rows of the table) start in the arena
   * (bytes); −1 when every row of the table is scored (row k = table row k).
   */
  rowsOffset: number;
  /** How many rows are scored (the scorer's table has this many rows). */
  rowCount: number;
  from: number;
  to: number;
  module: string;
  options: Readonly<Record<string, unknown>>;
  request: ScoreRequest;
  seed: number;
  /** Only for a table too large for the arena: a standalone shared buffer (table + results). */
  buffer?: SharedArrayBuffer;
  /**
   * Where this task's chunk summary goes (bytes; SUMMARY_FIELDS float64 per slot) and its done
   * flag (bytes; one int32 per slot): the caller reads both without waiting for the task's reply
   * message (see rank-pool.ts).
   */
  summaryOffset: number;
  flagsOffset: number;
  /** This task's slot among the call's chunks. */
  slot: number;
}

const arena: SharedArrayBuffer = (workerData as { arena: SharedArrayBuffer }).arena;
let cached: { version: number; buffer: SharedArrayBuffer; table: NodeTable } | undefined;
/** This thread's gathered rows (only the task's chunk is filled). */
let local = new ArrayBuffer(0);

export default async function rank(task: RankTask): Promise<number> {
  const buffer = task.buffer ?? arena;
  const flags = new Int32Array(buffer, task.flagsOffset, task.slot + 1);
  try {
    const n = await score(task, buffer);
    Atomics.store(flags, task.slot, FLAG_DONE);
    return n;
  } catch (err) {
    Atomics.store(flags, task.slot, FLAG_FAILED);
    throw err;
  } finally {
    Atomics.notify(flags, task.slot);
  }
}

async function score(task: RankTask, buffer: SharedArrayBuffer): Promise<number> {
  if (!cached || cached.version !== task.version || cached.buffer !== buffer) {
    cached = { version: task.version, buffer, table: tableView(buffer, task.tableOffset, task.count) };
  }
  const fn = await loadScoreFn(task.module); // before gathering: nothing may await between gather and score
  const k = task.rowCount;
  let table = cached.table;
  if (task.rowsOffset >= 0) {
    // A subset: gather this chunk's rows into a table of k rows (row i = table row rows[i]).
    if (local.byteLength < tableBytes(k)) local = new ArrayBuffer(tableBytes(k));
    const rows = new Int32Array(buffer, task.rowsOffset, k);
    const out = tableView(local, 0, k);
    for (const c of COLUMNS) {
      const src = table[c];
      const dst = out[c];
      for (let i = task.from; i < task.to; i++) dst[i] = src[rows[i]];
    }
    table = out;
  }
  const out = fn({ table, from: task.from, to: task.to, request: task.request, options: task.options, seed: task.seed });
  if (out.length !== task.to - task.from) throw new Error(`scorer ${task.module} returned ${out.length} scores for ${task.to - task.from} rows`);
  const n = task.to - task.from;
  new Float64Array(buffer, task.resultOffset, k).set(out as ArrayLike<number>, task.from);
  writeSummary(new Float64Array(buffer, task.summaryOffset, (task.slot + 1) * SUMMARY_FIELDS), task.slot, scanScores(out, n, task.from));
  return n;
}
