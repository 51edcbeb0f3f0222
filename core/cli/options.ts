/**
 * The legacy flags of each command, declared once: commander gets them for parsing and help;
 * their defaults and environment variables are applied here after parsing, so that a value
 * that was not given stays `undefined` and the config file can fill it (flags > env > file > default).
 */
import { Command, Option } from 'commander';
import { DEFAULTS, DEFAULT_FILTERS } from '../../config/flags.ts';

export interface FlagSpec {
  /** commander flags, e.g. `-H, --host <addr>`. */
  flags: string;
  description: string;
  /** Shown in help; applied by config/flags.ts, not by commander. */
  default?: string;
  env?: string;
  /** Repeatable: values are collected into an array (and the env value split on commas). */
  repeat?: boolean;
  hidden?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Go's strconv.ParseBool, which urfave/cli used for boolean env vars; anything else is ignored. */
export function parseBool(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/**
 * Go's flag package (the original's urfave/cli) takes `--flag=<bool>` for boolean flags, with
 * strconv.ParseBool's values (`--tlsverify=true`, `--replication=false`); commander knows only
 * `--flag` and refused the rest as an unknown option. Rewrites `--flag=<true>` to `--flag` and
 * takes `--flag=<false>` out, returning the options to set to false once parsed (an explicit
 * false wins over the environment and the config file, as any given flag does). Go's `-H=value`
 * for a short flag becomes `-H value`, and a long name with one dash (`-strategy`) is the long flag.
 */
export function goFlagForms(program: Command, args: readonly string[]): { args: string[]; falses: { cmd: Command; key: string; value: boolean }[] } {
  const out: string[] = [];
  const falses: { cmd: Command; key: string; value: boolean }[] = [];
  let cmd = program;
  const find = (c: Command, flag: string) => c.options.find((o) => o.long === flag || o.short === flag);
  for (let i = 0; i < args.length; i++) {
    let arg = args[i]!;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (!arg.startsWith('-')) {
      if (cmd === program) {
        const sub = program.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
        if (sub) cmd = sub;
      }
      out.push(arg);
      continue;
    }
    let eq = arg.indexOf('=');
    let flag = eq > 0 ? arg.slice(0, eq) : arg;
    // Go's flag package reads `-strategy` as `--strategy` (a long name, not a group of short flags).
    if (!flag.startsWith('--') && flag.length > 2 && (find(cmd, `-${flag}`) ?? find(program, `-${flag}`))) {
      arg = `-${arg}`;
      flag = `-${flag}`;
      if (eq > 0) eq++;
    }
    const option = find(cmd, flag) ?? (cmd === program ? undefined : find(program, flag));
    if (!option) {
      out.push(arg);
      continue;
    }
    const owner = cmd.options.includes(option) ? cmd : program;
    if (eq > 0 && option.required && !flag.startsWith('--')) {
      // Go's `-H=:4000`; commander would take `=:4000` as the value of `-H`.
      out.push(flag, arg.slice(eq + 1));
      continue;
    }
    if (eq > 0 && !option.required && !option.optional) {
      const value = parseBool(arg.slice(eq + 1));
      if (value === undefined) throw new Error(`invalid boolean value "${arg.slice(eq + 1)}" for ${flag}`);
      if (value) out.push(flag);
      // `--no-x=false` means x; commander keeps a negated flag under the positive name.
      else falses.push({ cmd: owner, key: option.attributeName(), value: option.negate });
      continue;
    }
    out.push(arg);
    if (eq < 0 && option.required && i + 1 < args.length) out.push(args[++i]!); // its value is not a command
  }
  return { args: out, falses };
}

export function addFlags(cmd: Command, specs: readonly FlagSpec[]): Command {
  for (const spec of specs) {
    const extra = [spec.default !== undefined ? `default: ${spec.default}` : '', spec.env ? `env: ${spec.env}` : ''].filter(Boolean).join(', ');
    const option = new Option(spec.flags, extra ? `${spec.description} (${extra})` : spec.description);
    if (spec.repeat) option.argParser(collect);
    if (spec.hidden) option.hideHelp();
    cmd.addOption(option);
  }
  return cmd;
}

/** The parsed values, with each flag's environment variable applied where the flag was not given. */
export function flagValues<T>(cmd: Command, specs: readonly FlagSpec[], env: NodeJS.ProcessEnv = process.env): T {
  const values: Record<string, unknown> = { ...cmd.opts() };
  for (const spec of specs) {
    if (!spec.env || env[spec.env] === undefined) continue;
    const option = cmd.options.find((o) => o.flags === spec.flags);
    if (!option) continue;
    const key = option.attributeName();
    if (values[key] !== undefined) continue;
    const raw = env[spec.env]!;
    if (option.isBoolean()) {
      const b = parseBool(raw);
      if (b !== undefined) values[key] = b;
    } else if (spec.repeat) {
      values[key] = raw.split(',').map((s) => s.trim()).filter(Boolean);
    } else {
      values[key] = raw;
    }
  }
  return values as T;
}

export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { flags: '--debug', description: 'debug mode', env: 'DEBUG' },
  { flags: '-l, --log-level <level>', description: 'Log level (options: debug, info, warn, error, fatal, panic)', default: DEFAULTS.logLevel },
  { flags: '--experimental', description: 'run the experimental features' },
  { flags: '--config <path>', description: 'config file (default: searched: swarm.config.ts/.js/.mjs/.json, .swarmrc[.json|.yaml], package.json#swarm)' },
];

const DISCOVERY_OPT: FlagSpec = { flags: '--discovery-opt <key=value>', description: 'discovery options (repeatable): kv.path, kv.cacertfile, kv.certfile, kv.keyfile', repeat: true };

export const MANAGE_FLAGS: readonly FlagSpec[] = [
  { flags: '--strategy <name>', description: 'placement strategy to use [spread, binpack, random]', default: 'spread' },
  { flags: '-f, --filter <name>', description: `filter to use (repeatable) [${DEFAULT_FILTERS.join(', ')}]`, default: 'all of them, in that order', repeat: true },
  { flags: '-H, --host <addr>', description: 'ip/socket to listen on (repeatable)', default: DEFAULTS.host, env: 'SWARM_HOST', repeat: true },
  { flags: '--replication', description: 'Enable Swarm manager replication' },
  { flags: '--replication-ttl <duration>', description: 'Leader lock release time on failure', default: DEFAULTS.replicationTtl },
  { flags: '--addr, --advertise <host:port>', description: 'Address of the swarm manager joining the cluster. Other swarm manager(s) MUST be able to reach the swarm manager at this address.', env: 'SWARM_ADVERTISE' },
  { flags: '--tls', description: 'use TLS; implied by --tlsverify=true' },
  { flags: '--tlsverify', description: 'use TLS and verify the remote' },
  { flags: '--tlscacert <path>', description: 'trust only remotes providing a certificate signed by the CA given here' },
  { flags: '--tlscert <path>', description: 'path to TLS certificate file' },
  { flags: '--tlskey <path>', description: 'path to TLS key file' },
  { flags: '--engine-tls', description: 'reach the engines over TLS (engines not verified); default: as the manager (--tls/--tlsverify)' },
  { flags: '--no-engine-tls', description: 'reach the engines in plain HTTP even when the manager uses TLS' },
  { flags: '--engine-tlsverify', description: 'reach the engines over TLS and verify them with --engine-tlscacert' },
  { flags: '--engine-tlscacert <path>', description: 'CA that signed the engines\' certificates' },
  { flags: '--engine-tlscert <path>', description: 'client certificate presented to the engines' },
  { flags: '--engine-tlskey <path>', description: 'key of the client certificate presented to the engines' },
  { flags: '--engine-timeout <duration>', description: 'timeout of a request to an engine (streams excepted)', default: DEFAULTS.engineTimeout },
  { flags: '--api-body-limit <size>', description: 'largest request body the API reads (bytes, or with kb/mb/gb)', default: DEFAULTS.apiBodyLimit },
  { flags: '--engine-refresh-min-interval <duration>', description: 'set engine refresh minimum interval', default: DEFAULTS.engineRefreshMinInterval },
  { flags: '--engine-refresh-max-interval <duration>', description: 'set engine refresh maximum interval', default: DEFAULTS.engineRefreshMaxInterval },
  { flags: '--engine-failure-retry <n>', description: 'set engine failure retry count', default: String(DEFAULTS.engineFailureRetry) },
  { flags: '--engine-refresh-retry <n>', description: 'deprecated; replaced by --engine-failure-retry', default: String(DEFAULTS.engineRefreshRetry) },
  { flags: '--heartbeat <duration>', description: 'period between each heartbeat', default: DEFAULTS.heartbeat },
  // Legacy order (`api-enable-cors, cors`); commander names the value after the LAST long flag, and
  // the settings read `cors` (as `--cors, --api-enable-cors` it was `apiEnableCors`: the flag did nothing).
  { flags: '--api-enable-cors, --cors', description: 'enable CORS headers in the remote API' },
  { flags: '-c, --cluster-driver <driver>', description: 'cluster driver to use [swarm]', default: DEFAULTS.clusterDriver },
  { flags: '--cluster-opt <key=value>', description: 'cluster driver options (repeatable): swarm.overcommit=0.05 (overcommit to apply on resources), swarm.createretry=0 (container create retry count after initial failure)', repeat: true },
  DISCOVERY_OPT,
  { flags: '--refresh-on-node-filter', description: 'refresh the containers of the engine named by a `node` filter of `docker ps` first' },
  { flags: '--container-name-refresh-filter <name>', description: 'refresh every engine first when a `docker ps` name filter equals this' },
];

export const JOIN_FLAGS: readonly FlagSpec[] = [
  { flags: '--addr, --advertise <host:port>', description: 'Address of the Docker Engine joining the cluster. Swarm manager(s) MUST be able to reach the Docker Engine at this address.', env: 'SWARM_ADVERTISE' },
  { flags: '--heartbeat <duration>', description: 'period between each heartbeat', default: DEFAULTS.heartbeat },
  { flags: '--ttl <duration>', description: 'set the expiration of an ephemeral node', default: DEFAULTS.joinTtl },
  { flags: '--delay <duration>', description: 'add a random delay in [0s,delay[ to avoid synchronized registration', default: DEFAULTS.joinDelay },
  DISCOVERY_OPT,
];

export const LIST_FLAGS: readonly FlagSpec[] = [
  { flags: '--timeout <duration>', description: 'timeout period', default: DEFAULTS.listTimeout },
  DISCOVERY_OPT,
];

export const CREATE_FLAGS: readonly FlagSpec[] = [
  { flags: '--discovery-url <url>', description: 'base URL of the token discovery service', env: 'SWARM_DISCOVERY_URL' },
];
