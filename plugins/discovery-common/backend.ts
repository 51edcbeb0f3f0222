import type { Logger } from 'pino';
import type { Core } from '../../core/core.ts';
import { Type, type Static } from '@sinclair/typebox';
import type { DiscoveryBackend, DiscoveryOptions, DiscoveryUrl } from '../../core/types.ts';
import { ConfigError } from '../../core/errors.ts';
import { MAX_TIMER_MS, parseDuration, parseOptions, type SwarmPlugin } from '../../core/plugin.ts';

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

/** `heartbeat` and `ttl` as options of a discovery plugin: `etcd({ heartbeat: '20s', ttl: '60s' })`. */
export const TimingOptions = Type.Object({
  /** Polling period / watch back-off / re-registration period (Go duration or ms); default the `--heartbeat` flag's. */
  heartbeat: Type.Optional(Type.Union([Type.String(), Type.Number()])),
  /** Registration TTL (Go duration or ms); default the `--ttl` flag's. */
  ttl: Type.Optional(Type.Union([Type.String(), Type.Number()])),
}, { additionalProperties: false });
export type TimingOptions = Static<typeof TimingOptions>;

export interface Timing {
  heartbeat?: number;
  ttl?: number;
}

/** Parse and check a discovery plugin's `heartbeat`/`ttl` options; errors name the plugin. */
export function timingOptions(plugin: string, options: unknown): Timing {
  const o = parseOptions(plugin, TimingOptions, options);
  const ms = (value: string | number | undefined, what: string): number | undefined => {
    if (value === undefined) return undefined;
    let n: number;
    try {
      n = parseDuration(value, what);
    } catch (err) {
      throw new ConfigError(`plugin ${plugin}: ${(err as Error).message}`);
    }
    if (!(n > 0) || n > MAX_TIMER_MS) throw new ConfigError(`plugin ${plugin}: ${what} must be between 1ms and 596h31m23.647s`);
    return n;
  };
  const heartbeat = ms(o.heartbeat, 'heartbeat');
  if (heartbeat !== undefined && heartbeat < 1000) throw new ConfigError(`plugin ${plugin}: heartbeat should be at least one second`);
  const ttl = ms(o.ttl, 'ttl');
  return { ...(heartbeat !== undefined ? { heartbeat } : {}), ...(ttl !== undefined ? { ttl } : {}) };
}

/**
 * The options a backend runs with: the plugin's `heartbeat`/`ttl` replace the built-in defaults
 * only (`options.defaulted`); a flag or a config-section value wins over them.
 */
export function withTiming(plugin: string, options: DiscoveryOptions, t: Timing): DiscoveryOptions {
  const heartbeat = t.heartbeat !== undefined && options.defaulted?.heartbeat ? t.heartbeat : options.heartbeat;
  const ttl = t.ttl !== undefined && options.defaulted?.ttl ? t.ttl : options.ttl;
  if (heartbeat === options.heartbeat && ttl === options.ttl) return options;
  if (ttl > 0 && ttl <= heartbeat) throw new ConfigError(`plugin ${plugin}: --ttl must be strictly superior to the heartbeat value`);
  return { ...options, heartbeat, ttl };
}

/** `backend`, telling the period it runs with (`swarm join` re-registers at it). */
function timed(backend: DiscoveryBackend, options: DiscoveryOptions): DiscoveryBackend {
  return Object.assign(backend, { heartbeat: options.heartbeat });
}

/**
 * The plugin of a discovery backend that takes `heartbeat`/`ttl` options (etcd, consul, zk, file):
 * the options are checked when the factory is called (a config error names the plugin), and each
 * backend is created with the timing it runs with (`withTiming`) and tells its period.
 */
export function timedDiscoveryPlugin(
  name: string,
  scheme: string,
  options: Partial<TimingOptions> | undefined,
  create: (url: DiscoveryUrl, options: DiscoveryOptions, logger: Logger) => DiscoveryBackend,
): SwarmPlugin {
  const timing = timingOptions(name, options);
  return {
    name,
    apply(core) {
      core.hooks.discover.for(scheme).tapPromise(name, async (url, given) => {
        const opts = withTiming(name, given, timing);
        return timed(create(url, opts, backendLogger(core, opts, name)), opts);
      });
    },
  };
}
