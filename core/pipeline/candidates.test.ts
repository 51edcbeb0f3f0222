import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Candidates } from './candidates.ts';
import { nodeSetOf } from './node-set.ts';
import { node } from '../../test/kit/index.ts';
import type { NodeView } from '../types.ts';

const nodes = (n: number, zoneOf = (i: number) => `z${i % 3}`) =>
  Object.freeze(Array.from({ length: n }, (_, i) => node(`n${i}`).labels({ zone: zoneOf(i), disk: i % 2 ? 'hdd' : 'ssd' }).build()));
const inZone = (z: string) => (n: NodeView) => n.labels.zone === z;
const ssd = (n: NodeView) => n.labels.disk === 'ssd';
const why = (n: NodeView) => `${n.name} says no`;
const view = (c: Candidates) => ({
  size: c.size, empty: c.empty, nodes: c.nodes.map((n) => n.name), rejected: c.rejected, exhausted: c.exhausted, conditions: c.conditions,
});

test('named predicates on every row (a conjunction) read like the same filters on a plain list', () => {
  const ns = nodes(40);
  const set = nodeSetOf(ns);
  const plain = new Candidates(ns).as('f1').keep(inZone('z1'), why, { conditions: ['zone==z1'] }).as('f2').keep(ssd, why);
  const rows = Candidates.of(set).as('f1').keepWhere('zone', inZone('z1'), why, { conditions: ['zone==z1'] }).as('f2').keepWhere('ssd', ssd, why);
  assert.ok(Candidates.conjunctionOf(rows), 'kept as a conjunction');
  assert.deepEqual(view(rows), view(plain));
  assert.deepEqual(rows.nodes.map((n) => n.name), ['n4', 'n10', 'n16', 'n22', 'n28', 'n34']);
});

test('a conjunction that drops every node is exhausted with its message, and an empty one stays so', () => {
  const ns = nodes(12);
  const none = Candidates.of(nodeSetOf(ns)).as('f1').keepWhere('zone9', inZone('z9'), why, { emptyMessage: 'nothing in z9' });
  assert.equal(none.empty, true);
  assert.equal(none.size, 0);
  assert.deepEqual(none.exhausted, { plugin: 'f1', message: 'nothing in z9' });
  const after = none.as('f2').keepWhere('ssd', ssd, why);
  assert.deepEqual(after.exhausted, { plugin: 'f1', message: 'nothing in z9' });
  assert.equal(after.rejected.length, 12);
});

test('a conjunction read after a newer snapshot patched its verdicts in place still answers for its own snapshot', () => {
  const ns = nodes(30);
  const set = nodeSetOf(ns);
  const before = Candidates.of(set).as('f1').keepWhere('zone', inZone('z0'), why);
  // the next snapshot moves node 3 out of z0 and node 4 into it; its set takes the verdicts over
  const next = [...ns];
  next[3] = { ...ns[3], labels: { ...ns[3].labels, zone: 'z1' } };
  next[4] = { ...ns[4], labels: { ...ns[4].labels, zone: 'z0' } };
  const derived = nodeSetOf(Object.freeze(next), set);
  const now = Candidates.of(derived).as('f1').keepWhere('zone', inZone('z0'), why);
  assert.equal(Candidates.conjunctionOf(before), undefined, 'its verdict array was patched: not for the fused pass any more');
  assert.deepEqual(before.nodes.map((n) => n.name), ns.filter(inZone('z0')).map((n) => n.name));
  assert.deepEqual(before.rejected.map((r) => r.node), ns.filter((n) => !inZone('z0')(n)).map((n) => n.id));
  assert.deepEqual(now.nodes.map((n) => n.name), next.filter(inZone('z0')).map((n) => n.name));
});
