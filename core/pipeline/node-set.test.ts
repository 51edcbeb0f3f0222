// What the scheduler keeps across placements (node-set.ts, Candidates.keepWhere, row-local score
// vectors, the pool's arena table) must never outlive the snapshot it was computed from.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore, type SwarmPlugin } from '../index.ts';
import { GiB, container, node, request } from '../../test/kit/index.ts';
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
import { Candidates } from './candidates.ts';
import { nodeSetOf, nodeSetOfChunked } from './node-set.ts';
import { SnapshotLog } from './lineage.ts';
import { NodeList, type Nodes } from './node-list.ts';
import { createRankPool, type RankPool } from './rank-pool.ts';
import { NoSuitableNodeError, schedule } from './schedule.ts';
import { buildNodeTable } from './node-table.ts';
import type { NodeView, PlacementRequest } from '../types.ts';

const filters = () => [health(), port(), containerslots(), dependency(), affinity(), constraint(), whitelist()];
const coreWith = (strategy: SwarmPlugin = spread()) => createCore({ plugins: [...filters(), strategy] });

let pool: RankPool;
before(() => { pool = createRankPool({ threshold: 0, threads: 1, adaptive: false }); });
after(() => pool.close());

/** Name of the placement, or the error text. */
async function placed(core: ReturnType<typeof coreWith>, nodes: readonly NodeView[], req: PlacementRequest, p?: RankPool): Promise<string> {
  try {
    return (await schedule(core, nodes, req, p ? { pool: p } : {})).top.node.name;
  } catch (err) {
    if (err instanceof NoSuitableNodeError) return `error: ${err.message}`;
    throw err;
  }
}

test('the same array with the same nodes is the same set; an edited array or a replaced node is not', () => {
  const nodes = [node('a').build(), node('b').build()];
  const set = nodeSetOf(nodes);
  assert.equal(nodeSetOf(nodes), set);
  nodes[1] = node('b').label('storage', 'ssd').build();
  const replaced = nodeSetOf(nodes);
  assert.notEqual(replaced, set);
  assert.equal(replaced.base.at(1), nodes[1]);
  nodes.push(node('c').build());
  assert.deepEqual([...nodeSetOf(nodes).base].map((n) => n.name), ['a', 'b', 'c']);
  nodes.pop();
  assert.equal(nodeSetOf(nodes).count, 2);
});

for (const [label, usePool] of [['in-thread', false], ['pool', true]] as const) {
  test(`a cached verdict or score never survives a changed node (${label})`, async () => {
    const core = coreWith();
    const p = usePool ? pool : undefined;
    // One array, edited in place between placements, as a careless caller could do.
    const nodes: NodeView[] = [node('a').build(), node('b').used(3, 3 * GiB).build()];

    // port: a container added on `a` that binds 80 → `a` no longer qualifies
    // (one CPU asked, so that spread prefers the emptier `a` instead of drawing between equal scores)
    const publish80 = () => request().id('p80').cpus(1).publish('80:80').build();
    assert.equal(await placed(core, nodes, publish80(), p), 'a');
    nodes[0] = node('a').container(container('web').publish('80:80')).build();
    assert.equal(await placed(core, nodes, publish80(), p), 'b');
    // ... and removed again
    nodes[0] = node('a').build();
    assert.equal(await placed(core, nodes, publish80(), p), 'a');

    // constraint: a label changes
    const ssd = () => request().id('ssd').cpus(1).constraint('storage==ssd').build();
    nodes[0] = node('a').label('storage', 'disk').build();
    nodes[1] = node('b').label('storage', 'ssd').used(3, 3 * GiB).build();
    assert.equal(await placed(core, nodes, ssd(), p), 'b');
    nodes[0] = node('a').label('storage', 'ssd').build();
    assert.equal(await placed(core, nodes, ssd(), p), 'a'); // both qualify now; spread prefers the emptier a

    // containerslots: a container added fills the last slot
    const plain = () => request().id('plain').cpus(1).build();
    nodes[0] = node('a').label('containerslots', '1').build();
    assert.equal(await placed(core, nodes, plain(), p), 'a');
    nodes[0] = node('a').label('containerslots', '1').container(container('x')).build();
    assert.equal(await placed(core, nodes, plain(), p), 'b');

    // health
    nodes[0] = node('a').build();
    assert.equal(await placed(core, nodes, plain(), p), 'a');
    nodes[0] = node('a').health(0).state('unhealthy').build();
    assert.equal(await placed(core, nodes, plain(), p), 'b');

    // the cached spread scores: reservations change, the ranking follows
    nodes[0] = node('a').build();
    const mem = () => request().id('mem').memory(GiB).build();
    assert.equal(await placed(core, nodes, mem(), p), 'a');
    nodes[0] = node('a').used(4, 4 * GiB).build();
    assert.equal(await placed(core, nodes, mem(), p), 'b');

    // affinity to an image and to a container
    const img = () => request().id('img').affinity('image==redis').build();
    nodes[0] = node('a').build();
    nodes[1] = node('b').image('redis:7').build();
    assert.equal(await placed(core, nodes, img(), p), 'b');
    nodes[1] = node('b').build();
    assert.match(await placed(core, nodes, img(), p), /^error: Unable to find a node that satisfies[^]*image==redis/);
    nodes[0] = node('a').image('redis:7').build();
    assert.equal(await placed(core, nodes, img(), p), 'a');
  });
}

