/**
 * The swarm config file: its type (`defineConfig` gives editor completion), where it is looked
 * for (cosmiconfig, module name `swarm`), and how it is checked.
 *
 * Precedence, lowest first: built-in defaults < config file < environment variables < flags.
 * The file's settings are validated with the same messages as the flags (config/flags.ts).
 */
import { dirname, resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { cosmiconfig, type CosmiconfigResult } from 'cosmiconfig';
import { TypeScriptLoader } from 'cosmiconfig-typescript-loader';
import { ConfigError } from '../core/errors.ts';
import type { SwarmPlugin } from '../core/plugin.ts';
import { addDiscoveryPlugin, applyPluginFlags, type PluginOverrides } from './flags.ts';
import { resolvePlugins, type PluginEntry, type Registry, type ResolveContext } from './resolve-plugins.ts';

export type { PluginEntry, PluginSpec } from './resolve-plugins.ts';
export { resolvePlugins };
export type { PluginOverrides };
export { SWARM_VERSION } from './version.ts';

/** A duration in Go syntax (`20s`, `1m30s`, `500ms`) or a number of milliseconds. */
const Duration = Type.Union([Type.String(), Type.Number()]);
const StringMap = Type.Record(Type.String(), Type.String());

const TlsSchema = Type.Object({
  enabled: Type.Optional(Type.Boolean()),
  verify: Type.Optional(Type.Boolean()),
  ca: Type.Optional(Type.String()),
  cert: Type.Optional(Type.String()),
  key: Type.Optional(Type.String()),
}, { additionalProperties: false });

const EngineTlsSchema = Type.Union([Type.Literal(false), TlsSchema]);

const ManageSchema = Type.Object({
  host: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
  strategy: Type.Optional(Type.String()),
  filters: Type.Optional(Type.Array(Type.String())),
  tls: Type.Optional(TlsSchema),
  engineTls: Type.Optional(EngineTlsSchema),
  engineTimeout: Type.Optional(Duration),
  apiBodyLimit: Type.Optional(Type.Union([Type.String(), Type.Integer()])),
  engineRefreshMinInterval: Type.Optional(Duration),
  engineRefreshMaxInterval: Type.Optional(Duration),
  engineFailureRetry: Type.Optional(Type.Integer()),
  heartbeat: Type.Optional(Duration),
  clusterDriver: Type.Optional(Type.String()),
  clusterOpts: Type.Optional(StringMap),
  replication: Type.Optional(Type.Boolean()),
  replicationTtl: Type.Optional(Duration),
  advertise: Type.Optional(Type.String()),
  cors: Type.Optional(Type.Boolean()),
  refreshOnNodeFilter: Type.Optional(Type.Boolean()),
  containerNameRefreshFilter: Type.Optional(Type.String()),
}, { additionalProperties: false });

const JoinSchema = Type.Object({
  advertise: Type.Optional(Type.String()),
  heartbeat: Type.Optional(Duration),
  ttl: Type.Optional(Duration),
  delay: Type.Optional(Duration),
}, { additionalProperties: false });

const ListSchema = Type.Object({
  timeout: Type.Optional(Duration),
}, { additionalProperties: false });

/** Everything but `plugins`, which holds functions and objects and is checked by the resolver. */
const ConfigSchema = Type.Object({
  manage: Type.Optional(ManageSchema),
  join: Type.Optional(JoinSchema),
  list: Type.Optional(ListSchema),
  discovery: Type.Optional(Type.String()),
  discoveryOpts: Type.Optional(StringMap),
  tokenService: Type.Optional(Type.String()),
  logLevel: Type.Optional(Type.String()),
  debug: Type.Optional(Type.Boolean()),
  experimental: Type.Optional(Type.Boolean()),
  plugins: Type.Optional(Type.Unknown()),
}, { additionalProperties: false });

type DurationValue = string | number;

export interface TlsConfig {
  /** `--tls`: serve TLS; no client certificate required, engines not verified. Default false. */
  enabled?: boolean;
  /** `--tlsverify`: TLS, require and verify client certificates, verify engines with `ca`. Default false. */
  verify?: boolean;
  /** `--tlscacert`: CA file (path relative to the config file). */
  ca?: string;
  /** `--tlscert`: certificate file, used as server AND client certificate. */
  cert?: string;
  /** `--tlskey`: private key file. */
  key?: string;
}

/** TLS towards the engines (`--engine-tls*`); `cert`/`key` are the manager's client certificate there. */
export interface EngineTlsConfig {
  /** `--engine-tls`: engines are reached over TLS, their certificates not verified. */
  enabled?: boolean;
  /** `--engine-tlsverify`: TLS, engines verified with `ca`. */
  verify?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

export interface ManageConfig {
  /** `-H`: listen addresses: `tcp://ip:port`, `unix:///path`, `ip:port`, `:port`. Default `tcp://127.0.0.1:2375`. */
  host?: string | string[];
  /** `--strategy`: replaces the strategy plugin of `plugins` (spread | binpack | random). */
  strategy?: 'spread' | 'binpack' | 'binpacking' | 'random' | (string & {});
  /** `--filter`: replaces every filter plugin of `plugins`, in this order. */
  filters?: string[];
  tls?: TlsConfig;
  /** Engine-side TLS; `false` = plain engines (`--no-engine-tls`); absent = the manager's `tls` (legacy). */
  engineTls?: EngineTlsConfig | false;
  /** `--engine-timeout`: engine request timeout, default `30s`. */
  engineTimeout?: DurationValue;
  /** `--api-body-limit`: largest request body read by the API, bytes or `10mb`; default `10mb`. */
  apiBodyLimit?: string | number;
  /** `--engine-refresh-min-interval`, default `30s`. */
  engineRefreshMinInterval?: DurationValue;
  /** `--engine-refresh-max-interval`, default `60s`. */
  engineRefreshMaxInterval?: DurationValue;
  /** `--engine-failure-retry`: connection failures before a node is Unhealthy, default 3. */
  engineFailureRetry?: number;
  /** `--heartbeat`: polling period of file/token discovery, back-off of a broken KV watch; default `60s`, at least 1s. */
  heartbeat?: DurationValue;
  /** `--cluster-driver`: only `swarm`. */
  clusterDriver?: 'swarm' | (string & {});
  /** `--cluster-opt`: `swarm.overcommit` (default 0.05), `swarm.createretry` (default 0). */
  clusterOpts?: Record<string, string>;
  /** `--replication`: leader election between managers through the KV discovery. Default false. */
  replication?: boolean;
  /** `--replication-ttl`: leader lock TTL, default `20s`. */
  replicationTtl?: DurationValue;
  /** `--advertise`: this manager's reachable `host:port` (required with replication). */
  advertise?: string;
  /** `--api-enable-cors`: CORS headers on every response. Default false. */
  cors?: boolean;
  /** `--refresh-on-node-filter`: `docker ps --filter node=X` refreshes X's containers first. */
  refreshOnNodeFilter?: boolean;
  /** `--container-name-refresh-filter`: a `docker ps` name filter equal to this refreshes every engine first. */
  containerNameRefreshFilter?: string;
}

export interface JoinConfig {
  /** `--advertise`: the ENGINE's `host:port` to register. */
  advertise?: string;
  /** `--heartbeat`: re-registration period, default `60s`. */
  heartbeat?: DurationValue;
  /** `--ttl`: registration TTL, default `180s`, must exceed the heartbeat. */
  ttl?: DurationValue;
  /** `--delay`: random delay in [0, delay) before the first registration, default `0s`. */
  delay?: DurationValue;
}

export interface ListConfig {
  /** `--timeout`, default `10s`. */
  timeout?: DurationValue;
}

export interface SwarmConfig {
  manage?: ManageConfig;
  join?: JoinConfig;
  list?: ListConfig;
  /** Discovery URL used when none is given on the command line or in `$SWARM_DISCOVERY`. */
  discovery?: string;
  /** `--discovery-opt` pairs (`kv.path`, `kv.cacertfile`, `kv.certfile`, `kv.keyfile`). */
  discoveryOpts?: Record<string, string>;
  /** Base URL of the token service used by `swarm create` (`--discovery-url`). */
  tokenService?: string;
  /** `--log-level`: debug, info, warn, error, fatal, panic. Default info. */
  logLevel?: string;
  /** `--debug`. */
  debug?: boolean;
  /** `--experimental`. */
  experimental?: boolean;
  /**
   * The plugins, in order: filters run in this order, exactly one strategy (default `spread`),
   * discovery backends. Falsy entries are skipped; arrays (presets) are flattened.
   * No filter at all → the legacy list health, port, containerslots, dependency, affinity, constraint, whitelist.
   */
  plugins?: PluginEntry[];
}

/** Identity function that types a config for editor completion. */
export function defineConfig(config: SwarmConfig): SwarmConfig {
  return config;
}

export interface LoadedConfig {
  config: SwarmConfig;
  /** Absolute path of the file, undefined when none was found. */
  filepath: string | undefined;
  /** Directory plugin names and relative paths are resolved from. */
  baseDir: string;
}

export const SEARCH_PLACES = [
  'package.json',
  '.swarmrc',
  '.swarmrc.json',
  '.swarmrc.yaml',
  '.swarmrc.yml',
  'swarm.config.ts',
  'swarm.config.mjs',
  'swarm.config.js',
  'swarm.config.json',
];

function explorer() {
  return cosmiconfig('swarm', {
    searchPlaces: SEARCH_PLACES,
    // Up to the nearest package.json, so a subdirectory of a project still finds its config.
    searchStrategy: 'project',
    // cosmiconfig's own .ts loader needs the TypeScript JS API, which TypeScript 7 no longer has.
    // tryNative: under tsx a native import() works and shares module instances (errors, classes)
    // with the running CLI; without tsx, jiti compiles the file.
    loaders: { '.ts': loadTypeScript },
    cache: false,
  });
}

const nativeTs = TypeScriptLoader({ tryNative: true });
const compiledTs = TypeScriptLoader({ tryNative: false });

/**
 * A native import() fails on a `.ts` config written as ESM (`export default`, as documented) in a
 * project whose package.json has no `"type": "module"` (npm's default): tsx takes the file for
 * CommonJS and Node refuses the require() of ESM ("Cannot require() ES Module … in a cycle").
 * Only such module-format failures are retried with jiti compiling the file itself; an error the
 * config threw is not (its code would run twice).
 */
const MODULE_FORMAT = /Cannot require\(\) ES Module|require\(\) of ES Module|ERR_REQUIRE_|Cannot use import statement outside a module|Unknown file extension/;

async function loadTypeScript(path: string, content: string): Promise<unknown> {
  try {
    return await nativeTs(path, content);
  } catch (err) {
    if (!MODULE_FORMAT.test((err as Error)?.message ?? '')) throw err;
    return compiledTs(path, content);
  }
}

/**
 * Find and read the config: `configPath` when given (`--config`), else search from `cwd`.
 * No config file is fine: everything has a default.
 */
export async function loadConfig(options: { configPath?: string; cwd?: string } = {}): Promise<LoadedConfig> {
  const cwd = resolve(options.cwd ?? process.cwd());
  let result: CosmiconfigResult;
  try {
    result = options.configPath
      ? await explorer().load(resolve(cwd, options.configPath))
      : await explorer().search(cwd);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { filepath?: unknown };
    // cosmiconfig names the file it failed on (a search otherwise only knows the directory).
    const where = typeof e.filepath === 'string' ? e.filepath : options.configPath ? resolve(cwd, options.configPath) : cwd;
    const why = e.code === 'ENOENT' ? 'no such file' : loadFailure(e.message ?? String(err));
    throw new ConfigError(`cannot load config file ${where}: ${why}`, { cause: err });
  }
  if (!result || result.isEmpty) {
    const filepath = result?.filepath;
    return { config: {}, filepath, baseDir: filepath ? dirname(filepath) : cwd };
  }
  return { config: checkConfig(result.config, result.filepath), filepath: result.filepath, baseDir: dirname(result.filepath) };
}

/**
 * The reason in a loader's multi-line message, on one line. The loaders put a header first
 * (`TypeScriptLoader failed to compile TypeScript:`, `Transform failed with 1 error:`, `JSON Error
 * in <file>:`) and the reason after it — an error the config file threw, a syntax error with its
 * position — then code frames (`> 1 | …`, `    |   ^`), which are dropped. The frames are coloured
 * whenever picocolors thinks a terminal may show them (a `CI` variable is enough), so colour
 * codes go first.
 */
export function loadFailure(message: string): string {
  const text = stripVTControlCharacters(message);
  const header = /^(TypeScriptLoader failed to compile TypeScript:|Transform failed with \d+ errors?:|JSON Error in .*:|YAML Error in .*:)$/;
  const frame = /^(>?\s*\d+\s*\||\|)/;
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !header.test(l) && !frame.test(l));
  // A config that throws something other than an Error (`throw 'x'`) trips cosmiconfig itself.
  const thrown = /^Cannot create property 'filepath' on \w+ '(.*)'$/.exec(lines[0] ?? '');
  if (thrown) return `the config file threw ${JSON.stringify(thrown[1])}`;
  const unique = lines.filter((l, i) => lines.indexOf(l) === i);
  return unique.join('; ') || text.trim() || 'unknown error';
}

/** Check the shape of a config (not the plugins, see resolve-plugins.ts); errors name the file. */
export function checkConfig(raw: unknown, filepath?: string): SwarmConfig {
  const note = filepath ? ` (config: ${filepath})` : '';
  const value = (raw as { default?: unknown } | null)?.default !== undefined && Object.keys(raw as object).length === 1
    ? (raw as { default: unknown }).default // a CommonJS-style `{ default: config }` from some loaders
    : raw;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`invalid config${note}: expected an object`);
  }
  if (!Value.Check(ConfigSchema, value)) {
    const first = Value.Errors(ConfigSchema, value).First();
    const where = first?.path ? ` at ${first.path}` : '';
    throw new ConfigError(`invalid config${note}${where}: ${first?.message ?? 'does not match the schema'}`);
  }
  const config = value as Static<typeof ConfigSchema> & SwarmConfig;
  if (config.plugins !== undefined && !Array.isArray(config.plugins)) {
    throw new ConfigError(`invalid config${note} at /plugins: expected an array`);
  }
  return config;
}

