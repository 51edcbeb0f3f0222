import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createKernelPool } from './kernel-pool.ts';
import { combineSummaries as combineChunks } from "./rank-summary.ts";
import { checkJob } from "./fused-scan.test-check.ts";
import { CHUNK_ROWS, chunksOf, inlineRunner, nthBestRow, type FusedJob } from './fused-scan.ts';
import { sharedF64, sharedU8 } from './node-set.ts';
import { buildNodeTable } from './node-table.ts';
import { rng } from './schedule.ts';
import { score as randomScore } from '../../plugins/strategy-random/score.ts';
import { GiB, node } from '../../test/kit/index.ts';
import type { ScoreFn } from '../types.ts';

const execArgv = process.execArgv.some((a) => a.includes('tsx')) ? [...process.execArgv] : [...process.execArgv, '--import', 'tsx'];
const kernel = createKernelPool(1, execArgv);
after(() => kernel.close());

function check(job: FusedJob, runner: { run: typeof inlineRunner.run }, score?: ScoreFn) {
  checkJob(job, (j, sc) => runner.run(j, sc), score);
}

test('vector jobs: the kernel threads and the calling thread give the plain definition, for any size and number of verdicts', () => {
  const r = rng(7);
  for (let k = 0; k < 120; k++) {
    const rows = 1 + Math.floor(r() * 4.3 * CHUNK_ROWS);
    const scores = sharedF64(rows);
    const levels = 1 + Math.floor(r() * 6); // few distinct scores: many ties, across chunks
    for (let i = 0; i < rows; i++) scores[i] = r() < 0.05 ? -1 : r() < 0.01 ? NaN : Math.floor(r() * levels) * 10;
    const verdicts = Array.from({ length: Math.floor(r() * 5) }, () => {
      const v = sharedU8(rows);
      const drop = r() < 0.2 ? 0.999 : r() * 0.6; // sometimes almost every row is dropped
      for (let i = 0; i < rows; i++) v[i] = r() < drop ? 2 : 1;
      return v;
    });
    const job: FusedJob = { rows, verdicts, source: { kind: 'vector', scores } };
    check(job, kernel);
    check(job, inlineRunner);
  }
});

test('arrays posted once and patched in place between jobs: every job sees their contents as they are at its start', () => {
  const rows = 5 * CHUNK_ROWS + 11;
  const scores = sharedF64(rows);
  const v = sharedU8(rows).fill(1);
  const r = rng(11);
  for (let k = 0; k < 200; k++) {
    // a few rows change, as a placement patches the kept vectors of the next snapshot
    for (let j = 0; j < 3; j++) {
      const row = Math.floor(r() * rows);
      scores[row] = Math.floor(r() * 50);
      v[Math.floor(r() * rows)] = r() < 0.5 ? 1 : 2;
    }
    check({ rows, verdicts: [v], source: { kind: 'vector', scores } }, kernel);
  }
});

test('arrays outside shared memory: the calling thread does the whole job', () => {
  const rows = 3 * CHUNK_ROWS;
  const scores = Float64Array.from({ length: rows }, (_, i) => i % 17);
  const v = Uint8Array.from({ length: rows }, (_, i) => (i % 3 ? 1 : 2));
  check({ rows, verdicts: [v], source: { kind: 'vector', scores } }, kernel);
});

const rowwiseJob = (module: string, seed: number): FusedJob => {
  const rows = 3 * CHUNK_ROWS + 5;
  const nodes = Array.from({ length: rows }, (_, i) => node(`n${i}`).memory(GiB).build());
  const table = buildNodeTable(nodes, { shared: true });
  return { rows, verdicts: [], source: { kind: 'rowwise', table, out: sharedF64(rows), module, options: {}, request: { cpus: 0, memory: 0 }, seed } };
};

test('rowwise jobs: chunks scored where they are scanned give the scores of the whole table', () => {
  const module = new URL('../../plugins/strategy-random/score.ts', import.meta.url).href;
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    const job = rowwiseJob(module, seed);
    check(job, kernel, randomScore);
    const src = job.source as Extract<FusedJob['source'], { kind: 'rowwise' }>;
    assert.deepEqual([...src.out], [...randomScore({ table: src.table, from: 0, to: job.rows, request: src.request, options: {}, seed })]);
  }
});

test('a chunk that fails only in a kernel thread is done again by the caller; one that fails there too is the caller\'s error', async () => {
  const module = new URL('./rank-pool.test-scorer.ts', import.meta.url).href;
  const { score } = (await import(module)) as { score: ScoreFn };
  for (let k = 0; k < 5; k++) {
    const job = rowwiseJob(module, k);
    const got = combineChunks(kernel.run(job, score), chunksOf(job.rows));
    assert.deepEqual(got, { fitCount: job.rows, best: 1, bestAt: 0, bestCount: job.rows });
  }
  const failing: ScoreFn = () => { throw new Error('scorer failed'); };
  assert.throws(() => kernel.run(rowwiseJob(module, 9), failing), /scorer failed/);
  // and the pool still works afterwards
  const rows = 2 * CHUNK_ROWS + 1;
  const scores = sharedF64(rows).fill(3);
  check({ rows, verdicts: [], source: { kind: 'vector', scores } }, kernel);
});

test('after close the calling thread does every job', async () => {
  const own = createKernelPool(1, execArgv);
  const rows = 2 * CHUNK_ROWS + 3;
  const scores = sharedF64(rows);
  for (let i = 0; i < rows; i++) scores[i] = i % 5;
  check({ rows, verdicts: [], source: { kind: 'vector', scores } }, own);
  await own.close();
  await own.close(); // twice is fine
  check({ rows, verdicts: [], source: { kind: 'vector', scores } }, own);
});
