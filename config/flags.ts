/**
 * Legacy flags: their defaults, their exact validation messages, and how they map onto the
 * config. Values given on the command line (or through their environment variable) override
 * the config file; the file overrides the defaults. Everything is validated here, once, so the
 * config file gets the same messages as the flags, before anything listens.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../core/errors.ts';
import { parseDiscoveryUrl } from '../core/discovery-url.ts';
import { MAX_TIMER_MS, parseDuration, type SwarmPlugin } from '../core/plugin.ts';
import type { EngineTlsConfig, LoadedConfig } from './index.ts';
import { configNote, kindsOf, loadFactory, instantiate, registryOf, type ResolveContext } from './resolve-plugins.ts';

/** The legacy default strategy (first registered). */
export const DEFAULT_STRATEGY = 'spread';
/** The legacy default filter list, in its run order. */
export const DEFAULT_FILTERS = ['health', 'port', 'containerslots', 'dependency', 'affinity', 'constraint', 'whitelist'] as const;
export const STRATEGIES = ['spread', 'binpack', 'random'] as const;
/** Rescheduling on node failure was always on in the original; it is a plugin here, on unless another failover plugin is configured. */
export const DEFAULT_FAILOVER = 'reschedule';
const STRATEGY_ALIASES: Readonly<Record<string, string>> = { binpacking: 'binpack' };
/** Discovery URL scheme → built-in plugin short name, where they differ. */
const SCHEME_PLUGIN: Readonly<Record<string, string>> = { zk: 'zookeeper' };
/** Backends that can elect a leader (legacy: libkv stores). */
export const KV_SCHEMES = ['consul', 'etcd', 'zk'] as const;

export const DEFAULTS = Object.freeze({
  host: 'tcp://127.0.0.1:2375',
  heartbeat: '60s',
  replicationTtl: '20s',
  engineRefreshMinInterval: '30s',
  engineRefreshMaxInterval: '60s',
  engineFailureRetry: 3,
  engineRefreshRetry: 3,
  clusterDriver: 'swarm',
  overcommit: 0.05,
  createRetry: 0,
  kvPath: 'docker/swarm/nodes',
  joinTtl: '180s',
  joinDelay: '0s',
  listTimeout: '10s',
  logLevel: 'info',
  engineTimeout: '30s',
  apiBodyLimit: '10mb',
});

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal', 'panic'] as const;
export type PinoLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

function fail(message: string): never {
  throw new ConfigError(message);
}

// ---------------------------------------------------------------- plugin list ----

export interface PluginOverrides {
  /** `--strategy` (or `manage.strategy`): replaces the strategy. */
  strategy?: string;
  /** `--filter` repeated (or `manage.filters`): replaces every filter, in this order. */
  filters?: readonly string[];
  /** The discovery URL: its scheme's built-in backend is added unless the list already has it. */
  discovery?: string;
}

/** The kind of a plugin is the prefix of its name (`filter-port` is a filter). */
const isKind = (p: SwarmPlugin, kind: 'strategy' | 'filter' | 'discovery' | 'failover'): boolean => p.name.startsWith(`${kind}-`);

/** Resolve a built-in by short name and check it is of the expected kind. */
async function builtinOfKind(name: string, kind: 'strategy' | 'filter', ctx: ResolveContext): Promise<SwarmPlugin[] | undefined> {
  if (!Object.hasOwn(registryOf(ctx), name)) return undefined;
  const plugins = instantiate(name, await loadFactory(name, ctx), undefined, ctx);
  return plugins.every((p) => isKind(p, kind)) ? plugins : undefined;
}

/**
 * Apply the legacy flags to an already resolved plugin list, then the legacy defaults:
 * no strategy → spread, no filter → the default filter list. Checks the one-strategy rule.
 */
