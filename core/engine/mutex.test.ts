import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Mutex } from './mutex.ts';

test('mutex runs critical sections one at a time, in order, and survives a throwing one', async () => {
  const m = new Mutex();
  const log: string[] = [];
  const section = (name: string, ticks: number, fail = false) => m.run(async () => {
    log.push(`${name}:in`);
    for (let i = 0; i < ticks; i++) await Promise.resolve();
    log.push(`${name}:out`);
    if (fail) throw new Error(name);
    return name;
  });
  const results = await Promise.allSettled([section('a', 5), section('b', 1, true), section('c', 0)]);
  assert.deepEqual(log, ['a:in', 'a:out', 'b:in', 'b:out', 'c:in', 'c:out']);
  assert.equal(results[0].status, 'fulfilled');
  assert.equal(results[1].status, 'rejected');
  assert.equal(results[2].status, 'fulfilled');
});
