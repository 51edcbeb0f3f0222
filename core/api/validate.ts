/**
 * Input checks made by the manager before anything is scheduled or proxied, so that hostile or
 * malformed bodies get a Docker-style 400 instead of an engine 500 (dockerd 20.10 answers 500 to
 * a body its Go decoder cannot read) or a scheduling error.
 *
 * The create body is checked against the Go types the engine decodes it into (field names are
 * matched case-insensitively, as encoding/json does; unknown fields are ignored, as there), and the
 * message is the one Go's decoder writes, so a client sees what a newer engine would say (400
 * `invalid JSON: json: cannot unmarshal …`).
 */
import type { FastifyRequest } from 'fastify';
import { ExprError, parseExpr } from '../expr.ts';
import { buildRequest } from '../pipeline/request.ts';
import { SwarmError } from '../errors.ts';
import type { CreateSpec } from '../types.ts';
import { badRequest } from './errors.ts';

// ---------------------------------------------------------------- Go types ----

/** A Go type as encoding/json sees it. `null` is accepted everywhere (the zero value), as in Go. */
type GoType =
  | 'string' | 'bool' | 'int64' | 'uint16' | 'int' | 'any'
  | { obj: Record<string, GoType>; name: string }
  | { arr: GoType }
  | { map: GoType }
  | 'strslice'; // docker's StrSlice: a string or an array of strings

const S = 'string' as const;
const B = 'bool' as const;
const I = 'int64' as const;
const STRS = { arr: S } as const;
const STRMAP = { map: S } as const;
const OBJ = (name: string, obj: Record<string, GoType>): GoType => ({ obj, name });
const ANYOBJ = (name: string): GoType => ({ obj: {}, name });

const PORT_BINDING = OBJ('PortBinding', { HostIp: S, HostPort: S });
const WEIGHT_DEVICE = OBJ('WeightDevice', { Path: S, Weight: 'uint16' });
const THROTTLE_DEVICE = OBJ('ThrottleDevice', { Path: S, Rate: I });

const HOST_CONFIG = OBJ('HostConfig', {
  Binds: STRS, ContainerIDFile: S, LogConfig: OBJ('LogConfig', { Type: S, Config: STRMAP }), NetworkMode: S,
  PortBindings: { map: { arr: PORT_BINDING } }, RestartPolicy: OBJ('RestartPolicy', { Name: S, MaximumRetryCount: 'int' }),
  AutoRemove: B, VolumeDriver: S, VolumesFrom: STRS, CapAdd: 'strslice', CapDrop: 'strslice', CgroupnsMode: S,
  Dns: STRS, DnsOptions: STRS, DnsSearch: STRS, ExtraHosts: STRS, GroupAdd: STRS, IpcMode: S, Cgroup: S, Links: STRS,
  OomScoreAdj: 'int', PidMode: S, Privileged: B, PublishAllPorts: B, ReadonlyRootfs: B, SecurityOpt: STRS,
  StorageOpt: STRMAP, Tmpfs: STRMAP, UTSMode: S, UsernsMode: S, ShmSize: I, Sysctls: STRMAP, Runtime: S,
  ConsoleSize: { arr: 'int' }, Isolation: S,
  CpuShares: I, Memory: I, NanoCpus: I, CgroupParent: S, BlkioWeight: 'uint16',
  BlkioWeightDevice: { arr: WEIGHT_DEVICE }, BlkioDeviceReadBps: { arr: THROTTLE_DEVICE }, BlkioDeviceWriteBps: { arr: THROTTLE_DEVICE },
  BlkioDeviceReadIOps: { arr: THROTTLE_DEVICE }, BlkioDeviceWriteIOps: { arr: THROTTLE_DEVICE },
  CpuPeriod: I, CpuQuota: I, CpuRealtimePeriod: I, CpuRealtimeRuntime: I, CpusetCpus: S, CpusetMems: S,
  Devices: { arr: OBJ('DeviceMapping', { PathOnHost: S, PathInContainer: S, CgroupPermissions: S }) },
  DeviceCgroupRules: STRS, DeviceRequests: { arr: ANYOBJ('DeviceRequest') }, KernelMemory: I, KernelMemoryTCP: I,
  MemoryReservation: I, MemorySwap: I, MemorySwappiness: I, OomKillDisable: B, PidsLimit: I,
  Ulimits: { arr: OBJ('Ulimit', { Name: S, Hard: I, Soft: I }) }, CpuCount: I, CpuPercent: I,
  IOMaximumIOps: 'int', IOMaximumBandwidth: 'int', Mounts: { arr: ANYOBJ('Mount') }, MaskedPaths: STRS, ReadonlyPaths: STRS, Init: B,
});