export async function applyPluginFlags(plugins: readonly SwarmPlugin[], overrides: PluginOverrides, ctx: ResolveContext): Promise<SwarmPlugin[]> {
  let list = [...plugins];
  if (overrides.strategy !== undefined) {
    const name = STRATEGY_ALIASES[overrides.strategy] ?? overrides.strategy;
    const strategy = await builtinOfKind(name, 'strategy', ctx);
    if (!strategy) fail(`strategy not supported: "${overrides.strategy}"`);
    list = [...list.filter((p) => !isKind(p, 'strategy')), ...strategy];
  }
  if (overrides.filters !== undefined && overrides.filters.length > 0) {
    const filters: SwarmPlugin[] = [];
    for (const name of overrides.filters) {
      const f = await builtinOfKind(name, 'filter', ctx);
      if (!f) fail(`filter not supported: "${name}"`);
      filters.push(...f);
    }
    list = [...list.filter((p) => !isKind(p, 'filter')), ...filters];
  }
  if (overrides.discovery) list = await addDiscoveryPlugin(list, overrides.discovery, ctx);
  if (!list.some((p) => isKind(p, 'strategy'))) {
    list.push(...instantiate(DEFAULT_STRATEGY, await loadFactory(DEFAULT_STRATEGY, ctx), undefined, ctx));
  }
  if (!list.some((p) => isKind(p, 'filter'))) {
    for (const name of DEFAULT_FILTERS) list.push(...instantiate(name, await loadFactory(name, ctx), undefined, ctx));
  }
  if (Object.hasOwn(registryOf(ctx), DEFAULT_FAILOVER) && !list.some((p) => isKind(p, 'failover'))) {
    list.push(...instantiate(DEFAULT_FAILOVER, await loadFactory(DEFAULT_FAILOVER, ctx), undefined, ctx));
  }
  const strategies = list.filter((p) => isKind(p, 'strategy'));
  if (strategies.length > 1) {
    fail(`exactly one strategy may be configured, found ${strategies.length}: ${strategies.map((p) => p.name).join(', ')}${configNote(ctx)}`);
  }
  const seen = new Set<string>();
  for (const p of list) {
    if (seen.has(p.name)) fail(`plugin ${p.name} is configured twice${configNote(ctx)}`);
    seen.add(p.name);
  }
  return list;
}

/**
 * Add the built-in backend of the URL's scheme unless a plugin of that name is configured (it
 * keeps its options). A third-party backend for the same scheme, configured earlier, taps first
 * and wins. An unknown scheme is reported by core.discovery(), which lists the known ones.
 */
export async function addDiscoveryPlugin(list: readonly SwarmPlugin[], url: string, ctx: ResolveContext): Promise<SwarmPlugin[]> {
  const scheme = parseDiscoveryUrl(url).scheme;
  const short = SCHEME_PLUGIN[scheme] ?? scheme;
  if (list.some((p) => p.name === `discovery-${short}`)) return [...list];
  const registry = registryOf(ctx);
  if (Object.hasOwn(registry, short)) {
    const own = instantiate(short, await loadFactory(short, ctx), undefined, ctx);
    if (own.every((p) => isKind(p, 'discovery'))) return [...list, ...own];
  }
  // No backend of that name: bring every built-in backend, so that the core's "unknown discovery
  // scheme" error lists them all (a configured third-party backend may still claim the scheme).
  const out = [...list];
  const kinds = kindsOf(ctx);
  for (const name of Object.keys(registry).filter((n) => kinds[n] === 'discovery')) {
    for (const p of instantiate(name, await loadFactory(name, ctx), undefined, ctx)) {
      if (!out.some((q) => q.name === p.name)) out.push(p);
    }
  }
  return out;
}

// ---------------------------------------------------------------- values ----

/**
 * A duration flag: `invalid --flag: time: invalid duration "x"` on a parse error, and a one-line
 * error above Node's longest timer, MAX_TIMER_MS (**deviation**: Go accepted up to ~2,562,047h;
 * here `--heartbeat 1000h` made file discovery poll every millisecond and `join` re-register in a
 * busy loop).
 */
export function durationFlag(value: string | number, flag: string): number {
  const ms = parseDuration(value, flag);
  if (ms > MAX_TIMER_MS) fail(`invalid ${flag}: ${JSON.stringify(String(value))} is too long (at most 596h31m23.647s)`);
  return ms;
}

/** Go's strconv.Atoi for an int flag. */
export function intFlag(value: string | number, flag: string): number {
  if (typeof value === 'number') return value;
  if (!/^[+-]?\d+$/.test(value.trim())) fail(`invalid value "${value}" for flag --${flag}: parse error`);
  return Number(value);
}