test('warm caches give exactly what a cold snapshot gives: ranking, scores, rejections, errors', async () => {
  const base = Array.from({ length: 60 }, (_, i) => {
    const b = node(`n${i}`).labels({ storage: i % 3 ? 'ssd' : 'disk', zone: `z${i % 4}` }).used(i % 5, (i % 7) * 0.25 * GiB);
    if (i % 6 === 0) b.container(container(`web-${i}`).publish('80:80'));
    if (i % 11 === 0) b.label('containerslots', '0');
    if (i % 13 === 0) b.health(0).state('unhealthy');
    return b.build();
  });
  const reqs = (i: number) => [
    request().id(`r${i}`).build(),
    request().id(`r${i}`).memory(GiB).cpus(1).build(),
    request().id(`r${i}`).constraint('storage==ssd').publish('80:80').build(),
    request().id(`r${i}`).constraint('zone!=z1', 'node==~n5*').affinity('container!=web-1*').build(),
    request().id(`r${i}`).constraint('zone==nowhere').build(),
    request().id(`r${i}`).memory(3.9 * GiB).cpus(4).build(),
  ];
  for (const strategy of [spread, binpack, random]) {
    const core = coreWith(strategy());
    for (let i = 0; i < 5; i++) {
      for (const [k, req] of reqs(i).entries()) {
        const explain = async (nodes: readonly NodeView[], p?: RankPool) => {
          try {
            const r = await schedule(core, nodes, req, p ? { pool: p } : {});
            return { pass: r.pass, top: r.top, ranked: r.ranked.map((x) => [x.node.id, x.score]), rejected: r.rejected };
          } catch (err) {
            if (!(err instanceof NoSuitableNodeError)) throw err;
            return { error: err.message, rejected: err.rejected };
          }
        };
        const warm = await explain(base); // the same array every time: caches hit after the first
        const cold = await explain(base.map((n) => ({ ...n }))); // new objects: nothing cached
        const pooled = await explain(base, pool);
        assert.deepEqual(warm, cold, `${strategy.name} request ${k}`);
        assert.deepEqual(pooled, cold, `${strategy.name} request ${k} (pool)`);
        if (warm.top && warm.ranked) assert.deepEqual([warm.top.node.id, warm.top.score], warm.ranked[0]);
      }
    }
  }
});

