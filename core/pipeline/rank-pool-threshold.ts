/**
 * Where does the rank pool start to pay? Run on the target machine, ideally while it is idle:
 *   node --import tsx core/pipeline/rank-pool-threshold.ts [spread|binpack|random|heavy] [all|half]
 * For each cluster size it alternates one inline and one pooled scoring, many times, and prints
 * the medians and the median of the per-pair ratios (pool / inline, lower is better): pairing
 * keeps other load on the machine from favouring one side. Both sides score as schedule() does
 * (scoreRows on a kept NodeSet: the inline side reads the set's table, the pool keeps it in its
 * arena), for every node (`all`) or for every other node (`half`, as after a filter).
 * DEFAULT_POOL_THRESHOLD in rank-pool.ts comes from this output.
 */
import { performance } from 'node:perf_hooks';
import { createCore, type SwarmPlugin } from '../index.ts';
import { builtins } from '../../plugins/index.ts';
import { createRankPool } from './rank-pool.ts';
import { scoreRows } from './schedule.ts';
import { nodeSetOf } from './node-set.ts';
import { buildRequest } from './request.ts';
import type { NodeView, ScorerRef } from '../types.ts';

const which = process.argv[2] ?? 'spread';
const half = process.argv[3] === 'half';
const request = buildRequest({ HostConfig: { Memory: 1 << 30, CpuShares: 1 } }, '', { id: 'measure' });
let scorer: ScorerRef;
if (which === 'heavy') {
  scorer = { name: 'heavy', module: new URL('./rank-pool-threshold.scorer.ts', import.meta.url).href, options: { rounds: 50 }, workerSafe: true };
} else {
  const core = createCore({ plugins: [(await builtins[which]())() as SwarmPlugin] });
  scorer = core.scorer(request);
}
const pool = createRankPool({ threshold: 0, adaptive: false }); // the pool itself, every time

function cluster(n: number): NodeView[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `n${i}`, name: `n${i}`, addr: '', ip: '', labels: {}, state: 'healthy' as const, healthIndicator: 100,
    totalCpus: 16, totalMemory: 64 * 2 ** 30, usedCpus: i % 16, usedMemory: (i % 64) * 2 ** 30, containers: [], images: [],
  }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(fn: () => Promise<unknown>): Promise<number> {
  const s = performance.now();
  await fn();
  return performance.now() - s;
}

// warm-up: workers need a few dozen tasks before their JIT settles
const warm = nodeSetOf(cluster(5000));
for (let i = 0; i < 100; i++) {
  await scoreRows(warm, warm.all, scorer, request, pool);
  await scoreRows(warm, warm.all, scorer, request);
}

console.log(`scorer ${which}, ${half ? 'every other node' : 'every node'}; ratio = pool / inline (median of paired runs)`);
console.log('nodes\tinline ms\tpool ms\tratio');
for (const n of [1_000, 5_000, 10_000, 25_000, 50_000, 100_000, 200_000, 500_000]) {
  const set = nodeSetOf(cluster(n));
  const rows = half ? set.all.filter((r) => r % 2 === 0) : set.all;
  const runs = n >= 200_000 ? 9 : n >= 50_000 ? 21 : 51;
  const inline: number[] = [];
  const pooled: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = await time(() => scoreRows(set, rows, scorer, request));
    const b = await time(() => scoreRows(set, rows, scorer, request, pool));
    inline.push(a);
    pooled.push(b);
    ratios.push(b / a);
  }
  console.log(`${n}\t${median(inline).toFixed(3)}\t${median(pooled).toFixed(3)}\t${median(ratios).toFixed(2)}`);
}
await pool.close();
