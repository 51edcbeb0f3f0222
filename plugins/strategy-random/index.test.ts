import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/index.ts';
import { buildNodeTable } from '../../core/pipeline/node-table.ts';
import { GiB, node } from '../../test/kit/index.ts';
import random, { NAME } from './index.ts';
import { score } from './score.ts';

test('random: no resource check, scores in [0, 100), seeded, chunk-independent', () => {
  const nodes = Array.from({ length: 50 }, (_, i) => node(`n${i}`).memory(GiB).used(8, 8 * GiB).build());
  const table = buildNodeTable(nodes);
  const task = (seed: number, from = 0, to = 50) => score({ table, from, to, request: { cpus: 64, memory: 64 * GiB }, options: {}, seed });
  const a = task(7);
  for (const s of a) assert.ok(s >= 0 && s < 100);
  assert.deepEqual([...a], [...task(7)]);
  assert.notDeepEqual([...a], [...task(8)]);
  assert.deepEqual([...task(7, 10, 30)], [...a].slice(10, 30));
  assert.equal(new Set(a).size, 50);
});

test('random plugin', () => {
  const core = createCore({ plugins: [random()] });
  const ref = core.scorer({} as never);
  assert.equal(ref.name, 'random');
  assert.equal(ref.workerSafe, true);
  assert.equal(core.hooks.rank.taps[0].name, NAME);
});
