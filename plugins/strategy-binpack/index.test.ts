import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/index.ts';
import { buildNodeTable } from '../../core/pipeline/node-table.ts';
import { GiB, node } from '../../test/kit/index.ts';
import binpack, { NAME } from './index.ts';
import { DOES_NOT_FIT, HEALTH_FACTOR, score } from './score.ts';

/** The original's weighNodes + Less, written out independently of score.ts. */
function legacyRank(nodes: { tc: number; tm: number; uc: number; um: number; h: number; c: number }[], rc: number, rm: number) {
  const weighted: { i: number; w: number; c: number }[] = [];
  nodes.forEach((n, i) => {
    if (n.tm < rm || n.tc < rc) return;
    const cpu = rc > 0 ? Math.floor(((n.uc + rc) * 100) / n.tc) : 100;
    const mem = rm > 0 ? Math.floor(((n.um + rm) * 100) / n.tm) : 100;
    if (cpu <= 100 && mem <= 100) weighted.push({ i, w: cpu + mem + 10 * n.h, c: n.c });
  });
  const less = (a: { w: number; c: number }, b: { w: number; c: number }) => (a.w === b.w ? a.c < b.c : a.w < b.w);
  return { weighted, less };
}

const ORDER = 'desc' as 'asc' | 'desc';

test('binpack scores reproduce the legacy order exactly (randomised table)', () => {
  let seed = 42;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  for (let round = 0; round < 200; round++) {
    const rows = Array.from({ length: 30 }, () => ({
      tc: 1 + rnd(8), tm: (1 + rnd(8)) * GiB, uc: rnd(6), um: rnd(6) * GiB, h: [0, 33, 66, 100][rnd(4)], c: rnd(5) + (rnd(10) === 0 ? 100000 : 0),
    }));
    const rc = rnd(3);
    const rm = rnd(3) * GiB;
    const nodes = rows.map((r, i) => node(`n${i}`).cpus(r.tc).memory(r.tm).used(r.uc, r.um).health(r.h).containers(0).build())
      .map((n, i) => ({ ...n, containers: Array.from({ length: rows[i].c }, () => n.containers[0]) }));
    const table = buildNodeTable(nodes);
    const s = score({ table, from: 0, to: nodes.length, request: { cpus: rc, memory: rm }, options: {}, seed: 1 });
    const { weighted, less } = legacyRank(rows, rc, rm);
    const fits = new Set(weighted.map((w) => w.i));
    for (let i = 0; i < rows.length; i++) {
      if (fits.has(i)) assert.ok(s[i] >= 0 && s[i] <= 100, `score ${s[i]} in 0..100`);
      else assert.equal(s[i], DOES_NOT_FIT);
    }
    for (const a of weighted) {
      for (const b of weighted) {
        // legacy "a before b" ⇔ higher score
        const before = ORDER === 'asc' ? less(a, b) : less(b, a);
        const tie = !less(a, b) && !less(b, a);
        if (before) assert.ok(s[a.i] > s[b.i], `round ${round}: ${JSON.stringify([a, b])}`);
        if (tie) assert.equal(s[a.i], s[b.i]);
      }
    }
  }
  assert.equal(HEALTH_FACTOR, 10);
});

test('binpack scores a row range only', () => {
  const nodes = [node('a').build(), node('b').containers(2).build(), node('c').memory(GiB).build()];
  const table = buildNodeTable(nodes);
  const all = score({ table, from: 0, to: 3, request: { cpus: 0, memory: 2 * GiB }, options: {}, seed: 0 });
  const part = score({ table, from: 1, to: 3, request: { cpus: 0, memory: 2 * GiB }, options: {}, seed: 0 });
  assert.deepEqual([...part], [...all].slice(1));
  assert.equal(part[1], DOES_NOT_FIT);
});

test('binpack plugin: one rank tap naming a worker-safe scorer module', async () => {
  const core = createCore({ plugins: [binpack()] });
  const ref = core.scorer({} as never);
  assert.equal(ref.name, 'binpack');
  assert.equal(ref.workerSafe, true);
  assert.equal(ref.score, score);
  assert.equal((await import(ref.module)).score, score);
  assert.equal(core.strategyName(), 'binpack');
  assert.equal(core.hooks.rank.taps[0].name, NAME);
  assert.throws(() => binpack({ bogus: true } as never), /plugin strategy-binpack: invalid options/);
});
