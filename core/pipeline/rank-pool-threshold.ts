/**
 * Where does the rank pool start to pay? Run on the target machine:
 *   node --import tsx core/pipeline/rank-pool-threshold.ts [strategy=spread]
 * Prints, per cluster size, the median time of one inline scoring and one pooled scoring
 * (both include building the node table, as schedule() does) and their ratio (pool / inline,
 * lower is better). The DEFAULT_POOL_THRESHOLD in rank-pool.ts comes from this output.
 */
import { performance } from 'node:perf_hooks';
import { createCore, type SwarmPlugin } from '../index.ts';
import { builtins } from '../../plugins/index.ts';
import { createRankPool } from './rank-pool.ts';
import { scoreNodes } from './schedule.ts';
import { buildRequest } from './request.ts';
import type { NodeView } from '../types.ts';

const strategyName = process.argv[2] ?? 'spread';
const factory = await builtins[strategyName]();
const core = createCore({ plugins: [factory() as SwarmPlugin] });
const request = buildRequest({ HostConfig: { Memory: 1 << 30, CpuShares: 1 } }, '', { id: 'measure' });
const scorer = core.scorer(request);
const pool = createRankPool({ threshold: 0 });

function cluster(n: number): NodeView[] {
  const proto = { containers: [] as never[], images: [], labels: {} };
  return Array.from({ length: n }, (_, i) => ({
    ...proto, id: `n${i}`, name: `n${i}`, addr: '', ip: '', state: 'healthy' as const, healthIndicator: 100,
    totalCpus: 16, totalMemory: 64 * 2 ** 30, usedCpus: i % 16, usedMemory: (i % 64) * 2 ** 30,
  }));
}

async function median(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    await fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

// warm-up: workers need a few dozen tasks before their JIT settles
const warm = cluster(2000);
for (let i = 0; i < 100; i++) await scoreNodes(warm, scorer, request, pool);

console.log(`strategy ${strategyName}, ${pool.threshold === 0 ? 'pool forced' : ''}`);
console.log('nodes\tinline ms\tpool ms\tratio');
for (const n of [1_000, 10_000, 50_000, 100_000, 200_000, 500_000, 1_000_000]) {
  const nodes = cluster(n);
  const runs = n >= 500_000 ? 7 : 21;
  const inline = await median(() => scoreNodes(nodes, scorer, request), runs);
  const pooled = await median(() => scoreNodes(nodes, scorer, request, pool), runs);
  console.log(`${n}\t${inline.toFixed(3)}\t${pooled.toFixed(3)}\t${(pooled / inline).toFixed(2)}`);
}
await pool.close();
