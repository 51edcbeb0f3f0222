import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore, type SwarmPlugin } from '../index.ts';
import { GiB, node, request } from '../../test/kit/index.ts';
import spread from '../../plugins/strategy-spread/index.ts';
import binpack from '../../plugins/strategy-binpack/index.ts';
import random from '../../plugins/strategy-random/index.ts';
import health from '../../plugins/filter-health/index.ts';
// a third-party scorer shaped like a published package (plain JS module, no in-process `score`)
import fixture from '../../test/fixtures/swarm-plugin-strategy-fixture/index.js';
import { createRankPool, type RankPool } from './rank-pool.ts';
import { schedule, scoreNodes, scoreRows, seedOf, summarize } from './schedule.ts';
import { nodeSetOf } from './node-set.ts';
import { PROBES } from './pool-choice.ts';
import type { NodeView } from '../types.ts';

function cluster(count: number, seed: number): NodeView[] {
  let s = seed;
  const rnd = (n: number) => { s = (s * 1103515245 + 12345) % 2 ** 31; return s % n; };
  const proto = node('proto').containers(1).build().containers[0];
  return Array.from({ length: count }, (_, i) => {
    const n = node(`n${i}`).cpus(1 + rnd(16)).memory((1 + rnd(64)) * GiB).used(rnd(8), rnd(32) * GiB).health([0, 50, 100][rnd(3)]).build();
    return { ...n, containers: Array.from({ length: rnd(20) }, () => proto) };
  });
}

const strategies: [string, () => SwarmPlugin][] = [
  ['spread', () => spread()],
  ['binpack', () => binpack()],
  ['random', () => random()],
  ['third-party fixture', () => fixture({ prefer: 'full' }) as SwarmPlugin],
];

let pool: RankPool;
// adaptive: false, so that every call from the threshold on really goes through the pool
before(() => { pool = createRankPool({ threshold: 0, threads: 2, adaptive: false }); });
after(() => pool.close());

test('pool scores equal inline scores, for every strategy, across table versions and sizes', async () => {
  for (const [name, make] of strategies) {
    const core = createCore({ plugins: [make()] });
    for (const [count, seed] of [[1, 1], [7, 2], [3001, 3], [20_000, 4], [500, 5]]) {
      const nodes = cluster(count, seed);
      const req = request().id(`req-${name}-${count}`).cpus(seed % 3).memory((seed % 4) * GiB).build();
      const scorer = core.scorer(req);
      const inline = await scoreNodes(nodes, scorer, req);
      const pooled = await scoreNodes(nodes, scorer, req, pool);
      assert.ok(pooled instanceof Float64Array, 'pool path taken');
      assert.deepEqual([...pooled], Array.from(inline), `${name}, ${count} nodes`);
    }
  }
});

test('schedule() gives the same ranking with and without the pool', async () => {
  for (const [name, make] of strategies) {
    const core = createCore({ plugins: [health(), make()] });
    const nodes = cluster(4000, 9);
    const req = request().id(`same-${name}`).memory(2 * GiB).cpus(1).build();
    const a = await schedule(core, nodes, req);
    // a copy of the snapshot: nothing cached from the inline run, so the pool really scores
    // (health drops some nodes: the workers gather a subset of the arena's rows)
    const b = await schedule(core, nodes.map((n) => ({ ...n })), req, { pool });
    assert.deepEqual(b.ranked.map((r) => [r.node.name, r.score]), a.ranked.map((r) => [r.node.name, r.score]), name);
    assert.deepEqual(b.rejected, a.rejected, name);
  }
});

test('concurrent calls are serialised and each gets its own table', async () => {
  const core = createCore({ plugins: [spread()] });
  const jobs = [100, 2000, 50, 8000, 300].map((count, i) => {
    const nodes = cluster(count, 100 + i);
    const req = request().id(`c${i}`).memory(GiB).build();
    return { nodes, req };
  });
  const pooled = await Promise.all(jobs.map((j) => scoreNodes(j.nodes, core.scorer(j.req), j.req, pool)));
  for (let i = 0; i < jobs.length; i++) {
    const inline = await scoreNodes(jobs[i].nodes, core.scorer(jobs[i].req), jobs[i].req);
    assert.deepEqual(Array.from(pooled[i]), Array.from(inline), `job ${i}`);
  }
});

test('a table larger than the arena travels with its tasks', async () => {
  const small = createRankPool({ threshold: 0, threads: 2, maxArenaBytes: 1024, adaptive: false });
  try {
    const core = createCore({ plugins: [binpack()] });
    const nodes = cluster(1000, 77);
    const req = request().memory(GiB).build();
    assert.deepEqual(Array.from(await scoreNodes(nodes, core.scorer(req), req, small)), Array.from(await scoreNodes(nodes, core.scorer(req), req)));
  } finally {
    await small.close();
  }
});

