import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Core } from './core.ts';
import { ConfigError } from './errors.ts';

/**
 * A plugin: a name and an `apply(core)` that taps hooks. `apply` is synchronous and does no I/O,
 * so a bad configuration fails before anything listens.
 */
export interface SwarmPlugin {
  /** `<kind>-<name>`, e.g. `filter-port`; also the tap name and the log field `plugin`. */
  readonly name: string;
  apply(core: Core): void;
}

/** A plugin factory: options in, plugin (or a preset: a list of plugins) out. */
export type PluginFactory<O = never> = (options?: O) => SwarmPlugin | SwarmPlugin[];

/**
 * Validate plugin options against a TypeBox schema, applying defaults.
 * The error names the plugin, so a config typo points at the right line.
 */
export function parseOptions<S extends TSchema>(plugin: string, schema: S, input: unknown): Static<S> {
  const withDefaults = Value.Default(schema, Value.Clone(input ?? {}));
  if (!Value.Check(schema, withDefaults)) {
    const first = Value.Errors(schema, withDefaults).First();
    const where = first?.path ? ` at ${first.path}` : '';
    throw new ConfigError(`plugin ${plugin}: invalid options${where}: ${first?.message ?? 'does not match its schema'}`);
  }
  return withDefaults as Static<S>;
}

/**
 * Node's longest timer delay (2^31−1 ms, 596h31m23.647s): a longer one fires after 1 ms instead,
 * with a TimeoutOverflowWarning. Durations that become timers are checked against it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Human form of a duration option (`20s`, `1m30s`, `500ms`, or milliseconds as a number). */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ConfigError(`invalid ${what}: ${value}`);
    return value;
  }
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text) * 1000; // bare number = seconds, as Go's flags never allow, but users type it
  const re = /(-?\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const n = Number(m[1]);
    const unit = m[2];
    const factor = unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1000 : unit === 'ms' ? 1 : unit === 'ns' ? 1e-6 : 1e-3;
    total += n * factor;
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== text.length) throw new ConfigError(`invalid ${what}: time: invalid duration "${text}"`);
  return total;
}