/** `--advertise` form: `ip:port`, `hostname:port` or `[ipv6]:port`, port 1–65535. */
export function checkAddrFormat(addr: string): boolean {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9A-Za-z._-]+)):(\d{1,5})$/.exec(addr);
  if (!m) return false;
  const port = Number(m[3]);
  return port >= 1 && port <= 65535;
}

/** `key=value` strings to a map; `message` when one has no `=`. */
export function keyValues(list: readonly string[] | undefined, message: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i < 0) fail(message);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** `--discovery-opt` pairs over the config's, with legacy `kv.path` injected when absent. */
export function discoveryOpts(flags: readonly string[] | undefined, fromConfig: Record<string, string> | undefined): Record<string, string> {
  const opts = { ...(fromConfig ?? {}), ...keyValues(flags, '--discovery-opt must contain key=value strings') };
  if (!('kv.path' in opts)) opts['kv.path'] = DEFAULTS.kvPath;
  return opts;
}

const LISTEN_SCHEMES = new Set(['tcp', 'unix']);

/** Listen address forms of `-H`; any other scheme → `unsupported protocol: "x"`. */
export function checkHost(host: string): string {
  const i = host.indexOf('://');
  if (i >= 0) {
    const scheme = host.slice(0, i);
    if (!LISTEN_SCHEMES.has(scheme)) fail(`unsupported protocol: "${scheme}"`);
  }
  return host;
}

export interface GlobalFlags {
  debug?: boolean;
  logLevel?: string;
  experimental?: boolean;
  config?: string;
}

export interface GlobalSettings {
  level: PinoLevel;
  debug: boolean;
  experimental: boolean;
}

/** `--debug` sets the level to debug only when `--log-level` is not given; `panic` is pino's `fatal`. */
export function globalSettings(flags: GlobalFlags, config: LoadedConfig['config'] = {}): GlobalSettings {
  const debug = flags.debug ?? config.debug ?? false;
  // Each layer (flags, then file): an explicit level, else debug if that layer asked for it.
  const raw = flags.logLevel ?? (flags.debug ? 'debug' : undefined)
    ?? config.logLevel ?? (config.debug ? 'debug' : undefined) ?? DEFAULTS.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) fail(`not a valid log level: "${raw}"`);
  return { level: raw === 'panic' ? 'fatal' : raw as PinoLevel, debug, experimental: flags.experimental ?? config.experimental ?? false };
}

/** The discovery URL: positional argument, then `$SWARM_DISCOVERY`, then the config's `discovery`. */
export function discoveryUrl(positional: string | undefined, config: LoadedConfig['config'], env: NodeJS.ProcessEnv = process.env): string | undefined {
  return positional || env.SWARM_DISCOVERY || config.discovery || undefined;
}

// ---------------------------------------------------------------- manage ----

export interface ManageFlags {
  strategy?: string;
  filter?: string[];
  host?: string[];
  replication?: boolean;
  replicationTtl?: string;
  advertise?: string;
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  engineRefreshMinInterval?: string;
  engineRefreshMaxInterval?: string;
  engineFailureRetry?: string;
  engineRefreshRetry?: string;
  heartbeat?: string;
  cors?: boolean;
  clusterDriver?: string;
  clusterOpt?: string[];
  discoveryOpt?: string[];
  refreshOnNodeFilter?: boolean;
  containerNameRefreshFilter?: string;
  /** `--engine-tls` (true) / `--no-engine-tls` (false); undefined = legacy (the manager's TLS). */
  engineTls?: boolean;
  engineTlsverify?: boolean;
  engineTlscacert?: string;
  engineTlscert?: string;
  engineTlskey?: string;
  engineTimeout?: string;
  apiBodyLimit?: string;
}

/** TLS towards the engines: client certificate optional; `verify` checks the engines' certificates with `caPath`. */
export interface EngineTlsFiles {
  certPath?: string;
  keyPath?: string;
  caPath?: string;
  verify: boolean;
}

export interface TlsFiles {
  /** Absolute paths. */
  certPath: string;
  keyPath: string;
  caPath?: string;
  verify: boolean;
}