/**
 * The final plugin list of a loaded config: its `plugins` resolved, then the legacy flags
 * (`overrides`) and defaults applied (see config/flags.ts).
 */
export async function loadPlugins(loaded: LoadedConfig, overrides: PluginOverrides = {}, options: { builtins?: Registry; kinds?: Readonly<Record<string, string>> } = {}): Promise<SwarmPlugin[]> {
  const ctx: ResolveContext = { baseDir: loaded.baseDir, ...(loaded.filepath ? { configPath: loaded.filepath } : {}), ...options };
  return applyPluginFlags(await resolvePlugins(loaded.config.plugins, ctx), overrides, ctx);
}

/**
 * Only the discovery plugins of a config, plus the built-in backend of `url`'s scheme: what
 * `join` and `list` need, without loading the scheduler's plugins.
 */
export async function loadDiscoveryPlugins(loaded: LoadedConfig, url: string, options: { builtins?: Registry; kinds?: Readonly<Record<string, string>> } = {}): Promise<SwarmPlugin[]> {
  const ctx: ResolveContext = { baseDir: loaded.baseDir, ...(loaded.filepath ? { configPath: loaded.filepath } : {}), ...options };
  const configured = (await resolvePlugins(loaded.config.plugins, ctx)).filter((p) => p.name.startsWith('discovery-'));
  return addDiscoveryPlugin(configured, url, ctx);
}
