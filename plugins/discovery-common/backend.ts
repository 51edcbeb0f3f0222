import type { Logger } from 'pino';
import type { Core } from '../../core/core.ts';
import type { DiscoveryOptions } from '../../core/types.ts';
import { ConfigError } from '../../core/errors.ts';

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

/**
 * For the discovery plugins that take no options (`etcd()`, `file()`, …): options given anyway
 * (`["etcd", { "heartbeat": "20s" }]`) are a config error, not silently ignored — heartbeat, TTL
 * and `--discovery-opt` come from the flags or the config's `manage`/`join`/`list` sections.
 */
export function noOptions(plugin: string, options: unknown): void {
  if (options === undefined || options === null) return;
  if (typeof options === 'object' && !Array.isArray(options) && Object.keys(options).length === 0) return;
  throw new ConfigError(`plugin ${plugin}: takes no options (got ${JSON.stringify(options)}); heartbeat, ttl and discovery options come from the flags or the manage/join/list section of the config`);
}