export interface ManageSettings {
  discovery: string;
  discoveryOpts: Record<string, string>;
  hosts: string[];
  strategy?: string;
  filters?: string[];
  tls?: TlsFiles;
  /**
   * TLS towards the engines, decided on its own: `undefined` = plain engines. By default
   * (no engine TLS flag) the manager's own TLS is reused, as the original did.
   */
  engineTls?: EngineTlsFiles;
  /** Engine request timeout, ms (`--engine-timeout`, default 30s). */
  engineTimeout: number;
  /** Largest request body the API reads, bytes (`--api-body-limit`, default 10mb). */
  apiBodyLimit: number;
  /** ms */
  refreshMinInterval: number;
  refreshMaxInterval: number;
  failureRetry: number;
  heartbeat: number;
  /** True for a value nobody set (neither flag nor config section): a discovery plugin's option may replace it. */
  defaulted: { heartbeat: boolean };
  overcommit: number;
  createRetry: number;
  replication: boolean;
  /** ms; validated only with replication, as the original did. */
  replicationTtl: number;
  advertise?: string;
  cors: boolean;
  refreshOnNodeFilter: boolean;
  containerNameRefreshFilter?: string;
  /** Non-fatal remarks to log once the logger exists. */
  warnings: string[];
}

/** Validate `swarm manage` in the legacy order; `program` is the binary name used in help hints. */
export function manageSettings(flags: ManageFlags, positional: string | undefined, loaded: LoadedConfig, program = 'swarm', env: NodeJS.ProcessEnv = process.env): ManageSettings {
  const cfg = loaded.config.manage ?? {};
  const fromConfig = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(loaded.baseDir, p));
  const fromCli = (p: string | undefined) => (p === undefined ? undefined : resolve(p));
  const warnings: string[] = [];

  // TLS first, as the original: its flags are checked before anything else.
  const tlsOn = flags.tls ?? cfg.tls?.enabled ?? false;
  const verify = flags.tlsverify ?? cfg.tls?.verify ?? false;
  const certPath = fromCli(flags.tlscert) ?? fromConfig(cfg.tls?.cert);
  const keyPath = fromCli(flags.tlskey) ?? fromConfig(cfg.tls?.key);
  const caPath = fromCli(flags.tlscacert) ?? fromConfig(cfg.tls?.ca);
  let tls: TlsFiles | undefined;
  if (tlsOn || verify) {
    if (!certPath || !keyPath) fail('--tlscert and --tlskey must be provided when using --tls');
    if (verify && !caPath) fail('--tlscacert must be provided when using --tlsverify');
    tls = { certPath, keyPath, ...(caPath ? { caPath } : {}), verify };
  } else if (certPath || keyPath || caPath) {
    fail('--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify');
  }

  const engineTls = engineTlsSettings(flags, cfg.engineTls, tls, fromCli, fromConfig);
  const engineTimeout = durationFlag(flags.engineTimeout ?? cfg.engineTimeout ?? DEFAULTS.engineTimeout, '--engine-timeout');
  if (!(engineTimeout > 0)) fail('--engine-timeout should be a positive duration');
  const apiBodyLimit = byteSize(flags.apiBodyLimit ?? cfg.apiBodyLimit ?? DEFAULTS.apiBodyLimit, '--api-body-limit');

  const refreshMinInterval = durationFlag(flags.engineRefreshMinInterval ?? cfg.engineRefreshMinInterval ?? DEFAULTS.engineRefreshMinInterval, '--engine-refresh-min-interval');
  const refreshMaxInterval = durationFlag(flags.engineRefreshMaxInterval ?? cfg.engineRefreshMaxInterval ?? DEFAULTS.engineRefreshMaxInterval, '--engine-refresh-max-interval');
  if (refreshMinInterval <= 0) fail('min refresh interval should be a positive number');
  if (refreshMaxInterval < refreshMinInterval) fail('max refresh interval cannot be less than min refresh interval');
  if (intFlag(flags.engineRefreshRetry ?? DEFAULTS.engineRefreshRetry, 'engine-refresh-retry') !== DEFAULTS.engineRefreshRetry) {
    fail('--engine-refresh-retry is deprecated. Use --engine-failure-retry');
  }
  const failureRetry = intFlag(flags.engineFailureRetry ?? cfg.engineFailureRetry ?? DEFAULTS.engineFailureRetry, 'engine-failure-retry');
  if (failureRetry <= 0) fail('invalid failure retry count');

  const discovery = discoveryUrl(positional, loaded.config, env);
  if (!discovery) fail(`discovery required to manage a cluster. See '${program} manage --help'.`);
  const heartbeat = heartbeatFlag(flags.heartbeat ?? cfg.heartbeat);
  const opts = discoveryOpts(flags.discoveryOpt, loaded.config.discoveryOpts);

  const driver = flags.clusterDriver ?? cfg.clusterDriver ?? DEFAULTS.clusterDriver;
  if (driver !== 'swarm') fail(`unsupported cluster "${driver}"`);
  const clusterOpts = { ...(cfg.clusterOpts ?? {}), ...keyValues(flags.clusterOpt, '--cluster-opt must contain key=value strings') };
  const { overcommit, createRetry } = clusterOptions(clusterOpts, warnings);

  const replication = flags.replication ?? cfg.replication ?? false;
  const advertise = flags.advertise ?? cfg.advertise ?? undefined;
  let replicationTtl = parseDuration(DEFAULTS.replicationTtl);
  if (replication) {
    if (!advertise) fail('--advertise address must be provided when using --leader-election');
    if (!checkAddrFormat(advertise)) fail('--advertise should be of the form ip:port or hostname:port');
    replicationTtl = durationFlag(flags.replicationTtl ?? cfg.replicationTtl ?? DEFAULTS.replicationTtl, '--replication-ttl');
    if (replicationTtl <= 0) fail('--replication-ttl should be a positive number');
    const scheme = parseDiscoveryUrl(discovery).scheme;
    if (!(KV_SCHEMES as readonly string[]).includes(scheme)) fail('Leader election is only supported with consul, etcd and zookeeper discovery.');
  }

  const hostList = flags.host && flags.host.length > 0 ? flags.host : cfg.host === undefined ? [DEFAULTS.host] : [cfg.host].flat();
  const hosts = hostList.map(checkHost);

  const strategy = flags.strategy ?? cfg.strategy;
  const filters = flags.filter && flags.filter.length > 0 ? flags.filter : cfg.filters;
  return {
    discovery,
    discoveryOpts: opts,
    hosts,
    ...(strategy !== undefined ? { strategy } : {}),
    ...(filters !== undefined && filters.length > 0 ? { filters } : {}),
    ...(tls ? { tls } : {}),
    ...(engineTls ? { engineTls } : {}),
    engineTimeout,
    apiBodyLimit,
    refreshMinInterval,
    refreshMaxInterval,
    failureRetry,
    heartbeat,
    defaulted: { heartbeat: flags.heartbeat === undefined && cfg.heartbeat === undefined },
    overcommit,
    createRetry,
    replication,
    replicationTtl,
    ...(advertise ? { advertise } : {}),
    cors: flags.cors ?? cfg.cors ?? false,
    refreshOnNodeFilter: flags.refreshOnNodeFilter ?? cfg.refreshOnNodeFilter ?? false,
    ...((flags.containerNameRefreshFilter ?? cfg.containerNameRefreshFilter)
      ? { containerNameRefreshFilter: flags.containerNameRefreshFilter ?? cfg.containerNameRefreshFilter } : {}),
    warnings,
  };
}