test('keepWhere records the same nodes and reasons as keep; verdicts are per plugin and key', async () => {
  const nodes = [node('a').label('x', '1').build(), node('b').build(), node('c').label('x', '1').build()];
  const set = nodeSetOf(nodes);
  const rows = Candidates.of(set).as('filter-one');
  const plain = new Candidates(nodes, { plugin: 'filter-one' });
  const has = (n: NodeView) => n.labels.x === '1';
  const why = (n: NodeView) => `no x on ${n.name}`;
  for (let i = 0; i < 2; i++) { // second round: from the verdict cache
    const a = rows.keepWhere('has-x', has, why, { conditions: ['x'] });
    const b = plain.keep(has, why, { conditions: ['x'] });
    assert.deepEqual(a.nodes, b.nodes);
    assert.deepEqual(a.rejected, b.rejected);
    assert.deepEqual(a.conditions, b.conditions);
    assert.equal(a.size, 2);
  }
  // another plugin, same key, another predicate: its own verdicts
  const other = Candidates.of(set).as('filter-two').keepWhere('has-x', (n) => n.name === 'b', why);
  assert.deepEqual(other.nodes.map((n) => n.name), ['b']);
  // everything dropped → exhausted, and the reasons still come out in order
  const none = rows.keepWhere('never', () => false, why, { emptyMessage: 'nothing' });
  assert.deepEqual(none.exhausted, { plugin: 'filter-one', message: 'nothing' });
  assert.deepEqual(none.rejected.map((r) => r.reason), ['no x on a', 'no x on b', 'no x on c']);
  assert.ok(Object.isFrozen(none.rejected) && Object.isFrozen(none.nodes));
});

test('pool: subsets of a kept table score as a table of those nodes would (random depends on row positions)', async () => {
  const nodes = Array.from({ length: 40 }, (_, i) => node(`n${i}`).used(i % 4, (i % 3) * GiB).build());
  const set = nodeSetOf(nodes);
  const other = nodeSetOf(nodes.map((n) => ({ ...n, usedCpus: 0 }))); // another table: replaces the arena's
  for (const strategy of [spread(), random()]) {
    const core = createCore({ plugins: [strategy] });
    for (const pick of [(i: number) => i % 3 !== 0, (i: number) => i > 30, () => true, (i: number) => i === 7]) {
      for (const s of [set, other, set]) {
        const rows = Int32Array.from(s.all.filter(pick));
        const req = { cpus: 1, memory: GiB };
        const scorer = core.scorer(request().build());
        const subset = Array.from(rows, (r) => s.base.at(r));
        const want = scorer.score!({ table: buildNodeTable(subset), from: 0, to: subset.length, request: req, options: scorer.options, seed: 12345 });
        const got = await pool.scoreRows!(s, rows, scorer, req, 12345);
        assert.deepEqual([...got], Array.from(want), `${strategy.name}, ${rows.length} rows`);
      }
    }
  }
});

const snapshotForms = [
  { recorded: false, list: false, size: 30 },
  { recorded: true, list: false, size: 30 },
  // NodeLists of several chunks, with a few nodes that do not take part (a base of their own)
  { recorded: false, list: true, size: 2_100 },
  { recorded: true, list: true, size: 2_100 },
];
for (const { recorded, list, size } of snapshotForms) test(`a snapshot with a few nodes replaced is derived from the previous one, and gives what a cold snapshot gives (${list ? `NodeLists of ${size} nodes, ` : ''}${recorded ? 'changes told by a SnapshotLog' : 'found by comparison'})`, async () => {
  const log = new SnapshotLog();
  const first = Array.from({ length: size }, (_, i) =>
    node(`n${i}`).labels({ storage: i % 2 ? 'ssd' : 'disk' }).label('containerslots', String(2 + (i % 3))).used(i % 3, (i % 4) * 0.5 * GiB)
      .state(list && i % 500 === 7 ? 'pending' : 'healthy').build());
  let nodes: readonly NodeView[] = Object.freeze(first);
  let snap: Nodes = list ? NodeList.from(first) : nodes;
  if (recorded) log.record(snap, undefined);
  const placed: { at: number; id: string }[] = [];
  for (const strategy of [spread, binpack, random]) {
    const warm = coreWith(strategy());
    const cold = coreWith(strategy());
    let derived = 0;
    for (let step = 0; step < 60; step++) {
      const req = [
        request().id(`s${step}`).publish('80:80').build(),
        request().id(`s${step}`).memory(GiB / 2).cpus(1).constraint('storage==ssd').build(),
        request().id(`s${step}`).affinity('container!=web-3*').build(),
      ][step % 3];
      const outcome = async (core: ReturnType<typeof coreWith>, snap: Nodes) => {
        try {
          const r = await schedule(core, snap, req);
          return { top: r.top.node.name, ranked: r.ranked.map((x) => [x.node.name, x.score]), rejected: r.rejected.map((x) => [x.node, x.reason]) };
        } catch (err) {
          if (!(err instanceof NoSuitableNodeError)) throw err;
          return { error: err.message, rejected: err.rejected.map((x) => [x.node, x.reason]) };
        }
      };
      const a = await outcome(warm, snap); // derived from the previous step's set (a node or two replaced)
      const b = await outcome(cold, nodes.map((n) => ({ ...n })));
      assert.deepEqual(a, b, `${strategy.name}, step ${step}`);
      if (!('top' in a) || a.top === undefined) continue;
      // commit: the chosen node gets a container publishing 80 and reserving resources; the oldest goes
      const next = nodes.slice();
      const at = next.findIndex((n) => n.name === a.top);
      const c = container(`web-${step}`).publish('80:80').build();
      next[at] = { ...next[at], containers: [...next[at].containers, { ...c, cpus: req.cpus, memory: req.memory }], usedCpus: next[at].usedCpus + req.cpus, usedMemory: next[at].usedMemory + req.memory };
      placed.push({ at, id: c.id });
      const changed = [at];
      if (placed.length > 8) {
        const old = placed.shift()!;
        const n = next[old.at];
        const gone = n.containers.find((x) => x.id === old.id);
        if (gone) next[old.at] = { ...n, containers: n.containers.filter((x) => x !== gone), usedCpus: n.usedCpus - gone.cpus, usedMemory: n.usedMemory - gone.memory };
        changed.push(old.at);
      }
      nodes = Object.freeze(next);
      snap = list ? (snap as NodeList).with(changed.map((i) => [i, next[i]])) : nodes;
      if (recorded) log.record(snap, changed);
      derived++;
    }
    assert.ok(derived > 20, 'placements were committed');
  }
});