const CREATE_BODY = OBJ('Config', {
  Hostname: S, Domainname: S, User: S, AttachStdin: B, AttachStdout: B, AttachStderr: B,
  ExposedPorts: { map: 'any' }, Tty: B, OpenStdin: B, StdinOnce: B, Env: STRS, Cmd: 'strslice',
  Healthcheck: OBJ('HealthConfig', { Test: STRS, Interval: I, Timeout: I, StartPeriod: I, Retries: 'int' }),
  ArgsEscaped: B, Image: S, Volumes: { map: 'any' }, WorkingDir: S, Entrypoint: 'strslice', NetworkDisabled: B,
  MacAddress: S, OnBuild: STRS, Labels: STRMAP, StopSignal: S, StopTimeout: 'int', Shell: 'strslice',
  // Pre-1.18 clients sent resources at the top level.
  Memory: I, MemorySwap: I, CpuShares: I, Cpuset: S,
  HostConfig: HOST_CONFIG,
  NetworkingConfig: OBJ('NetworkingConfig', { EndpointsConfig: { map: ANYOBJ('EndpointSettings') } }),
});

const AUTH_BODY = OBJ('AuthConfig', {
  username: S, password: S, auth: S, email: S, serveraddress: S, identitytoken: S, registrytoken: S,
});

/** Go's name for the JSON type of a value, as in `cannot unmarshal <kind> into …`. */
function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return `number ${String(v)}`;
  return typeof v === 'object' ? 'object' : typeof v;
}

function goName(t: GoType): string {
  if (typeof t === 'string') return t === 'strslice' ? 'strslice.StrSlice' : t === 'any' ? 'interface {}' : t;
  if ('obj' in t) return `container.${t.name}`;
  if ('arr' in t) return `[]${goName(t.arr)}`;
  return `map[string]${goName(t.map)}`;
}

const INT_LIMITS: Record<string, [number, number]> = {
  int64: [-(2 ** 63), 2 ** 63], int: [-(2 ** 63), 2 ** 63], uint16: [0, 65535],
};

function unmarshalError(v: unknown, t: GoType, field: string, struct: string): never {
  throw badRequest(`invalid JSON: json: cannot unmarshal ${jsonKind(v)} into Go ${field ? `struct field ${struct}.${field}` : 'value'} of type ${goName(t)}`);
}

/**
 * Lower-cased field name → field name of a struct type, built once per type (it was built for every
 * object of every create body checked).
 */
const folded = new WeakMap<object, Map<string, string>>();
function foldedFields(t: { obj: Record<string, GoType> }): Map<string, string> {
  let m = folded.get(t);
  if (!m) {
    m = new Map(Object.keys(t.obj).map((k) => [k.toLowerCase(), k]));
    folded.set(t, m);
  }
  return m;
}

/** Check `v` against `t`; `field` is Go's dotted path (`HostConfig.CpuShares`). Throws 400. */
function check(v: unknown, t: GoType, field: string, struct: string): void {
  if (v === null || t === 'any') return;
  if (t === 'string') { if (typeof v !== 'string') unmarshalError(v, t, field, struct); return; }
  if (t === 'bool') { if (typeof v !== 'boolean') unmarshalError(v, t, field, struct); return; }
  if (t === 'int64' || t === 'int' || t === 'uint16') {
    const [lo, hi] = INT_LIMITS[t]!;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) unmarshalError(v, t, field, struct);
    return;
  }
  if (t === 'strslice') {
    if (typeof v === 'string') return;
    if (!Array.isArray(v)) unmarshalError(v, t, field, struct);
    (v as unknown[]).forEach((x) => check(x, S, field, struct));
    return;
  }
  if ('arr' in t) {
    if (!Array.isArray(v)) unmarshalError(v, t, field, struct);
    (v as unknown[]).forEach((x) => check(x, t.arr, field, struct));
    return;
  }
  if (typeof v !== 'object' || Array.isArray(v)) unmarshalError(v, t, field, struct);
  const obj = v as Record<string, unknown>;
  if ('map' in t) {
    for (const x of Object.values(obj)) check(x, t.map, field, struct);
    return;
  }
  // encoding/json matches field names case-insensitively when there is no exact match.
  for (const [key, x] of Object.entries(obj)) {
    const name = Object.hasOwn(t.obj, key) ? key : foldedFields(t).get(key.toLowerCase());
    if (name === undefined) continue;
    check(x, t.obj[name]!, field ? `${field}.${name}` : name, field ? struct : t.name);
  }
}

/** A field of an object, looked up as encoding/json would (exact, then case-insensitive). */
function goField(obj: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(obj, name)) return obj[name];
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

// ---------------------------------------------------------------- create ----

const NON_NEGATIVE = ['Memory', 'MemoryReservation', 'KernelMemory', 'CpuShares', 'NanoCpus', 'ShmSize'] as const;

/**
 * Validate a container create body (also used by `/swarm/plan`): Go types, resources the
 * scheduler reads, reschedule policies and placement expressions. Throws a 400 SwarmError.
 *
 * A placement expression that does not parse is the client's mistake: 400 here (the original
 * answered 500 through the scheduler's "Unable to find a node … error from constraint filter").
 * A well-formed expression no node satisfies still gets the original's 500.
 */
