import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GiB, container, node } from '../../test/kit/index.ts';
import { COLUMNS, buildNodeTable, tableBytes, tableView } from './node-table.ts';

test('columns hold the node values, row i = nodes[i]; views over a shared buffer see the same data', () => {
  const nodes = [
    node('a').cpus(8).memory(16 * GiB).container(container().cpus(2).memory(GiB), container().state('exited').memory(GiB)).build(),
    node('b').health(66).containers(5).build(),
  ];
  const t = buildNodeTable(nodes, { shared: true });
  assert.equal(t.count, 2);
  assert.deepEqual([...t.totalCpus], [8, 4]);
  assert.deepEqual([...t.totalMemory], [16 * GiB, 4 * GiB]);
  assert.deepEqual([...t.usedCpus], [2, 0]);
  assert.deepEqual([...t.usedMemory], [2 * GiB, 0]);
  assert.deepEqual([...t.health], [100, 66]);
  assert.deepEqual([...t.containers], [2, 5]);
  assert.ok(t.totalCpus.buffer instanceof SharedArrayBuffer);
  assert.equal(t.totalCpus.buffer.byteLength, tableBytes(2));
  const again = tableView(t.totalCpus.buffer, 0, 2);
  for (const c of COLUMNS) assert.deepEqual([...again[c]], [...t[c]], c);
});

test('a table can be written at an offset of a bigger buffer', () => {
  const buffer = new SharedArrayBuffer(64 + tableBytes(3));
  const nodes = ['x', 'y', 'z'].map((n, i) => node(n).cpus(i + 1).build());
  buildNodeTable(nodes, { buffer, byteOffset: 64 });
  assert.deepEqual([...tableView(buffer, 64, 3).totalCpus], [1, 2, 3]);
  assert.deepEqual([...new Float64Array(buffer, 0, 8)], new Array(8).fill(0));
});
