/**
 * Manager replication (`--replication`): campaign for leadership through the KV discovery
 * backend and switch this manager between primary and replica.
 *
 * As the original: the lock lives in the store with `--replication-ttl`; every manager keeps the
 * full cluster state; a store error restarts the campaign after 10 s; the role is kept meanwhile.
 */
import type { Logger } from 'pino';
import { ConfigError } from '../errors.ts';
import type { Core } from '../core.ts';
import type { DiscoveryBackend, LeadershipState } from '../types.ts';
import { sleep } from './util.ts';

/** Delay before a failed campaign is restarted (legacy: 10 s). */
export const RECOVERY_DELAY = 10_000;
export const ERR_NO_ELECTION = 'Leader election is only supported with consul, etcd and zookeeper discovery.';

export type Role = { role: 'primary' | 'replica'; primary?: string };

export interface ReplicationOptions {
  backend: DiscoveryBackend;
  core: Core;
  /** This manager's `--advertise` address. */
  addr: string;
  /** `--replication-ttl` in ms. */
  ttl: number;
  /** Where the role goes: the API (replica forwarding) and the cluster (`docker info` Role line). */
  targets: { setRole(role: Role): void }[];
  logger: Logger;
  signal: AbortSignal;
  recoveryDelay?: number;
}

/** Throws before anything listens when the backend cannot elect a leader. */
export function checkElection(backend: DiscoveryBackend): void {
  if (typeof backend.elect !== 'function') throw new ConfigError(ERR_NO_ELECTION);
}

/** Campaign until `signal` aborts. Resolves then; never rejects (errors are logged and retried). */
export async function startReplication(o: ReplicationOptions): Promise<void> {
  checkElection(o.backend);
  const log = o.logger;
  let last: LeadershipState = { leader: undefined, isLeader: false };
  const apply = async (state: LeadershipState) => {
    if (state.isLeader && !last.isLeader) log.info('Leader Election: Cluster leadership acquired');
    if (!state.isLeader && last.isLeader) log.info('Leader Election: Cluster leadership lost');
    if (!state.isLeader && state.leader && state.leader !== last.leader) log.info(`New leader elected: ${state.leader}`);
    const changed = state.isLeader !== last.isLeader || state.leader !== last.leader;
    last = state;
    if (!changed) return;
    const role: Role = state.isLeader ? { role: 'primary' } : { role: 'replica', ...(state.leader ? { primary: state.leader } : {}) };
    for (const t of o.targets) t.setRole(role);
    // Failover taps (rescheduling) act only on the primary; the core isolates a failing tap.
    await o.core.failover({ kind: 'primary-changed', primary: state.isLeader ? o.addr : state.leader, self: o.addr, isPrimary: state.isLeader });
  };

  for (const t of o.targets) t.setRole({ role: 'replica' }); // no primary known until the first answer
  // Failover taps assume primary until told otherwise (a single manager is the primary): say so
  // before the first election answer, so no replica reschedules in its first moments.
  await o.core.failover({ kind: 'primary-changed', primary: undefined, self: o.addr, isPrimary: false });
  while (!o.signal.aborted) {
    try {
      for await (const state of o.backend.elect!({ addr: o.addr, ttl: o.ttl }, o.signal)) await apply(state);
    } catch (err) {
      if (o.signal.aborted) break;
      log.error(`Leader Election: ${(err as Error).message}`);
    }
    if (!o.signal.aborted) await sleep(o.recoveryDelay ?? RECOVERY_DELAY, o.signal);
  }
}