export function validateCreateBody(body: Record<string, unknown>): void {
  check(body, CREATE_BODY, '', 'Config');
  const hc = goField(body, 'HostConfig');
  for (const [where, obj] of [['', body], ['HostConfig.', hc]] as const) {
    if (!obj || typeof obj !== 'object') continue;
    for (const key of NON_NEGATIVE) {
      const v = goField(obj as Record<string, unknown>, key);
      if (typeof v === 'number' && v < 0) throw badRequest(`invalid ${where}${key}: ${v} (must not be negative)`);
    }
  }
  let rules;
  try {
    // Only the rules are read: a fixed request ID spares drawing a random one per create.
    rules = buildRequest(body as CreateSpec, '', { id: 'validation' }).rules;
  } catch (err) {
    // Invalid reschedule policies: the original's message, but a 400 (a client error).
    if (err instanceof SwarmError) throw badRequest(err.message);
    throw err;
  }
  for (const kind of ['constraint', 'affinity', 'whitelist'] as const) {
    for (const text of rules[kind]) {
      try {
        parseExpr(text);
      } catch (err) {
        if (err instanceof ExprError) throw badRequest(`invalid ${kind} expression '${text}': ${err.message}`);
        throw err;
      }
    }
  }
}

/**
 * The engine's `CheckForJSON`: a body must come with a JSON content type; no content type is
 * accepted only without a body.
 */
export function checkJsonContentType(request: FastifyRequest): void {
  const ct = String(request.headers['content-type'] ?? '');
  const length = Number(request.headers['content-length'] ?? 0);
  const hasBody = length > 0 || request.headers['transfer-encoding'] !== undefined;
  if (ct === '' && !hasBody) return;
  const media = ct.split(';')[0]!.trim().toLowerCase();
  if (media === 'application/json') return;
  throw badRequest(`Content-Type specified (${ct}) must be 'application/json'`);
}

// ---------------------------------------------------------------- auth ----

/** A required JSON object body checked against a Go struct (`goValue`: Go's name of the whole type); else 400. */
function parseGoBody(raw: Buffer, type: { obj: Record<string, GoType>; name: string }, goValue: string): Record<string, unknown> {
  const text = raw.toString('utf8').trim();
  if (text === '') throw badRequest('invalid JSON: got EOF while reading request body');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`invalid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest(`invalid JSON: json: cannot unmarshal ${jsonKind(value)} into Go value of type ${goValue}`);
  }
  check(value, type, '', type.name);
  return value as Record<string, unknown>;
}

/** `POST /auth`: a JSON object whose known fields are strings (Go's AuthConfig); else 400. */
export function parseAuthBody(raw: Buffer): Record<string, unknown> {
  return parseGoBody(raw, AUTH_BODY as { obj: Record<string, GoType>; name: string }, 'types.AuthConfig');
}

// ---------------------------------------------------------------- volumes ----

const VOLUME_BODY = OBJ('VolumeCreateBody', { Name: S, Driver: S, DriverOpts: STRMAP, Labels: STRMAP, ClusterVolumeSpec: 'any' });

/**
 * `POST /volumes/create`: a JSON object with Go's VolumeCreateBody types, else 400 (as the engine
 * and the original: both decode the body first). Checked before the fan-out: a `{"Name": 5}` must
 * not become a randomly named volume on every node.
 */
export function parseVolumeBody(raw: Buffer): Record<string, unknown> {
  return parseGoBody(raw, VOLUME_BODY as { obj: Record<string, GoType>; name: string }, 'volume.VolumeCreateBody');
}

// ---------------------------------------------------------------- names ----

/** Docker's network name rule: not empty; the engine refuses the rest with its own 4xx. */
export function checkNetworkName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '') throw badRequest('invalid name: network name must not be empty');
  return name;
}

// ---------------------------------------------------------------- image references ----

// docker/distribution's reference grammar (reference/regexp.go), as the engine parses it.
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]*)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const NAME_MAX = 255;

/**
 * An image reference the engine would refuse, with the engine's 400 message: `invalid reference
 * format`, `…: repository name must be lowercase` (docker's ParseNormalizedNamed), or `repository
 * name must not be more than 255 characters`. Returns undefined for a valid reference.
 */
export function referenceError(ref: string): string | undefined {
  const m = REFERENCE_RE.exec(ref);
  if (!m) {
    // The engine's extra word for a name that is only wrong by its capitals.
    if (REFERENCE_RE.test(ref.toLowerCase())) return 'invalid reference format: repository name must be lowercase';
    return 'invalid reference format';
  }
  const name = m[1]!;
  // Without a `.`, `:` or `localhost`, the first component is a path on Docker Hub, not a domain.
  const first = name.split('/')[0]!;
  const hubPath = !name.includes('/') || (!/[.:]/.test(first) && first !== 'localhost');
  if (hubPath && first !== first.toLowerCase()) return 'invalid reference format: repository name must be lowercase';
  if (name.length > NAME_MAX) return `repository name must not be more than ${NAME_MAX} characters`;
  return undefined;
}
