import type { Logger } from 'pino';
import type { Core } from '../../core/core.ts';
import type { DiscoveryOptions } from '../../core/types.ts';

/** Resolve when `signal` aborts (a watch that has nothing more to say still ends on abort). */
export function waitForAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** The logger a backend writes to: the one in the options, else the core's, tagged with the plugin. */
export function backendLogger(core: Core, options: DiscoveryOptions, plugin: string): Logger {
  return (options.logger ?? core.logger).child({ plugin });
}