test('below the threshold, or for scorers that are not worker-safe, scoring stays inline', async () => {
  const high = createRankPool({ threshold: 1_000_000, threads: 1 });
  try {
    const core = createCore({ plugins: [spread()] });
    const nodes = cluster(10, 1);
    const req = request().build();
    const scorer = core.scorer(req);
    let calls = 0;
    const counting = { ...scorer, score: (t: Parameters<NonNullable<typeof scorer.score>>[0]) => { calls++; return scorer.score!(t); } };
    await scoreNodes(nodes, counting, req, high);
    await scoreNodes(nodes, { ...counting, workerSafe: false }, req, pool);
    assert.equal(calls, 2);
  } finally {
    await high.close();
  }
});

test('a scorer module that fails is reported', async () => {
  const req = request().build();
  await assert.rejects(scoreNodes(cluster(3, 1), { name: 'x', module: new URL('./node-table.ts', import.meta.url).href, options: {}, workerSafe: true }, req, pool),
    /does not export a score function/);
});

test('each thread summarizes the chunk it scored: the summary is that of one scan of the scores', async () => {
  const same = (count: number) => Array.from({ length: count }, (_, i) => node(`s${i}`).cpus(4).memory(8 * GiB).build());
  for (const [name, make] of strategies) {
    const core = createCore({ plugins: [make()] });
    for (const [nodes, memory] of [
      [cluster(1, 1), GiB], [cluster(2, 2), GiB], [cluster(5, 3), 0], [cluster(3001, 4), 2 * GiB], [cluster(20_000, 5), GiB],
      [same(999), GiB], // every node scores the same: the best is shared across chunks
      [cluster(500, 6), 1024 * GiB], // nothing fits (spread, binpack): no best
    ] as const) {
      const set = nodeSetOf(nodes);
      for (const rows of [set.all, set.all.filter((r) => r % 3 !== 1)]) {
        if (rows.length === 0) continue;
        const req = request().id(`sum-${name}-${nodes.length}-${rows.length}`).memory(memory).build();
        const scorer = core.scorer(req);
        const { scores, summary } = await pool.rankRows!(set, rows, scorer, { cpus: req.cpus, memory: req.memory }, seedOf(req.id));
        const scan = summarize(scores);
        const label = `${name}, ${nodes.length} nodes, ${rows.length} rows`;
        assert.deepEqual(summary, { fitCount: scan.fitCount, best: scan.best, bestAt: scan.bestAt, bestCount: scan.bestCount }, label);
        assert.deepEqual(Array.from(scores), Array.from(await scoreRows(set, rows, scorer, req)), label);
      }
    }
  }
});

test('a scorer that fails only in a worker is reported, and the pool goes on working', async () => {
  const req = request().build();
  const failing = { name: 'fails-in-worker', module: new URL('./rank-pool.test-scorer.ts', import.meta.url).href, options: {}, workerSafe: true };
  await assert.rejects(scoreNodes(cluster(300, 1), failing, req, pool), /worker-only failure/);
  const core = createCore({ plugins: [spread()] });
  const nodes = cluster(300, 2);
  assert.deepEqual(Array.from(await scoreNodes(nodes, core.scorer(req), req, pool)), Array.from(await scoreNodes(nodes, core.scorer(req), req)));
});

test('close() right after calls waits for the replies of their tasks', async () => {
  // Calls return once the workers' done flags are set, before piscina has their reply messages:
  // closing then must not leave a reply arriving at a destroyed pool (piscina throws on it).
  const p = createRankPool({ threshold: 0, threads: 2, adaptive: false });
  const core = createCore({ plugins: [random()] });
  const set = nodeSetOf(cluster(5000, 3));
  const req = request().build();
  for (let i = 0; i < 20; i++) await p.rankRows!(set, set.all, core.scorer(req), { cpus: 0, memory: 0 }, i);
  await p.close();
  await new Promise((resolve) => setTimeout(resolve, 200)); // a stray reply would throw here
});

test('an adaptive pool (the default) tries both sides first: scoring goes where it is measured faster', async () => {
  const adaptive = createRankPool({ threshold: 0, threads: 1 });
  try {
    const core = createCore({ plugins: [random()] });
    const nodes = cluster(2000, 8);
    const req = request().build();
    const scorer = core.scorer(req);
    let inline = 0;
    let chunks = 0;
    // inline scoring calls the in-process function for every row; the pool calls it for the
    // calling thread's chunk only
    const counting = { ...scorer, score: (t: Parameters<NonNullable<typeof scorer.score>>[0]) => { if (t.to - t.from === nodes.length) inline++; else chunks++; return scorer.score!(t); } };
    const expected = Array.from(await scoreNodes(nodes, scorer, req));
    for (let i = 0; i < 2 * PROBES; i++) assert.deepEqual(Array.from(await scoreNodes(nodes, counting, req, adaptive)), expected);
    assert.equal(inline, PROBES);
    assert.equal(chunks, PROBES);
  } finally {
    await adaptive.close();
  }
});