test('an older snapshot used again after a newer one took over its table still scores its own nodes', async () => {
  // a strategy that is not row-local and reads the table on every placement
  const reader = (): SwarmPlugin => ({
    name: 'strategy-reader',
    apply(c) {
      c.hooks.rank.tap('strategy-reader', () => ({
        name: 'reader', module: 'file:///unused.js', options: {},
        score: ({ table, from, to }) => Float64Array.from({ length: to - from }, (_, k) => table.usedCpus[from + k] * 10 + table.health[from + k] / 100 + k / 1000),
      }));
    },
  });
  const core = coreWith(reader());
  const cold = coreWith(reader());
  const first = Object.freeze(Array.from({ length: 12 }, (_, i) => node(`n${i}`).used(i % 4, 0).build()));
  const req = request().id('again').cpus(1).build();
  const at = async (c: ReturnType<typeof coreWith>, snap: readonly NodeView[]) =>
    (await schedule(c, snap, req)).ranked.map((r) => [r.node.name, r.score]);
  await at(core, first); // builds the table
  const second = Object.freeze(first.map((n, i) => (i === 3 ? node('n3').used(4, 0).health(0).state('unhealthy').build() : n)));
  const third = Object.freeze(second.map((n, i) => (i === 5 ? node('n5').used(3, 0).build() : n)));
  assert.deepEqual(await at(core, second), await at(cold, second.map((n) => ({ ...n }))));
  assert.deepEqual(await at(core, third), await at(cold, third.map((n) => ({ ...n }))));
  // back to the first snapshot: its own values, not the patched table of the later ones
  assert.deepEqual(await at(core, first), await at(cold, first.map((n) => ({ ...n }))));
  assert.deepEqual(await at(core, third), await at(cold, third.map((n) => ({ ...n }))));
});

