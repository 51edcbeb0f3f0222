/**
 * Whether one scoring goes to the rank pool or stays on the calling thread: measured, per scorer
 * and cluster size, on the machine the manager runs on — not a guess fixed in the code.
 *
 * Why measure: the pool's gain depends on the scorer's cost per node and on the machine. On the
 * 2-core CI machine, built-in scorers cost a few ns per node and the pool's fixed costs (handing
 * the task over, waking a thread, copying the scores out) outweigh the parallel half even at
 * 500,000 nodes (core/pipeline/rank-pool-threshold.ts: random over every node, pool / inline
 * 2.9x slower at 100,000 and 2.8x at 500,000), while a scorer that does real work per node
 * (~500 ns) gains from 50,000–100,000 nodes on. A fixed size cannot be right for both.
 *
 * How: from `pool.threshold` nodes on (below it the pool never pays, see rank-pool.ts), each
 * (scorer, size class) first tries both sides a few times, then takes the one with the lower
 * mean time per node, and tries the other again now and then, so a change (machine load, a
 * cluster that grows) is noticed. Both sides give the same scores, so the choice only ever
 * changes speed. A pool made with `adaptive: false` is always used (the benchmark compares it).
 */
import type { RankPool } from './rank-pool.ts';
import type { ScorerRef } from '../types.ts';

/** Tries of each side before choosing. */
export const PROBES = 3;
/** Every RECHECK-th scoring of a (scorer, size class) tries the side that is not chosen. */
export const RECHECK = 64;
/** Weight of the newest time in the running means. */
const ALPHA = 0.25;

/** One scoring's side, and where to report how long it took. */
export interface PoolTurn {
  readonly pool: boolean;
  /** The scoring took `ms` (wall time, including the wait for workers). */
  record(ms: number): void;
}

interface Side {
  /** Running mean of ms per node. */
  mean: number;
  count: number;
}

interface Stats {
  inline: Side;
  pool: Side;
  turns: number;
}

const statsOf = new WeakMap<RankPool, Map<string, Stats>>();

/**
 * The side for scoring `rows` rows with `scorer`: undefined when the pool is out of the question
 * (none, a scorer that is not worker-safe, fewer rows than its threshold) — score inline, nothing
 * to report.
 */
export function poolTurn(pool: RankPool | undefined, scorer: ScorerRef, rows: number): PoolTurn | undefined {
  if (!pool || !scorer.workerSafe || rows < pool.threshold) return undefined;
  if (pool.adaptive === false) return FORCED;
  let byKey = statsOf.get(pool);
  if (!byKey) statsOf.set(pool, (byKey = new Map()));
  const key = statsKey(scorer, rows);
  let stats = byKey.get(key);
  if (!stats) byKey.set(key, (stats = { inline: { mean: 0, count: 0 }, pool: { mean: 0, count: 0 }, turns: 0 }));
  const s = stats;
  s.turns++;
  let usePool: boolean;
  if (s.pool.count < PROBES || s.inline.count < PROBES) usePool = s.pool.count <= s.inline.count;
  else {
    const poolFaster = s.pool.mean < s.inline.mean;
    usePool = s.turns % RECHECK === 0 ? !poolFaster : poolFaster;
  }
  const side = usePool ? s.pool : s.inline;
  return {
    pool: usePool,
    record(ms: number) {
      const perNode = ms / Math.max(1, rows);
      side.mean = side.count === 0 ? perNode : side.mean + ALPHA * (perNode - side.mean);
      side.count++;
    },
  };
}

const FORCED: PoolTurn = { pool: true, record() {} };

/** Size classes of powers of two: per-node costs are compared among similar sizes. */
function statsKey(scorer: ScorerRef, rows: number): string {
  return `${scorer.module}\0${JSON.stringify(scorer.options)}\0${Math.round(Math.log2(Math.max(1, rows)))}`;
}

/**
 * Whether the next `poolTurn` for (scorer, rows) will most likely take the pool, without taking
 * a turn: true while both sides are still being tried or while the pool is the faster one (a
 * recheck turn may still go the other way). Lets a placement wake the pool's thread early only
 * when it is going to be used (a woken thread spins for a while: wasted on a placement kept inline).
 */
export function poolLikely(pool: RankPool | undefined, scorer: ScorerRef, rows: number): boolean {
  if (!pool || !scorer.workerSafe || rows < pool.threshold) return false;
  if (pool.adaptive === false) return true;
  const s = statsOf.get(pool)?.get(statsKey(scorer, rows));
  if (!s || s.pool.count < PROBES || s.inline.count < PROBES) return true;
  return s.pool.mean < s.inline.mean;
}
