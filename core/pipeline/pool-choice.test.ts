import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolLikely, poolTurn, PROBES, RECHECK } from './pool-choice.ts';
import type { RankPool } from './rank-pool.ts';
import type { ScorerRef } from '../types.ts';

const fakePool = (over: Partial<RankPool> = {}): RankPool => ({
  threshold: 1000,
  score: () => Promise.reject(new Error('not used')),
  close: async () => undefined,
  ...over,
});
const scorer: ScorerRef = { name: 's', module: 'file:///s.ts', options: {}, workerSafe: true };

/** Run `n` turns, the pool taking `poolMs` and inline `inlineMs` per turn; returns the sides taken. */
function run(pool: RankPool, n: number, poolMs: number, inlineMs: number, rows = 4000, ref = scorer): boolean[] {
  const sides: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const turn = poolTurn(pool, ref, rows)!;
    sides.push(turn.pool);
    turn.record(turn.pool ? poolMs : inlineMs);
  }
  return sides;
}

test('no pool, a scorer that is not worker-safe, or fewer rows than the threshold: inline, nothing measured', () => {
  assert.equal(poolTurn(undefined, scorer, 1e6), undefined);
  assert.equal(poolTurn(fakePool(), { ...scorer, workerSafe: false }, 1e6), undefined);
  assert.equal(poolTurn(fakePool(), scorer, 999), undefined);
});

test('a pool made non-adaptive is always used from its threshold on', () => {
  const pool = fakePool({ adaptive: false });
  assert.deepEqual(run(pool, 10, 100, 1), Array(10).fill(true));
});

test('both sides are tried, then the faster one is taken, the other tried again every RECHECK-th turn', () => {
  const pool = fakePool();
  const sides = run(pool, 2 * PROBES + 3 * RECHECK, 5, 1); // the pool is slower
  assert.equal(sides.slice(0, 2 * PROBES).filter(Boolean).length, PROBES, 'probes split evenly');
  const after = sides.slice(2 * PROBES);
  assert.equal(after.filter(Boolean).length, 3, 'the pool only on re-checks');
  // the pool faster: it becomes the choice
  const pool2 = fakePool();
  const sides2 = run(pool2, 2 * PROBES + RECHECK, 1, 5);
  assert.equal(sides2.slice(2 * PROBES).filter((p) => !p).length, 1, 'inline only on the re-check');
});

test('a change is noticed: when the chosen side becomes slower, the choice follows', () => {
  const pool = fakePool();
  run(pool, 2 * PROBES + 10, 5, 1); // inline chosen
  // inline becomes slow (e.g. the scorer got heavier on a bigger cluster): re-checks of the pool
  // see it faster and the running means cross
  const sides = run(pool, 4 * RECHECK, 1, 50);
  assert.equal(sides.slice(-RECHECK).filter((p) => !p).length, 1, 'the pool is the choice now, inline only on the re-check');
});

test('per scorer (module and options) and per size class', () => {
  const pool = fakePool();
  run(pool, 2 * PROBES + 5, 5, 1, 4000); // inline wins at ~4,000 rows
  run(pool, 2 * PROBES + 5, 1, 5, 300_000); // the pool wins at ~300,000 rows
  assert.equal(poolTurn(pool, scorer, 4000)!.pool, false);
  assert.equal(poolTurn(pool, scorer, 300_000)!.pool, true);
  // another scorer, or other options, starts with its own probes
  assert.equal(poolTurn(pool, { ...scorer, options: { x: 1 } }, 4000)!.pool, true);
  assert.equal(poolTurn(pool, { ...scorer, module: 'file:///t.ts' }, 4000)!.pool, true);
});

test('poolLikely tells the side the next turn will most likely take, without taking a turn', () => {
  assert.equal(poolLikely(undefined, scorer, 1e6), false);
  assert.equal(poolLikely(fakePool(), scorer, 999), false, 'below the threshold');
  assert.equal(poolLikely(fakePool({ adaptive: false }), scorer, 4000), true);
  const pool = fakePool();
  assert.equal(poolLikely(pool, scorer, 4000), true, 'still probing');
  run(pool, 2 * PROBES + 5, 5, 1); // inline is faster
  for (let i = 0; i < 3; i++) assert.equal(poolLikely(pool, scorer, 4000), false, 'inline chosen; asking changes nothing');
  assert.equal(poolTurn(pool, scorer, 4000)!.pool, false);
  const faster = fakePool();
  run(faster, 2 * PROBES + 5, 1, 5); // the pool is faster
  assert.equal(poolLikely(faster, scorer, 4000), true);
});
