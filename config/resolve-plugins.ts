/**
 * Turns the `plugins` list of a config into applied-ready SwarmPlugin objects.
 *
 * A list entry is a plugin object, a falsy value (skipped, so `cond && gpu()` works), an array of
 * entries (a preset, flattened), or — in JSON/YAML configs and from flags — a name: `"health"`,
 * `["constraint", { …options }]`, `"@acme/swarm-plugin-filter-gpu"`, `"./plugins/local.js"`.
 * Names are resolved in this order: built-in short name (plugins/index.ts), npm package
 * (looked up from the config file's directory), path relative to the config file.
 *
 * Every error is a ConfigError naming the plugin and the config file, thrown before anything listens.
 */
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../core/errors.ts';
import type { PluginFactory, SwarmPlugin } from '../core/plugin.ts';
import { builtinKinds, builtins } from '../plugins/index.ts';
import { satisfies } from './semver.ts';
import { SWARM_VERSION } from './version.ts';

/** A plugin by name, with options: what JSON and YAML configs can express. */
export type PluginSpec = string | readonly [name: string, options?: Record<string, unknown>];

/** One element of `plugins`: a plugin, a name, a preset (array, flattened) or a falsy value (skipped). */
export type PluginEntry = SwarmPlugin | PluginSpec | false | null | undefined | 0 | '' | readonly PluginEntry[];

