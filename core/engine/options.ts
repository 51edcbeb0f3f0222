/** Options of the engine layer, with the legacy defaults (§12). */
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { RankPool } from '../pipeline/rank-pool.ts';
import { LEGACY_PENDING_TIMING, type PendingTiming } from './health.ts';

export interface ClusterOptions {
  /** `--engine-refresh-min-interval` in ms (legacy 30 s). */
  refreshMinInterval: number;
  /** `--engine-refresh-max-interval` in ms (legacy 60 s). */
  refreshMaxInterval: number;
  /** `--engine-failure-retry` (legacy 3). */
  failureRetry: number;
  /** `swarm.overcommit` (legacy 0.05). */
  overcommit: number;
  /** `swarm.createretry` (legacy 0). */
  createRetry: number;
  /** TLS for engine connections (manager cert/key, CA, rejectUnauthorized). */
  engineTls?: ConnectionOptions;
  logger?: Logger;
  /** Engine request timeout in ms (legacy 30 s). Streams (events, pulls) are not bound by it. */
  requestTimeout?: number;
  /** How often pending engines are looked at, ms (legacy 10 s). */
  pendingCheckInterval?: number;
  /** Pending re-validation delay `2^n × unit + base`, capped (legacy 1 s, 30 s, 4 h). */
  pendingRetry?: Partial<PendingTiming>;
  /** Spec (`/info`, `/version`) refresh period of healthy engines, ms (legacy 5 min). */
  specRefreshInterval?: number;
  /** Unit of the event-monitor restart delay `min(failures+1, 10)`, ms (legacy 1 s). */
  eventRestartUnit?: number;
  /** Manager role shown by `status()` until `setRole` changes it (default primary). */
  role?: 'primary' | 'replica';
  /** Worker pool for ranking large clusters; passed to `schedule` (the caller owns and closes it). */
  rankPool?: RankPool;
}

export interface ResolvedOptions {
  refreshMinInterval: number;
  refreshMaxInterval: number;
  failureRetry: number;
  overcommit: number;
  createRetry: number;
  engineTls?: ConnectionOptions;
  logger: Logger;
  requestTimeout: number;
  pendingCheckInterval: number;
  pendingRetry: PendingTiming;
  specRefreshInterval: number;
  eventRestartUnit: number;
  rankPool?: RankPool;
}

export const DEFAULT_CLUSTER_OPTIONS = {
  refreshMinInterval: 30_000,
  refreshMaxInterval: 60_000,
  failureRetry: 3,
  overcommit: 0.05,
  createRetry: 0,
} as const;

export function resolveOptions(options: Partial<ClusterOptions>): ResolvedOptions {
  const o = { ...DEFAULT_CLUSTER_OPTIONS, ...options };
  if (!(o.refreshMinInterval > 0)) throw new Error('min refresh interval should be a positive number');
  if (o.refreshMaxInterval < o.refreshMinInterval) throw new Error('max refresh interval cannot be less than min refresh interval');
  if (!(o.failureRetry > 0)) throw new Error('invalid failure retry count');
  return {
    refreshMinInterval: o.refreshMinInterval,
    refreshMaxInterval: o.refreshMaxInterval,
    failureRetry: o.failureRetry,
    overcommit: o.overcommit,
    createRetry: Math.max(0, o.createRetry),
    ...(o.engineTls ? { engineTls: o.engineTls } : {}),
    logger: o.logger ?? pino({ level: 'silent' }),
    requestTimeout: o.requestTimeout ?? 30_000,
    pendingCheckInterval: o.pendingCheckInterval ?? 10_000,
    pendingRetry: { ...LEGACY_PENDING_TIMING, ...(o.pendingRetry ?? {}) },
    specRefreshInterval: o.specRefreshInterval ?? 5 * 60_000,
    eventRestartUnit: o.eventRestartUnit ?? 1000,
    ...(o.rankPool ? { rankPool: o.rankPool } : {}),
  };
}
