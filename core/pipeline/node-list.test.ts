import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isImmutable, NodeList, nodeArray, nodeAt } from './node-list.ts';
import type { NodeView } from '../types.ts';

/** Stand-ins: NodeList only compares and hands back references. */
const fake = (i: number, tag = ''): NodeView => ({ id: `n${i}${tag}` }) as unknown as NodeView;
const make = (n: number) => Array.from({ length: n }, (_, i) => fake(i));

test('a list reads back its nodes in order, across chunk boundaries', () => {
  for (const n of [0, 1, 1023, 1024, 1025, 5000]) {
    const nodes = make(n);
    const list = NodeList.from(nodes);
    assert.equal(list.length, n);
    for (const i of [0, 1, 1022, 1023, 1024, 1025, 4999].filter((x) => x < n)) assert.equal(list.at(i), nodes[i], `at(${i}) of ${n}`);
    assert.deepEqual([...list], nodes);
    assert.deepEqual(list.toArray(), nodes);
  }
});

test('from() copies: editing the source array later does not show', () => {
  const nodes = make(3);
  const list = NodeList.from(nodes);
  nodes[1] = fake(1, 'x');
  assert.equal(list.at(1).id, 'n1');
});

test('with() makes a new list and leaves the old one as it was', () => {
  const nodes = make(3000);
  const a = NodeList.from(nodes);
  const b = a.with([[5, fake(5, 'b')], [2500, fake(2500, 'b')]]);
  assert.notEqual(a, b);
  assert.equal(a.at(5).id, 'n5');
  assert.equal(a.at(2500).id, 'n2500');
  assert.equal(b.at(5).id, 'n5b');
  assert.equal(b.at(2500).id, 'n2500b');
  assert.equal(b.at(6), nodes[6]);
  assert.equal(b.at(1024), nodes[1024]);
  // a later change to the same chunk copies it again: b keeps its own
  const c = b.with(new Map([[6, fake(6, 'c')]]));
  assert.equal(b.at(6), nodes[6]);
  assert.equal(c.at(5).id, 'n5b');
  assert.equal(c.at(6).id, 'n6c');
  // the last change to an index wins
  assert.equal(a.with([[7, fake(7, '1')], [7, fake(7, '2')]]).at(7).id, 'n72');
});

test('with() without a real change returns the same list; a bad index is a RangeError', () => {
  const nodes = make(10);
  const a = NodeList.from(nodes);
  assert.equal(a.with([]), a);
  assert.equal(a.with([[3, nodes[3]]]), a);
  assert.throws(() => a.with([[10, fake(10)]]), RangeError);
  assert.throws(() => a.with([[-1, fake(1)]]), RangeError);
  assert.throws(() => a.with([[1.5, fake(1)]]), RangeError);
});

test('changedSince() finds exactly the replaced indices, in a range too', () => {
  const a = NodeList.from(make(5000));
  const b = a.with([[3, fake(3, 'x')], [1500, fake(1500, 'x')], [4999, fake(4999, 'x')]]);
  assert.deepEqual(b.changedSince(a, []), [3, 1500, 4999]);
  assert.deepEqual(a.changedSince(b, []), [3, 1500, 4999]);
  assert.deepEqual(b.changedSince(a, [], 4, 4999), [1500]);
  assert.deepEqual(b.changedSince(b, []), []);
  // unrelated lists with the same nodes: every chunk is read, nothing differs
  const same = NodeList.from([...b]);
  assert.deepEqual(same.changedSince(b, []), []);
  // unrelated lists, every node different
  assert.equal(NodeList.from(make(5000).map((n, i) => fake(i, 'y'))).changedSince(a, []).length, 5000);
  assert.throws(() => b.changedSince(NodeList.from(make(4)), []), RangeError);
});

test('a list is immutable and its array is made once, frozen', () => {
  const list = NodeList.from(make(2000));
  assert.ok(Object.isFrozen(list));
  assert.ok(isImmutable(list));
  assert.ok(!isImmutable(make(2)));
  assert.ok(isImmutable(Object.freeze(make(2))));
  const arr = list.toArray();
  assert.ok(Object.isFrozen(arr));
  assert.equal(list.toArray(), arr);
  assert.equal(nodeArray(list), arr);
  const plain = make(2);
  assert.equal(nodeArray(plain), plain);
  assert.equal(nodeAt(list, 1999), arr[1999]);
  assert.equal(nodeAt(plain, 1), plain[1]);
});
