/**
 * The refresh loop of a validated engine (legacy `refreshLoop`): sleep
 * `min × (1 + backoff) + jitter`, then re-read specs when unhealthy or stale, then containers
 * (inspecting only new or restarting ones), volumes, networks and images.
 */
import type { EngineImpl } from './engine.ts';
import { refreshDelay } from './health.ts';
import type { ResolvedOptions } from './options.ts';

export class RefreshLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(private readonly engine: EngineImpl, private readonly options: ResolvedOptions) {}

  start(): void {
    this.engine.onRecover = () => this.wake();
    this.schedule();
  }

  /** Run the next tick now (an unhealthy engine came back). */
  wake(): void {
    if (this.stopped || this.running) return;
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.engine.onRecover = undefined;
  }

  private schedule(delay?: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const { refreshMinInterval: min, refreshMaxInterval: max, failureRetry } = this.options;
    const wait = delay ?? refreshDelay(min, max, this.engine.failures, failureRetry);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = true;
      this.tick().finally(() => {
        this.running = false;
        this.schedule();
      });
    }, wait);
    this.timer.unref();
  }

  /** One refresh; errors are recorded by the engine (health) and otherwise only logged. */
  async tick(): Promise<void> {
    const engine = this.engine;
    if (engine.isClosed || !engine.isValidated) return;
    if (engine.state === 'unhealthy' || Date.now() - engine.lastSpecs >= this.options.specRefreshInterval) {
      try {
        await engine.refreshSpecs();
      } catch {
        return; // legacy: a failed spec refresh skips the rest of the tick
      }
    }
    if (!engine.isValidated) return; // an ID change sent it back to pending
    try {
      await engine.listContainers(false);
    } catch {
      return; // unreachable: the other calls would fail the same way
    }
    // One after the other, as the original: in parallel they took three connections per engine per
    // tick, and all but the one kept idle were closed again (at 1,000 engines, two TCP connects and
    // closes per engine per cycle). Errors are recorded by the engine (health), as before.
    for (const refresh of [() => engine.refreshVolumes(), () => engine.refreshNetworks(), () => engine.refreshImages()]) {
      if (engine.isClosed) return;
      await refresh().catch(() => {});
    }
    engine.startEvents(); // no-op when the monitor runs; restarts it after a long outage
  }
}
