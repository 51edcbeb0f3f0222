/**
 * Binpack scorer: pure and worker-safe (only `import type`). Legacy `scheduler/strategy/binpack.go`
 * + `weighted_node.go`: weight = cpuScore + memoryScore + 10 × health, sorted DESCENDING, equal
 * weights → MORE containers first. Mapped onto 0..100 (higher is better):
 *
 *   score = 100 × (weight + c/(c+1)) / 1201
 *
 * weight is an integer in [0, 1200] and c/(c+1) ∈ [0, 1) orders container counts inside one
 * weight step, so the score order is exactly the legacy order. A node that does not fit scores −1.
 * (The weight function is repeated from strategy-spread on purpose: a scorer module must not
 * import another plugin.)
 */
import type { NodeTable, ScoreTask } from '../../core/types.ts';

export const HEALTH_FACTOR = 10;
export const DOES_NOT_FIT = -1;

export function weight(t: NodeTable, i: number, cpus: number, memory: number, healthFactor: number): number | undefined {
  const totalCpus = t.totalCpus[i];
  const totalMemory = t.totalMemory[i];
  if (totalMemory < memory || totalCpus < cpus) return undefined;
  const cpuScore = cpus > 0 ? Math.trunc(((t.usedCpus[i] + cpus) * 100) / totalCpus) : 100;
  const memoryScore = memory > 0 ? Math.trunc(((t.usedMemory[i] + memory) * 100) / totalMemory) : 100;
  if (cpuScore > 100 || memoryScore > 100) return undefined;
  return cpuScore + memoryScore + healthFactor * t.health[i];
}

export function score({ table, from, to, request }: ScoreTask): Float64Array {
  const out = new Float64Array(to - from);
  for (let i = from; i < to; i++) {
    const w = weight(table, i, request.cpus, request.memory, HEALTH_FACTOR);
    if (w === undefined) {
      out[i - from] = DOES_NOT_FIT;
      continue;
    }
    const c = table.containers[i];
    out[i - from] = (100 * (w + c / (c + 1))) / 1201;
  }
  return out;
}