test('an older snapshot used again after a newer one took over its verdicts and scores gets its own answers', async () => {
  for (const strategy of [spread, binpack]) {
    const core = coreWith(strategy());
    const cold = coreWith(strategy());
    const ssd = request().id('v').cpus(1).constraint('storage==ssd').build();
    const plain = request().id('w').cpus(1).build();
    const at = async (c: ReturnType<typeof coreWith>, snap: readonly NodeView[], req: PlacementRequest) => {
      try {
        const r = await schedule(c, snap, req);
        return { ranked: r.ranked.map((x) => [x.node.name, x.score]), rejected: r.rejected.map((x) => [x.node, x.reason]) };
      } catch (err) {
        if (err instanceof NoSuitableNodeError) return { error: err.message };
        throw err;
      }
    };
    const first = Object.freeze(Array.from({ length: 10 }, (_, i) => node(`n${i}`).labels({ storage: i === 2 ? 'ssd' : 'disk' }).used(i % 3, 0).build()));
    for (const req of [ssd, plain]) await at(core, first, req); // verdicts and scores kept with `first`
    // n2 loses its ssd label and gets busier, n7 becomes ssd
    const second = Object.freeze(first.map((n, i) => (i === 2 ? node('n2').labels({ storage: 'disk' }).used(3, 0).build() : i === 7 ? node('n7').labels({ storage: 'ssd' }).build() : n)));
    for (const snap of [second, first, second]) {
      for (const req of [ssd, plain]) assert.deepEqual(await at(core, snap, req), await at(cold, snap.map((n) => ({ ...n })), req), `${strategy.name} ${snap === first ? 'first' : 'second'}`);
    }
  }
});

test('a result read after a newer placement patched its scores in place still gives its own ranking', async () => {
  for (const strategy of [spread, binpack]) {
    const core = coreWith(strategy());
    const cold = coreWith(strategy());
    const req = request().id('late').cpus(2).build();
    const view = (r: Awaited<ReturnType<typeof schedule>>) => ({ ranked: r.ranked.map((x) => [x.node.name, x.score]), rejected: r.rejected.map((x) => [x.node, x.reason]) });
    const first = Object.freeze(Array.from({ length: 10 }, (_, i) => node(`n${i}`).used(i % 4, 0).build()));
    await schedule(core, first, req); // scores kept with `first`
    const second = Object.freeze(first.map((n, i) => (i === 1 ? node('n1').used(3, 0).build() : n)));
    const early = await schedule(core, second, req); // its vector is the patched one
    const third = Object.freeze(second.map((n, i) => (i === 0 || i === 2 ? node(n.name).used(4, 0).build() : n)));
    const later = await schedule(core, third, req); // patches the same vector again
    assert.deepEqual(view(early), view(await schedule(cold, second.map((n) => ({ ...n })), req)), strategy.name);
    assert.deepEqual(view(later), view(await schedule(cold, third.map((n) => ({ ...n })), req)), strategy.name);
  }
});

test('pool: a table patched in place reaches the arena as its patched rows, and scores as a cold table does', async () => {
  // not row-local and reads the table on every placement, so every placement goes to the pool
  const reader = (): SwarmPlugin => ({
    name: 'strategy-reader',
    apply(c) {
      c.hooks.rank.tap('strategy-reader', () => ({
        name: 'reader', module: new URL('./rank-pool-threshold.scorer.ts', import.meta.url).href, options: {}, workerSafe: true,
      }));
    },
  });
  const core = coreWith(reader());
  const cold = coreWith(reader());
  const log = new SnapshotLog();
  let nodes: readonly NodeView[] = Object.freeze(Array.from({ length: 40 }, (_, i) => node(`n${i}`).used(i % 4, (i % 3) * GiB).build()));
  log.record(nodes, undefined);
  const req = request().id('arena').cpus(1).build();
  const at = async (c: ReturnType<typeof coreWith>, snap: readonly NodeView[], p?: RankPool) =>
    (await schedule(c, snap, req, p ? { pool: p } : {})).ranked.map((r) => [r.node.name, r.score]);
  for (let step = 0; step < 12; step++) {
    assert.deepEqual(await at(core, nodes, pool), await at(cold, nodes.map((n) => ({ ...n }))), `step ${step}`);
    const i = (step * 7) % 40;
    const next = [...nodes];
    next[i] = node(`n${i}`).used((step % 4) + 1, step % 2 ? GiB : 0).build();
    nodes = Object.freeze(next);
    log.record(nodes, [i]);
  }
});

