import type { Comparator, TargetDef, TargetResult } from './types.ts';

/** Compare a measured figure against its threshold; NaN/null never meets a target. */
export function meets(measured: number | null, op: Comparator, threshold: number): boolean {
  if (measured === null || !Number.isFinite(measured)) return false;
  switch (op) {
    case '>=': return measured >= threshold;
    case '>': return measured > threshold;
    case '<=': return measured <= threshold;
    case '<': return measured < threshold;
  }
}

/** Build a target entry from a measurement. */
export function evaluate(def: TargetDef, measured: number | null, note?: string): TargetResult {
  const value = measured === null || !Number.isFinite(measured) ? null : Number(measured.toPrecision(4));
  return {
    name: def.name,
    measured: value,
    target: `${def.op} ${def.threshold}`,
    unit: def.unit,
    met: meets(value, def.op, def.threshold),
    ...(note ? { note } : value === null ? { note: 'not measured' } : {}),
  };
}

/** A target that could not be measured at all: reported as not met, with the reason. */
export function notRun(def: TargetDef, reason: string): TargetResult {
  return { name: def.name, measured: null, target: `${def.op} ${def.threshold}`, unit: def.unit, met: false, note: `not run: ${reason}` };
}

/**
 * Every target of the issue, one entry each. The names are stable: they are the keys readers
 * look for in `latest.json` across runs.
 */
export const TARGETS = {
  schedRate5k: { name: 'scheduler: placements/s at 5,000 nodes (worst strategy, in-thread)', op: '>=', threshold: 5000, unit: 'placements/s' },
  schedP99_5k: { name: 'scheduler: p99 decision latency at 5,000 nodes (worst strategy, in-thread)', op: '<', threshold: 2, unit: 'ms' },
  poolSpeedup100k: { name: 'scheduler: pool / in-thread placements/s at 100,000 nodes (worst strategy)', op: '>=', threshold: 1.5, unit: 'x' },
  pingP99: { name: 'scheduler: /_ping p99 while 100,000-node rankings run back to back (pool)', op: '<', threshold: 5, unit: 'ms' },
  apiInspect: { name: 'API overhead: container inspect p50, manager / direct (worst of 1 and 3 engines)', op: '<=', threshold: 1.2, unit: 'x' },
  apiPs: { name: 'API overhead: ps -a p50, manager / direct (worst of 1 and 3 engines)', op: '<=', threshold: 0.8, unit: 'x' },
  apiCreateStart: { name: 'API overhead: create+start p50, manager / direct (worst of 1 and 3 engines)', op: '<=', threshold: 1.05, unit: 'x' },
  e2eRatio: { name: 'end to end: manager / direct round-robin containers/s on 3 engines', op: '>=', threshold: 0.95, unit: 'x' },
  scaleRate: { name: 'scale: containers/s created+started 10 at a time, 1,000 engines, first 10,000 containers', op: '>=', threshold: 500, unit: 'containers/s' },
  scaleP99: { name: 'scale: create+start p99 over the first 10,000 containers', op: '<', threshold: 50, unit: 'ms' },
  scaleRss: { name: 'scale: manager RSS at 10,000 containers', op: '<=', threshold: 300, unit: 'MB' },
  scaleCollapse: { name: 'scale: last 10% / first 10% throughput of the 30,000-container run', op: '>=', threshold: 0.5, unit: 'x' },
  // The threshold is replication TTL + 2 s; the part replaces it with the TTL it ran with.
  failoverEtcd: { name: 'failover on etcd: kill -9 primary → first request served by the new primary', op: '<=', threshold: 22, unit: 's' },
  failoverZk: { name: 'failover on ZooKeeper: kill -9 primary → first request served by the new primary', op: '<=', threshold: 22, unit: 's' },
} satisfies Record<string, TargetDef>;