/**
 * Engine-side TLS, independent of the API's: `--no-engine-tls` (or `engineTls: false`) = plain
 * engines; `--engine-tls`/`--engine-tlsverify` = TLS with the `--engine-tls*` files; neither =
 * the legacy rule, the manager's own TLS (its cert as client cert, verify with `--tlsverify`).
 */
function engineTlsSettings(
  flags: ManageFlags, cfg: EngineTlsConfig | false | undefined, managerTls: TlsFiles | undefined,
  fromCli: (p: string | undefined) => string | undefined, fromConfig: (p: string | undefined) => string | undefined,
): EngineTlsFiles | undefined {
  const file = cfg === false ? undefined : cfg;
  const certPath = fromCli(flags.engineTlscert) ?? fromConfig(file?.cert);
  const keyPath = fromCli(flags.engineTlskey) ?? fromConfig(file?.key);
  const caPath = fromCli(flags.engineTlscacert) ?? fromConfig(file?.ca);
  const verify = flags.engineTlsverify ?? file?.verify ?? false;
  const explicitOff = flags.engineTls === false || (flags.engineTls === undefined && cfg === false);
  const on = flags.engineTls ?? file?.enabled ?? false;
  if (explicitOff) {
    if (flags.engineTlsverify || certPath || keyPath || caPath) fail('--no-engine-tls cannot be combined with other --engine-tls* options');
    return undefined;
  }
  if (on || verify) {
    if ((certPath === undefined) !== (keyPath === undefined)) fail('--engine-tlscert and --engine-tlskey must be provided together');
    if (verify && !caPath) fail('--engine-tlscacert must be provided when using --engine-tlsverify');
    return { ...(certPath ? { certPath } : {}), ...(keyPath ? { keyPath } : {}), ...(caPath ? { caPath } : {}), verify };
  }
  if (certPath || keyPath || caPath) fail('--engine-tlscert, --engine-tlskey and --engine-tlscacert require the use of either --engine-tls or --engine-tlsverify');
  if (!managerTls) return undefined;
  return { certPath: managerTls.certPath, keyPath: managerTls.keyPath, ...(managerTls.caPath ? { caPath: managerTls.caPath } : {}), verify: managerTls.verify };
}