export interface ResolveContext {
  /** The config file the list came from ('' or undefined when there is none), for error messages. */
  configPath?: string;
  /** Where npm packages and relative paths are resolved from: the config file's directory, else cwd. */
  baseDir: string;
  /** The registry of built-in short names; plugins/index.ts unless a test brings its own. */
  builtins?: Registry;
  /** Kind of each built-in (`discovery`, `filter`, …); plugins/index.ts `builtinKinds` by default. */
  kinds?: Readonly<Record<string, string>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFactory = PluginFactory<any>;
export type Registry = Readonly<Record<string, () => Promise<AnyFactory>>>;

export function registryOf(ctx: ResolveContext): Registry {
  return ctx.builtins ?? builtins;
}

export function kindsOf(ctx: ResolveContext): Readonly<Record<string, string>> {
  return ctx.kinds ?? (ctx.builtins ? {} : builtinKinds);
}

/** Third-party plugin packages: `swarm-plugin-<kind>-<name>` or `@scope/swarm-plugin-<kind>-<name>`. */
export const PLUGIN_PACKAGE_NAME = /^(@[a-z0-9][a-z0-9._~-]*\/)?swarm-plugin-[a-z0-9]+-[a-z0-9][a-z0-9._-]*$/;

/** ` (config: <path>)` suffix, the same note the core uses. */
export function configNote(ctx: { configPath?: string }): string {
  return ctx.configPath ? ` (config: ${ctx.configPath})` : ' (no config file)';
}

export function isPlugin(value: unknown): value is SwarmPlugin {
  return typeof value === 'object' && value !== null
    && typeof (value as SwarmPlugin).name === 'string' && (value as SwarmPlugin).name !== ''
    && typeof (value as SwarmPlugin).apply === 'function';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isPlugin(value);
}

/** `["constraint", {…}]` or `["constraint"]`, as opposed to a preset array of entries. */
function isSpecTuple(entry: readonly unknown[]): entry is readonly [string, Record<string, unknown>?] {
  return typeof entry[0] === 'string' && entry.length <= 2 && (entry[1] === undefined || isPlainObject(entry[1]));
}

/** Resolve every entry of a plugin list, in order. */
export async function resolvePlugins(entries: readonly PluginEntry[] | undefined, ctx: ResolveContext): Promise<SwarmPlugin[]> {
  const out: SwarmPlugin[] = [];
  const walk = async (list: readonly unknown[], path: string): Promise<void> => {
    for (const [i, entry] of list.entries()) {
      const where = `${path}[${i}]`;
      if (!entry) continue; // falsy entries are skipped on purpose: `process.env.GPU && gpu()`
      if (typeof entry === 'string') out.push(...await resolveSpec(entry, undefined, ctx));
      else if (Array.isArray(entry)) {
        if (isSpecTuple(entry)) out.push(...await resolveSpec(entry[0], entry[1], ctx));
        else await walk(entry, where);
      } else if (isPlugin(entry)) out.push(entry);
      else {
        throw new ConfigError(`${where} is not a plugin: expected a plugin object, a name, [name, options] or an array${configNote(ctx)}`);
      }
    }
  };
  await walk(entries ?? [], 'plugins');
  return out;
}

/** Resolve one name with its options to the plugin(s) its factory returns. */
export async function resolveSpec(name: string, options: Record<string, unknown> | undefined, ctx: ResolveContext): Promise<SwarmPlugin[]> {
  const factory = await loadFactory(name, ctx);
  return instantiate(name, factory, options, ctx);
}

/** Call a factory and check what it returned; its errors are re-thrown naming the plugin and the file. */
export function instantiate(name: string, factory: AnyFactory, options: Record<string, unknown> | undefined, ctx: ResolveContext): SwarmPlugin[] {
  let made: unknown;
  try {
    made = factory(options);
  } catch (err) {
    // Options are validated in the factory (parseOptions): its message already says what is wrong.
    const inner = String((err as Error)?.message ?? err).replace(/^plugin [^:]+: /, '');
    throw new ConfigError(`plugin ${name} failed to load${configNote(ctx)}: ${inner}`, { cause: err });
  }
  const list = Array.isArray(made) ? made.flat(Infinity) : [made];
  for (const p of list) {
    if (!isPlugin(p)) {
      throw new ConfigError(`plugin ${name} failed to load${configNote(ctx)}: its factory did not return a plugin ({ name, apply })`);
    }
  }
  return list as SwarmPlugin[];
}

function looksLikePath(name: string): boolean {
  return name.startsWith('.') || isAbsolute(name);
}

/** Built-in short name, then npm package, then path relative to the config file. */
export async function loadFactory(name: string, ctx: ResolveContext): Promise<AnyFactory> {
  if (!looksLikePath(name)) {
    const registry = registryOf(ctx);
    const builtin = Object.hasOwn(registry, name) ? registry[name] : undefined;
    if (builtin) {
      try {
        return checkFactory(await builtin(), name, ctx);
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        throw new ConfigError(`plugin ${name} failed to load${configNote(ctx)}: ${(err as Error).message}`, { cause: err });
      }
    }
    const pkg = findPackage(name, ctx.baseDir);
    if (pkg) return loadPackage(name, pkg, ctx);
  }
  const file = resolve(ctx.baseDir, name);
  if (existsSync(file) && statSync(file).isFile()) {
    let mod: { default?: unknown };
    try {
      mod = await import(pathToFileURL(file).href) as { default?: unknown };
    } catch (err) {
      throw new ConfigError(`plugin ${name} failed to load${configNote(ctx)}: cannot import ${file}: ${(err as Error).message}`, { cause: err });
    }
    return checkFactory(mod.default, name, ctx);
  }
  const known = Object.keys(registryOf(ctx)).sort().join(', ');
  throw new ConfigError(`unknown plugin "${name}"${configNote(ctx)}: not a built-in (${known || 'none registered'}), `
    + `not an npm package installed from ${ctx.baseDir}, not a file (${file})`);
}

function checkFactory(value: unknown, name: string, ctx: ResolveContext): AnyFactory {
  if (typeof value !== 'function') {
    throw new ConfigError(`plugin ${name} failed to load${configNote(ctx)}: its module has no default-export factory`);
  }
  return value as AnyFactory;
}

interface PackageJson {
  name?: string;
  main?: string;
  module?: string;
  exports?: unknown;
  peerDependencies?: Record<string, string>;
}

/** Node's lookup: `node_modules/<name>` in the base directory and each of its parents. */
function findPackage(name: string, fromDir: string): { dir: string; json: PackageJson } | undefined {
  if (!/^(@[^/]+\/)?[^/@.][^/]*$/.test(name)) return undefined; // not a package name (or a deep import)
  for (let dir = resolve(fromDir); ; dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) {
      const real = realpathSync(manifest); // symlinked packages (npm link, workspaces) import from their real place
      return { dir: dirname(real), json: JSON.parse(readFileSync(real, 'utf8')) as PackageJson };
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The ESM entry of a package: `exports` (import/node/default conditions), then `module`, `main`, index.js. */
function packageEntry(json: PackageJson): string | undefined {
  const pick = (target: unknown): string | undefined => {
    if (typeof target === 'string') return target;
    if (Array.isArray(target)) return target.map(pick).find(Boolean);
    if (target && typeof target === 'object') {
      const map = target as Record<string, unknown>;
      if ('.' in map) return pick(map['.']);
      for (const cond of ['import', 'node', 'default']) if (cond in map) { const r = pick(map[cond]); if (r) return r; }
    }
    return undefined;
  };
  if (json.exports !== undefined) return pick(json.exports);
  return json.module ?? json.main ?? 'index.js';
}

async function loadPackage(name: string, pkg: { dir: string; json: PackageJson }, ctx: ResolveContext): Promise<AnyFactory> {
  const label = `package ${name}`;
  if (!PLUGIN_PACKAGE_NAME.test(name)) {
    throw new ConfigError(`plugin ${name} failed to load${configNote(ctx)}: ${label} is not a swarm plugin `
      + '(its name must be swarm-plugin-<kind>-<name> or @scope/swarm-plugin-<kind>-<name>)');
  }
  const range = pkg.json.peerDependencies?.swarm;
  if (range !== undefined) {
    let ok: boolean;
    try {
      ok = satisfies(SWARM_VERSION, range);
    } catch {
      ok = false; // an unreadable range cannot be trusted to include us
    }
    if (!ok) {
      throw new ConfigError(`plugin ${name} failed to load${configNote(ctx)}: ${label} requires swarm ${range}, this is swarm ${SWARM_VERSION}`);
    }
  }
  const entry = packageEntry(pkg.json);
  if (!entry) throw new ConfigError(`plugin ${name} failed to load${configNote(ctx)}: ${label} has no importable entry point`);
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(join(pkg.dir, entry)).href) as { default?: unknown };
  } catch (err) {
    throw new ConfigError(`plugin ${name} failed to load${configNote(ctx)}: cannot import ${label}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof mod.default !== 'function') {
    throw new ConfigError(`plugin ${name} failed to load${configNote(ctx)}: ${label} has no default-export factory`);
  }
  return mod.default as AnyFactory;
}
