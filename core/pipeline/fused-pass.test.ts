/**
 * The fused pass (fused-scan.ts, schedule.ts `fusedPass`) against the general path, and the rank
 * pool's kernel threads against the calling thread alone: on a cluster of more than two chunks
 * that changes with every placement, every decision must give the same placement, the same full
 * order, the same rejections and the same errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore, type SwarmPlugin } from '../index.ts';
import { GiB, container, node, request, type RequestBuilder } from '../../test/kit/index.ts';
import health from '../../plugins/filter-health/index.ts';
import port from '../../plugins/filter-port/index.ts';
import containerslots from '../../plugins/filter-containerslots/index.ts';
import dependency from '../../plugins/filter-dependency/index.ts';
import affinity from '../../plugins/filter-affinity/index.ts';
import constraint from '../../plugins/filter-constraint/index.ts';
import whitelist from '../../plugins/filter-whitelist/index.ts';
import spread from '../../plugins/strategy-spread/index.ts';
import binpack from '../../plugins/strategy-binpack/index.ts';
import random from '../../plugins/strategy-random/index.ts';
import { schedule, type ScheduleResult } from './schedule.ts';
import { createRankPool } from './rank-pool.ts';
import { SnapshotLog } from './lineage.ts';
import { CHUNK_ROWS, inlineRunner } from './fused-scan.ts';
import type { ContainerView, NodeView, PlacementRequest, ScorerRef } from '../types.ts';

const SIZE = 2 * CHUNK_ROWS + 1_234; // three chunks, the last one short
const filters = () => [health(), port(), containerslots(), dependency(), affinity(), constraint(), whitelist()];

/** The same strategy with its fast-path flags taken off: the general path (filtered rows gathered, then scored). */
function general(strategy: SwarmPlugin): SwarmPlugin {
  const probe = createCore({ plugins: [strategy] });
  const ref = probe.scorer(request().build());
  const plain: ScorerRef = { ...ref, rowLocal: false, rowwise: false };
  return { name: strategy.name, apply(core) { core.hooks.rank.tap(strategy.name, () => plain); } };
}

function cluster(): NodeView[] {
  const out: NodeView[] = [];
  for (let i = 0; i < SIZE; i++) {
    const b = node(`node-${i}`).labels({ storage: i % 2 ? 'disk' : 'ssd', zone: `z${i % 5}` }).memory((1 + (i % 4)) * GiB).cpus(2 + (i % 3));
    if (i % 7 === 0) b.usedPorts(8080);
    if (i % 3 === 0) b.image('busybox:latest');
    if (i % 11 === 0) b.container(container(`web-${i}`));
    if (i % 13 === 0) b.label('containerslots', '1').containers(1);
    if (i % 97 === 0) b.state('unhealthy');
    out.push(b.build());
  }
  return out;
}

const REQUESTS: (() => RequestBuilder)[] = [
  () => request(),
  () => request().memory(GiB).cpus(1),
  () => request().constraint('storage==ssd'),
  () => request().constraint('zone==z1').affinity('image==busybox').publish('8080:8080'),
  () => request().memory(64 * GiB), // fits nowhere
  () => request().constraint('node==node-77'),
  () => request().constraint('zone==~z9'), // soft, matches nothing: pass 2
  () => request().affinity('container!=web-*').constraint('storage!=ssd'),
  () => request().constraint('zone==z7'), // matches nothing: the legacy error
];

type Outcome = { top: string; score: number; ranked: string; rejected: string; pass: number } | { error: string };

