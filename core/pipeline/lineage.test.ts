import { test } from 'node:test';
import assert from 'node:assert/strict';
import { node } from '../../test/kit/index.ts';
import { changesBetween, SnapshotLog } from './lineage.ts';
import type { NodeView } from '../types.ts';

const views = (n: number) => Array.from({ length: n }, (_, i) => node(`n${i}`).build());
/** `prev` with the given indices replaced, frozen. */
function replace(prev: readonly NodeView[], ...at: number[]): readonly NodeView[] {
  const next = [...prev];
  for (const i of at) next[i] = node(`${prev[i].name}'`).build();
  return Object.freeze(next);
}

test('consecutive and distant snapshots of one log: the union of the recorded changes', () => {
  const log = new SnapshotLog();
  const s0 = Object.freeze(views(10));
  log.record(s0, undefined);
  const s1 = replace(s0, 2);
  log.record(s1, [2]);
  const s2 = replace(s1, 5, 2);
  log.record(s2, [5, 2, 2]);
  assert.deepEqual(changesBetween(s0, s1, 100), [2]);
  assert.deepEqual(changesBetween(s1, s2, 100)!.sort(), [2, 5]);
  assert.deepEqual(changesBetween(s0, s2, 100)!.sort(), [2, 5]);
  assert.deepEqual(changesBetween(s2, s2, 100), []);
  assert.equal(changesBetween(s2, s0, 100), undefined, 'only forward');
  assert.equal(changesBetween(s0, s2, 1), undefined, 'more than the limit');
  // the same snapshot recorded again is not a new step
  log.record(s2, [7]);
  assert.deepEqual(changesBetween(s1, s2, 100)!.sort(), [2, 5]);
});

test('unknown, unrelated, unfrozen and too distant snapshots give undefined', () => {
  const log = new SnapshotLog();
  const other = new SnapshotLog();
  const s0 = Object.freeze(views(4));
  log.record(s0, undefined);
  const stranger = replace(s0, 1);
  assert.equal(changesBetween(s0, stranger, 10), undefined, 'never recorded');
  other.record(stranger, [1]);
  assert.equal(changesBetween(s0, stranger, 10), undefined, 'another log');

  const rebuilt = Object.freeze(views(4));
  log.record(rebuilt, undefined);
  assert.equal(changesBetween(s0, rebuilt, 10), undefined, 'built anew');
  const longer = Object.freeze([...rebuilt, node('x').build()]);
  log.record(longer, [4]);
  assert.equal(changesBetween(rebuilt, longer, 10), undefined, 'another length');

  const mutable = [...longer];
  log.record(mutable, [0]);
  const after = replace(mutable, 1);
  log.record(after, [1]);
  assert.equal(changesBetween(longer, after, 10), undefined, 'an unfrozen snapshot breaks the chain');

  let at = after;
  const start = after;
  for (let i = 0; i < 64; i++) {
    at = replace(at, i % 5);
    log.record(at, [i % 5]);
  }
  assert.equal(changesBetween(start, at, 100), undefined, '64 snapshots apart: out of the ring');
  assert.ok(changesBetween(replace(start, 0), at, 100) === undefined);
});
