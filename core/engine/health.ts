/**
 * Pure rules of the legacy engine health state machine (cluster/engine.go): which errors count,
 * the health indicator, refresh and re-validation delays, overcommitted totals and CPU conversion.
 * Kept free of I/O so they can be unit-tested with plain numbers.
 */
import type { NodeState } from '../types.ts';

/** Socket/DNS error codes meaning "the engine could not be reached" (legacy `IsConnectionError`). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ENOTFOUND',
  'EAI_AGAIN', 'ECONNABORTED', 'EADDRNOTAVAIL', 'ENOTCONN', 'ESOCKETTIMEDOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET',
]);

const CONNECTION_TEXT =
  /connection refused|cannot connect to the docker daemon|no route to host|connection failed|socket hang up|timed? ?out|connection reset|network is unreachable/i;

/**
 * True for connection-class errors only. An HTTP answer from the engine (any status) proves it is
 * reachable, so errors carrying a status code never count toward health.
 */
export function isConnectionError(err: unknown): boolean {
  if (err === null || err === undefined) return false;
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown; cause?: unknown };
  if (typeof e.statusCode === 'number') return false;
  if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  if (typeof e.message === 'string' && CONNECTION_TEXT.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== err ? isConnectionError(e.cause) : false;
}

/** 0 if not healthy or failures ≥ retry; else `100 − failures×100/retry` (integer division). */
export function healthIndicator(state: NodeState, failures: number, failureRetry: number): number {
  if (state !== 'healthy' || failures >= failureRetry) return 0;
  return 100 - Math.trunc((failures * 100) / failureRetry);
}

/** Back-off cap of the refresh loop (legacy constant). */
export const MAX_BACKOFF = 1000;

/**
 * Sleep before the next refresh of a validated engine:
 * `min × (1 + backoff) + random[0, max − min)`, `backoff = clamp(failures − failureRetry, 0, 1000)`.
 * `random` returns a number in [0, 1).
 */
export function refreshDelay(
  min: number, max: number, failures: number, failureRetry: number, random: () => number = Math.random,
): number {
  const backoff = Math.min(Math.max(failures - failureRetry, 0), MAX_BACKOFF);
  const jitter = max > min ? Math.floor(random() * (max - min)) : 0;
  return min * (1 + backoff) + jitter;
}

export interface PendingTiming {
  /** Fixed part of the delay (legacy 30 s). */
  base: number;
  /** Unit of the exponential part (legacy 1 s). */
  unit: number;
  /** Upper bound (legacy 4 h). */
  cap: number;
}

export const LEGACY_PENDING_TIMING: PendingTiming = { base: 30_000, unit: 1000, cap: 4 * 3600_000 };

/** Time a pending engine waits after its last attempt before it is validated again: `2^n s + 30 s`, capped. */
export function pendingRetryDelay(failures: number, timing: PendingTiming = LEGACY_PENDING_TIMING): number {
  // 2^n overflows to Infinity for large n; the cap applies either way.
  return Math.min(2 ** Math.max(failures, 0) * timing.unit + timing.base, timing.cap);
}

/** `x + x×pct/100` with `pct = int(overcommit×100)`, integer arithmetic as in Go. */
export function withOvercommit(x: number, overcommit: number): number {
  const pct = Math.trunc(overcommit * 100);
  return x + Math.trunc((x * pct) / 100);
}

/** Engine CPU shares for a reservation of `cpus` CPUs on an engine with `ncpu` CPUs. */
export function cpusToShares(cpus: number, ncpu: number): number {
  return Math.ceil((cpus * 1024) / ncpu);
}

/** CPUs reserved by a container with engine `shares` on an engine with `ncpu` CPUs (integer). */
export function sharesToCpus(shares: number, ncpu: number): number {
  if (!shares || !ncpu) return 0;
  return Math.trunc((shares * ncpu) / 1024);
}

/** Clock-skew threshold: below it engine timestamps are taken as they are. */
export const CLOCK_SKEW_THRESHOLD = 2000;

/** Delta (ms) to add to engine timestamps, or 0 when the skew is under the threshold. */
export function clockSkew(managerNow: number, engineTime: number): number {
  if (!Number.isFinite(engineTime)) return 0;
  const delta = managerNow - engineTime;
  return Math.abs(delta) >= CLOCK_SKEW_THRESHOLD ? delta : 0;
}
