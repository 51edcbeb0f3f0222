// Timing helpers for backends: abortable sleep, bounded exponential back-off, call deadlines.

/** Resolve after `ms`, or at once (without rejecting) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => { clearTimeout(t); signal?.removeEventListener('abort', done); resolve(); };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Doubling delay from `min` up to `max`; `reset()` after a success. */
export class Backoff {
  private current: number;
  constructor(private readonly min: number, private readonly max: number) {
    this.current = min;
  }
  next(): number {
    const d = this.current;
    this.current = Math.min(this.max, this.current * 2);
    return d;
  }
  reset(): void {
    this.current = this.min;
  }
}

/** Reject with `message` if `p` does not settle within `ms` (the store hangs rather than refuses). */
export async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { t = setTimeout(() => reject(new Error(message)), ms); });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

/**
 * Per-call deadline derived from the heartbeat: long enough for a slow store on a loaded machine
 * (1 s proved too short: gRPC name resolution alone took over a second on 2 busy cores), short
 * enough to notice an outage.
 */
export function callTimeout(heartbeat: number): number {
  return Math.max(3000, Math.min(heartbeat, 10_000));
}

/**
 * Deadline for leader-election calls: a leader must learn that it cannot renew before its lock
 * expires, so no call may take longer than half the ttl (nor less than a second).
 */
export function electionTimeout(ttl: number, heartbeat: number): number {
  return Math.max(1000, Math.min(callTimeout(heartbeat), Math.floor(ttl / 2)));
}

/** One-line text of an error (first line of its message), for log lines and rejections. */
export function errText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // grpc-js appends an empty "Resolution note: " to connection errors (etcd3 client).
  return msg.split('\n')[0].replace(/\s*Resolution note:\s*$/, '').trim();
}
