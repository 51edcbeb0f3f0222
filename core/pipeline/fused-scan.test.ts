import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHUNK_ROWS, chunksOf, nthBestRow, scanJob, type FusedJob } from './fused-scan.ts';
import { checkJob } from './fused-scan.test-check.ts';
import { buildNodeTable } from './node-table.ts';
import { rng } from './schedule.ts';
import { score as randomScore } from '../../plugins/strategy-random/score.ts';
import { GiB, node } from '../../test/kit/index.ts';
import type { ScoreFn } from '../types.ts';

function check(job: FusedJob, score?: ScoreFn) {
  checkJob(job, scanJob, score);
}

test('vector jobs: the plain definition, for any size, any number of verdicts and ties across chunks', () => {
  const r = rng(7);
  for (let k = 0; k < 120; k++) {
    const rows = 1 + Math.floor(r() * 4.3 * CHUNK_ROWS);
    const scores = new Float64Array(rows);
    const levels = 1 + Math.floor(r() * 6); // few distinct scores: many ties, across chunks
    for (let i = 0; i < rows; i++) scores[i] = r() < 0.05 ? -1 : r() < 0.01 ? NaN : Math.floor(r() * levels) * 10;
    const verdicts = Array.from({ length: Math.floor(r() * 5) }, () => {
      const v = new Uint8Array(rows);
      const drop = r() < 0.2 ? 0.999 : r() * 0.6; // sometimes almost every row is dropped
      for (let i = 0; i < rows; i++) v[i] = r() < drop ? 2 : 1;
      return v;
    });
    const job: FusedJob = { rows, verdicts, source: { kind: 'vector', scores } };
    check(job);
  }
});


test('rowwise jobs: chunks scored where they are scanned give the scores of the whole table', () => {
  const rows = 3 * CHUNK_ROWS + 5;
  const table = buildNodeTable(Array.from({ length: rows }, (_, i) => node(`n${i}`).memory(GiB).build()));
  for (const seed of [1, 2, 3]) {
    const out = new Float64Array(rows);
    const job: FusedJob = { rows, verdicts: [], source: { kind: 'rowwise', table, out, module: 'random', options: {}, request: { cpus: 0, memory: 0 }, seed } };
    check(job, randomScore);
    assert.deepEqual([...out], [...randomScore({ table, from: 0, to: rows, request: { cpus: 0, memory: 0 }, options: {}, seed })]);
  }
});