/** A size in bytes: `1048576`, `512kb`, `10mb`, `1g` (powers of 1024); must be positive. */
export function byteSize(value: string | number, flag: string): number {
  if (typeof value === 'number') {
    if (!(Number.isInteger(value) && value > 0)) fail(`invalid ${flag}: ${value}`);
    return value;
  }
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|m|mb|g|gb)?$/i.exec(value.trim());
  if (!m) fail(`invalid ${flag}: "${value}" (expected bytes, or a number with kb, mb or gb)`);
  const unit = (m[2] ?? 'b').toLowerCase()[0]!;
  const bytes = Math.floor(Number(m[1]) * (unit === 'g' ? 1024 ** 3 : unit === 'm' ? 1024 ** 2 : unit === 'k' ? 1024 : 1));
  if (!(bytes > 0)) fail(`invalid ${flag}: "${value}" (must be at least one byte)`);
  return bytes;
}

/** Read the engine-side TLS files; the same messages as the manager's. */
export function loadEngineTlsFiles(files: EngineTlsFiles): { cert?: string; key?: string; ca?: string; verify: boolean } {
  let pair: { cert: string; key: string } | undefined;
  if (files.certPath && files.keyPath) {
    const { cert, key } = loadTlsFiles({ certPath: files.certPath, keyPath: files.keyPath, verify: false });
    pair = { cert, key };
  }
  const ca = files.caPath ? readCa(files.caPath) : undefined;
  return { ...(pair ?? {}), ...(ca ? { ca } : {}), verify: files.verify };
}

/** `--heartbeat`: Go duration, at least one second. */
export function heartbeatFlag(value: string | number | undefined): number {
  const heartbeat = durationFlag(value ?? DEFAULTS.heartbeat, '--heartbeat');
  if (heartbeat < 1000) fail('--heartbeat should be at least one second');
  return heartbeat;
}

/**
 * `swarm.overcommit` and `swarm.createretry`, parsed leniently as the original did (a value that
 * is not a number reads as 0); other keys are ignored, as there.
 */
export function clusterOptions(opts: Record<string, string>, warnings: string[] = []): { overcommit: number; createRetry: number } {
  let overcommit: number = DEFAULTS.overcommit;
  if ('swarm.overcommit' in opts) {
    const v = Number.parseFloat(opts['swarm.overcommit']!);
    overcommit = Number.isFinite(v) ? v : 0;
    if (overcommit <= -1) fail(`swarm.overcommit should be larger than -1, ${overcommit.toFixed(6)} is invalid`);
    if (overcommit < 0) warnings.push(`-${(-overcommit).toFixed(6)} negative overcommit: nodes offer less than their real resources`);
  }
  let createRetry: number = DEFAULTS.createRetry;
  if ('swarm.createretry' in opts) {
    const raw = opts['swarm.createretry']!.trim();
    createRetry = /^[+-]?\d+$/.test(raw) ? Number(raw) : 0;
    if (createRetry < 0) fail(`swarm.createretry can not be negative, ${createRetry} is invalid`);
  }
  return { overcommit, createRetry };
}