async function outcome(p: Promise<ScheduleResult>): Promise<Outcome> {
  try {
    const r = await p;
    return {
      top: r.top.node.id,
      score: r.top.score,
      pass: r.pass,
      ranked: r.ranked.map((x) => `${x.node.id}=${x.score}`).join(','),
      rejected: r.rejected.map((x) => `${x.node}/${x.plugin}/${x.reason}`).join('\n'),
    };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Commit a placement as the engine layer would: a new NodeView in a new frozen snapshot. */
function commit(nodes: readonly NodeView[], log: SnapshotLog, placed: NodeView, r: PlacementRequest, seq: number): readonly NodeView[] {
  const next = [...nodes];
  const at = next.findIndex((n) => n.id === placed.id);
  const c: ContainerView = {
    id: `c${seq}`.padEnd(64, '0'), names: [`/${r.name || `x${seq}`}`], image: r.image, imageId: 'sha256:busybox', state: 'running', labels: {},
    portBindings: r.portBindings, networkMode: r.networkMode, exposedPorts: r.exposedPorts, cpus: r.cpus, memory: r.memory, created: 1,
  };
  next[at] = { ...placed, containers: [...placed.containers, c], usedCpus: placed.usedCpus + c.cpus, usedMemory: placed.usedMemory + c.memory };
  const frozen = Object.freeze(next);
  log.record(frozen, [at]);
  return frozen;
}

for (const [name, make] of [['spread', spread], ['binpack', binpack], ['random', random]] as const) {
  test(`${name}: fused pass = general path, and kernel threads = calling thread, decision by decision`, async () => {
    const pool = createRankPool({ threshold: 0, adaptive: false });
    try {
      const fused = createCore({ plugins: [...filters(), make()] });
      const pooled = createCore({ plugins: [...filters(), make()] });
      // random's fused scores are by row of the whole set, the general path's by filtered position: not comparable
      const plain = name === 'random' ? undefined : createCore({ plugins: [...filters(), general(make())] });
      const log = new SnapshotLog();
      let nodes: readonly NodeView[] = Object.freeze(cluster());
      log.record(nodes, undefined);
      let placed = 0;
      for (let i = 0; i < 3 * REQUESTS.length; i++) {
        const req = REQUESTS[i % REQUESTS.length]().id(`req-${i}`).build();
        const a = await outcome(schedule(fused, nodes, req));
        const b = await outcome(schedule(pooled, nodes, req, { pool }));
        assert.deepEqual(b, a, `request ${i}: kernel threads vs calling thread`);
        if (plain) assert.deepEqual(await outcome(schedule(plain, nodes, req)), a, `request ${i}: general path vs fused`);
        if ('top' in a) {
          const chosen = nodes.find((n) => n.id === a.top)!;
          nodes = commit(nodes, log, chosen, req, i);
          placed++;
        }
      }
      assert.ok(placed >= 2 * REQUESTS.length - 6, `most requests were placed (${placed})`);
    } finally {
      await pool.close();
    }
  });
}

test('the kernel thread is woken early only for placements likely to use it', async () => {
  const core = createCore({ plugins: [...filters(), binpack()] });
  const nodes = Object.freeze(cluster());
  let prepared = 0;
  let slowRuns = 0;
  const real = createRankPool({ threshold: 0 });
  // A pool whose kernel runs every job inline, slowly: the adaptive choice soon keeps the pass inline.
  const pool = {
    ...real,
    threshold: 0,
    kernel: () => ({
      prepare: () => { prepared++; },
      run: (...args: Parameters<ReturnType<NonNullable<typeof real.kernel>>['run']>) => {
        slowRuns++;
        const until = performance.now() + 20;
        while (performance.now() < until); // slower than the ~0.1 ms inline scan by far
        return inlineRunner.run(...args);
      },
    }),
  };
  try {
    for (let i = 0; i < 12; i++) await schedule(core, nodes, request().named(`p${i}`).id(`p${i}`).build(), { pool });
    assert.ok(slowRuns >= 3 && slowRuns < 12, `the pool was tried, then left (${slowRuns} runs with it)`);
    const before = prepared;
    for (let i = 0; i < 10; i++) await schedule(core, nodes, request().named(`q${i}`).id(`q${i}`).build(), { pool });
    assert.equal(prepared, before, 'no wake-up while the pass stays inline');
  } finally {
    await real.close();
  }
});
