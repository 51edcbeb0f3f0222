/**
 * Test scorer for rank-pool.test.ts: scores like random's row mix, but throws when it runs in a
 * worker thread, so a failure that only a worker sees can be checked.
 */
import { isMainThread } from 'node:worker_threads';
import type { ScoreTask } from '../types.ts';

export function score({ from, to }: ScoreTask): Float64Array {
  if (!isMainThread) throw new Error('worker-only failure');
  return new Float64Array(to - from).fill(1);
}
