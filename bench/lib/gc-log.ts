/**
 * Garbage-collection pauses of this thread's V8 heap, on the same clock as the pinger thread's
 * send times (epoch ms: `performance.timeOrigin + performance.now()` in each thread), so a slow
 * `/_ping` can be matched with the pauses it waited through. The report uses it to say how much
 * of the tail latency the manager's own collections explain, measured per run instead of asserted.
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A span of time on the epoch-ms clock. */
export interface Span {
  start: number;
  ms: number;
}

let collect: (() => void) | undefined;

/**
 * A full collection of this thread's heap, now: what a measurement should not inherit from the
 * setup before it (V8's `gc`, reached without `--expose-gc` on the command line, which piscina
 * would pass on to its workers, and workers refuse V8 flags).
 */
export function collectGarbage(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}

/** `performance.now()` of this thread as epoch ms (comparable across threads of one process). */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

export class GcLog {
  readonly #pauses: Span[] = [];
  readonly #observer = new PerformanceObserver((list) => this.#add(list.getEntries()));

  constructor() {
    this.#observer.observe({ entryTypes: ['gc'] });
  }

  /**
   * Pauses that started in [from, to). Node adds an entry one event-loop turn after its
   * collection: ask after `to` plus a turn.
   */
  between(from: number, to: number): Span[] {
    this.#add(this.#observer.takeRecords());
    return this.#pauses.filter((p) => p.start >= from && p.start < to);
  }

  stop(): void {
    this.#observer.disconnect();
  }

  #add(entries: readonly PerformanceEntry[]): void {
    for (const e of entries) this.#pauses.push({ start: performance.timeOrigin + e.startTime, ms: e.duration });
  }
}

/**
 * Of the requests at or above `threshold` ms, the share that overlapped at least one pause;
 * NaN when no request reached the threshold.
 */
export function slowOverlapShare(requests: readonly Span[], pauses: readonly Span[], threshold: number): number {
  const sorted = [...pauses].sort((a, b) => a.start - b.start);
  let slow = 0;
  let hit = 0;
  for (const r of requests) {
    if (!(r.ms >= threshold)) continue;
    slow++;
    const end = r.start + r.ms;
    for (const p of sorted) {
      if (p.start >= end) break;
      if (p.start + p.ms > r.start) {
        hit++;
        break;
      }
    }
  }
  return slow === 0 ? NaN : hit / slow;
}
