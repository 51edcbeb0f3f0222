/**
 * A deliberately heavier scorer for core/pipeline/rank-pool-threshold.ts: spread's arithmetic
 * repeated `options.rounds` times per row (≈ a few hundred ns per node), standing in for a
 * third-party strategy with real per-node work. Pure and worker-safe.
 */
import type { ScoreTask } from '../types.ts';

export function score({ table, from, to, request, options }: ScoreTask): Float64Array {
  const rounds = typeof options.rounds === 'number' ? options.rounds : 50;
  const out = new Float64Array(to - from);
  for (let i = from; i < to; i++) {
    let acc = 0;
    for (let r = 0; r < rounds; r++) {
      const cpu = ((table.usedCpus[i] + request.cpus + r) * 100) / (table.totalCpus[i] + r);
      const mem = ((table.usedMemory[i] + request.memory) * 100) / (table.totalMemory[i] + r);
      acc += Math.sqrt(cpu * cpu + mem * mem) / rounds;
    }
    out[i - from] = Math.max(0, 100 - (acc % 100));
  }
  return out;
}
