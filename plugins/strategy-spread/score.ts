/**
 * Spread scorer: pure and worker-safe (only `import type`). Legacy `scheduler/strategy/spread.go`
 * + `weighted_node.go`: weight = cpuScore + memoryScore − 10 × health, sorted ASCENDING, equal
 * weights → fewer containers first. Mapped onto 0..100 (higher is better):
 *
 *   score = 100 − 100 × (weight + 1000 + c/(c+1)) / 1201
 *
 * weight is an integer in [−1000, 200] and c/(c+1) ∈ [0, 1) orders container counts inside one
 * weight step, so the score order is exactly the legacy (weight, containers) order.
 * A node that does not fit scores −1.
 */
import type { NodeTable, ScoreTask } from '../../core/types.ts';

export const HEALTH_FACTOR = -10;
export const DOES_NOT_FIT = -1;

/**
 * Legacy `weighNodes` for one row: undefined when the node cannot take the request.
 * Integer division as in Go; a resource that is not requested scores 100.
 */
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
    out[i - from] = 100 - (100 * (w + 1000 + c / (c + 1))) / 1201;
  }
  return out;
}