test('the chunked snapshot comparison gives the set nodeSetOf gives, turning between chunks', async () => {
  const make = (tag: string) => Object.freeze(Array.from({ length: 40 }, (_, i) => node(`ch-${i}`).label('tag', tag).build()));
  const first = make('a');
  const prev = nodeSetOf(first);
  let turns = 0;
  const pause = async () => { turns++; };
  // two nodes replaced: derived from the previous set (it shares the row numbering)
  const next = Object.freeze(first.map((n, i) => (i === 3 || i === 37 ? { ...n, labels: { tag: 'b' } } : n)));
  const derived = await nodeSetOfChunked(next, prev, pause, 8);
  assert.equal(turns, 4);
  assert.equal(derived.input, next);
  assert.equal(derived.all, prev.all, 'derived, not rebuilt');
  assert.deepEqual([...derived.base].map((n) => n.labels.tag), next.map((n) => n.labels.tag));
  assert.equal(await nodeSetOfChunked(next, prev, pause, 8), derived, 'the same snapshot finds its set again');
  assert.equal(nodeSetOf(next, prev), derived);
  // every node replaced: too different, a fresh set, as nodeSetOf would build
  const other = make('c');
  const fresh = await nodeSetOfChunked(other, derived, pause, 8);
  assert.notEqual(fresh.all, derived.all);
  assert.deepEqual([...fresh.base].map((n) => n.labels.tag), other.map((n) => n.labels.tag));
  // a mutable array is compared in one piece (it could change between chunks)
  turns = 0;
  await nodeSetOfChunked([...next], derived, pause, 8);
  assert.equal(turns, 0);
});

test('changes told by the snapshot producer are trusted: no node-by-node comparison', async () => {
  const core = coreWith();
  const ssd = request().constraint('storage==ssd').build();
  const names = async (nodes: readonly NodeView[]) => {
    try {
      return (await schedule(core, nodes, ssd)).ranked.map((r) => r.node.name).sort();
    } catch (err) {
      if (err instanceof NoSuitableNodeError) return [];
      throw err;
    }
  };
  const log = new SnapshotLog();
  const first = Object.freeze([node('a').build(), node('b').build(), node('c').build()]);
  log.record(first, undefined);
  assert.deepEqual(await names(first), []);
  const ssdB = node('b').label('storage', 'ssd').build();
  const ssdC = node('c').label('storage', 'ssd').build();
  const second = Object.freeze([first[0], ssdB, ssdC]);
  log.record(second, [1]); // wrong on purpose: index 2 changed too
  assert.deepEqual(await names(second), ['b'], "c's cached verdict was kept: the untold change was not looked for");
  // The same change without a record is found by comparison.
  const other = coreWith();
  await assert.rejects(schedule(other, first, ssd), NoSuitableNodeError);
  const again = Object.freeze([first[0], ssdB, ssdC]);
  assert.deepEqual((await schedule(other, again, ssd)).ranked.map((r) => r.node.name).sort(), ['b', 'c']);
});

test('NodeList snapshots: derived without a record (shared chunks skipped), the base is the list itself when every node takes part', async () => {
  const nodes = Array.from({ length: 3_000 }, (_, i) => node(`n${i}`).build());
  const first = NodeList.from(nodes);
  const set = nodeSetOf(first);
  assert.equal(set.base, first, 'every node takes part: no copy');
  const second = first.with([[2_500, node('n2500').label('storage', 'ssd').build()]]);
  let turns = 0;
  const derived = await nodeSetOfChunked(second, set, async () => { turns++; }, 1_000);
  assert.equal(turns, 0, 'two lists compare chunk by chunk, without pausing');
  assert.equal(derived.all, set.all, 'derived, not rebuilt');
  assert.equal(derived.base, second);
  assert.equal(derived.input, second);
  // some nodes do not take part: the base is a list of its own, derived by replacing rows
  const mixed = NodeList.from(nodes.map((n, i) => (i % 1_000 === 0 ? node(n.name).state('pending').build() : n)));
  const mset = nodeSetOf(mixed);
  assert.equal(mset.count, 2_997);
  const replaced = node('n1999').label('storage', 'ssd').build();
  const mnext = nodeSetOf(mixed.with([[1_999, replaced]]), mset);
  assert.equal(mnext.all, mset.all, 'derived, not rebuilt');
  assert.equal(mnext.base.at(mset.rowOf[1_999]), replaced);
  assert.equal(mset.base.at(mset.rowOf[1_999]), nodes[1_999], 'the earlier set keeps its own node');
  assert.deepEqual([...mnext.base].map((n) => n.name), [...mset.base].map((n) => n.name));
});
