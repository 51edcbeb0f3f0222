/** Small helpers shared by the commands. */
import { setTimeout as delay } from 'node:timers/promises';

/** Go's time.Duration String(): `1m0s`, `20s`, `1.5s`, `500ms`, `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${trim(rest)}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = `${trim(rest / 1000)}s`;
  if (h > 0) return `${sign}${h}h${m}m${s}`;
  if (m > 0) return `${sign}${m}m${s}`;
  return `${sign}${s}`;
}

function trim(n: number): string {
  return String(Number(n.toFixed(9)));
}

/** Sleep that ends early (without throwing) when `signal` aborts. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    if (!signal.aborted) throw err; // only an abort is expected here
  }
}

/** Run `stop` once on the first SIGINT or SIGTERM. */
export function onShutdown(stop: (signal: NodeJS.Signals) => void | Promise<void>): () => void {
  let called = false;
  const handler = (sig: NodeJS.Signals) => {
    if (called) return;
    called = true;
    void stop(sig);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