/** Read the TLS files named by the flags; the original's messages on failure. */
export function loadTlsFiles(files: TlsFiles): { cert: string; key: string; ca?: string; verify: boolean } {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(files.certPath, 'utf8');
    key = readFileSync(files.keyPath, 'utf8');
    createSecureContext({ cert, key }); // a key that does not match the cert fails here, not at the first client
  } catch (err) {
    fail(`Couldn't load X509 key pair (${files.certPath}, ${files.keyPath}): ${(err as Error).message}. Key encrypted?`);
  }
  const ca = files.caPath ? readCa(files.caPath) : undefined;
  return { cert, key, ...(ca ? { ca } : {}), verify: files.verify };
}

/**
 * The CA file's text. Node accepts a CA without any certificate in it (createSecureContext
 * checks nothing), and the API then took that text for a file name ("ENOENT … open 'vm '").
 * The original (Go's AppendCertsFromPEM, result unchecked) started with an empty pool and
 * refused every client and engine; here it is a startup error, worded as Docker's own
 * go-connections says it.
 */
function readCa(path: string): string {
  let ca: string;
  try {
    ca = readFileSync(path, 'utf8');
  } catch (err) {
    fail(`Couldn't read CA certificate: ${(err as Error).message}`);
  }
  const blocks = ca.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const parsed = blocks.filter((b) => { try { new X509Certificate(b); return true; } catch { return false; } });
  if (parsed.length === 0) fail(`Couldn't read CA certificate: failed to append certificates from PEM file: "${path}"`);
  return ca;
}

// ---------------------------------------------------------------- join / list ----

export interface JoinFlags {
  advertise?: string;
  heartbeat?: string;
  ttl?: string;
  delay?: string;
  discoveryOpt?: string[];
}

export interface JoinSettings {
  discovery: string;
  discoveryOpts: Record<string, string>;
  advertise: string;
  heartbeat: number;
  ttl: number;
  /** True for values nobody set (neither flag nor config section): a discovery plugin's options may replace them. */
  defaulted: { heartbeat: boolean; ttl: boolean };
  delay: number;
}

export function joinSettings(flags: JoinFlags, positional: string | undefined, loaded: LoadedConfig, program = 'swarm', env: NodeJS.ProcessEnv = process.env): JoinSettings {
  const cfg = loaded.config.join ?? {};
  const discovery = discoveryUrl(positional, loaded.config, env);
  if (!discovery) fail(`discovery required to join a cluster. See '${program} join --help'.`);
  const advertise = flags.advertise ?? cfg.advertise;
  if (!advertise) fail('missing mandatory --advertise flag');
  if (!checkAddrFormat(advertise)) fail('--advertise should be of the form ip:port or hostname:port');
  const heartbeat = heartbeatFlag(flags.heartbeat ?? cfg.heartbeat);
  const ttl = durationFlag(flags.ttl ?? cfg.ttl ?? DEFAULTS.joinTtl, '--ttl');
  if (ttl <= heartbeat) fail('--ttl must be strictly superior to the heartbeat value');
  const delay = durationFlag(flags.delay ?? cfg.delay ?? DEFAULTS.joinDelay, '--delay');
  if (delay < 0) fail('--delay should not be a negative number');
  const defaulted = { heartbeat: flags.heartbeat === undefined && cfg.heartbeat === undefined, ttl: flags.ttl === undefined && cfg.ttl === undefined };
  return { discovery, discoveryOpts: discoveryOpts(flags.discoveryOpt, loaded.config.discoveryOpts), advertise, heartbeat, ttl, defaulted, delay };
}

export interface ListFlags {
  timeout?: string;
  discoveryOpt?: string[];
}

export interface ListSettings {
  discovery: string;
  discoveryOpts: Record<string, string>;
  timeout: number;
}

export function listSettings(flags: ListFlags, positional: string | undefined, loaded: LoadedConfig, program = 'swarm', env: NodeJS.ProcessEnv = process.env): ListSettings {
  const discovery = discoveryUrl(positional, loaded.config, env);
  if (!discovery) fail(`discovery required to list a cluster. See '${program} list --help'.`);
  const timeout = durationFlag(flags.timeout ?? loaded.config.list?.timeout ?? DEFAULTS.listTimeout, '--timeout');
  if (timeout <= 0) fail('--timeout should be a positive number');
  return { discovery, discoveryOpts: discoveryOpts(flags.discoveryOpt, loaded.config.discoveryOpts), timeout };
}
