import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentile, ratio, sideBySide, sig, summarize } from './stats.ts';

test('percentile uses the nearest rank on a sorted copy', () => {
  const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(values, 50), 5);
  assert.equal(percentile(values, 90), 9);
  assert.equal(percentile(values, 99), 10);
  assert.equal(percentile(values, 0), 1);
  assert.deepEqual(values.slice(0, 3), [5, 1, 4]); // input left alone
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('p99 of 1000 samples is the 990th smallest', () => {
  const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
  assert.equal(percentile(values, 99), 990);
  assert.equal(percentile(values, 50), 500);
});

test('summarize reports count, mean and percentiles', () => {
  const s = summarize([1, 2, 3, 4]);
  assert.equal(s.count, 4);
  assert.equal(s.mean, 2.5);
  assert.equal(s.min, 1);
  assert.equal(s.max, 4);
  assert.equal(s.p50, 2);
  assert.equal(summarize([]).count, 0);
});

test('ratio never yields Infinity', () => {
  assert.equal(ratio(3, 2), 1.5);
  assert.ok(Number.isNaN(ratio(1, 0)));
  assert.ok(Number.isNaN(ratio(NaN, 1)));
});

test('sig rounds to significant digits', () => {
  assert.equal(sig(0.000123456, 3), 0.000123);
  assert.equal(sig(123456, 2), 120000);
});

test('sideBySide alternates which side runs first', async () => {
  const order: string[] = [];
  const res = await sideBySide(
    4,
    async () => { order.push('a'); return 1; },
    async () => { order.push('b'); return 2; },
  );
  assert.deepEqual(order, ['a', 'b', 'b', 'a', 'a', 'b', 'b', 'a']);
  assert.deepEqual(res, { a: [1, 1, 1, 1], b: [2, 2, 2, 2] });
});
