/**
 * API versions. The manager routes every path both unversioned and under `/v<major>.<minor>/`
 * (the original accepted any `/v<digits>.<digits>` and never validated it). It advertises the
 * lowest maximum API version among healthy engines, capped at MAX_API_VERSION, so a client such as
 * docker CLI 28 negotiates down to something every engine accepts.
 *
 * Unlike the original (which forwarded the client's prefix unchanged, so an engine rejected a
 * version outside its range), proxied requests get their prefix rewritten per engine:
 * min(requested, engine max), raised to the engine's minimum when needed (`engineVersionPrefix`).
 */
import type { Engine } from '../engine/cluster-api.ts';
import { SwarmError } from '../errors.ts';

/** Highest version this manager speaks: the engines here are dockerd 20.10 (API 1.41). */
export const MAX_API_VERSION = '1.41';
/** Lowest version dockerd 20.10 accepts; reported when no engine tells us better. */
export const DEFAULT_MIN_API_VERSION = '1.12';
/** `swarm --version` / `/version` Version. */
export const SERVER_VERSION = 'swarm/1.2.9';

const PREFIX = /^\/v(\d+)[.](\d+)(?=\/|$|\?)/;

/** Split `/v1.41/containers/json?x` into `{ version: '1.41', url: '/containers/json?x' }`. */
export function stripVersion(url: string): { version: string | undefined; url: string } {
  const m = PREFIX.exec(url);
  if (!m) return { version: undefined, url };
  const rest = url.slice(m[0].length);
  return { version: `${Number(m[1])}.${Number(m[2])}`, url: rest === '' || rest.startsWith('?') ? `/${rest}` : rest };
}

/** Compare dotted API versions numerically (`1.9` < `1.10`). */
export function compareVersions(a: string, b: string): number {
  // Runs several times per request (advertised version, range check): no split/map garbage.
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = leadingInt(a, i);
    const y = leadingInt(b, j);
    if (x !== y) return x < y ? -1 : 1;
    i = nextComponent(a, i);
    j = nextComponent(b, j);
  }
  return 0;
}

/** `Number.parseInt(component, 10) || 0` for the dot-separated component starting at `from`. */
function leadingInt(s: string, from: number): number {
  let k = from;
  let sign = 1;
  if (s.charCodeAt(k) === 45 /* - */) { sign = -1; k++; } else if (s.charCodeAt(k) === 43 /* + */) k++;
  let v = 0;
  let digits = 0;
  for (; k < s.length; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    digits++;
  }
  return digits === 0 || v === 0 ? 0 : sign * v;
}

function nextComponent(s: string, from: number): number {
  const dot = s.indexOf('.', from);
  return dot < 0 ? s.length : dot + 1;
}

const minVersion = (a: string, b: string) => (compareVersions(a, b) <= 0 ? a : b);
const maxVersion = (a: string, b: string) => (compareVersions(a, b) >= 0 ? a : b);

/** The version to advertise: lowest max among healthy engines, never above MAX_API_VERSION. */
export function advertisedVersion(engines: readonly Engine[]): string {
  let v = MAX_API_VERSION;
  for (const e of engines) {
    if (e.state === 'healthy' && e.apiVersion) v = minVersion(v, e.apiVersion);
  }
  return v;
}

/** `MinAPIVersion` of `/version`: the highest minimum among healthy engines (all must accept it). */
export function advertisedMinVersion(engines: readonly Engine[]): string {
  let v = DEFAULT_MIN_API_VERSION;
  for (const e of engines) {
    if (e.state === 'healthy' && e.minApiVersion) v = maxVersion(v, e.minApiVersion);
  }
  return v;
}

/**
 * The `/vX.Y` prefix to send to `engine` for a client request made with `requested`
 * ('' when the client used no prefix: the engine then applies its own default).
 */
export function engineVersionPrefix(requested: string | undefined, engine: Pick<Engine, 'apiVersion' | 'minApiVersion'>): string {
  if (!requested) return '';
  let v = requested;
  if (engine.apiVersion && compareVersions(v, engine.apiVersion) > 0) v = engine.apiVersion;
  if (engine.minApiVersion && compareVersions(v, engine.minApiVersion) < 0) v = engine.minApiVersion;
  return `/v${v}`;
}

/**
 * The engine's version middleware: a client version above the advertised maximum or below the
 * minimum is a 400 with dockerd's words (the original let any `/vX.Y` through).
 */
export function checkRequestedVersion(requested: string | undefined, max: string, min: string): void {
  if (!requested) return;
  if (compareVersions(requested, min) < 0) {
    throw new SwarmError('SWARM_ERR_BAD_REQUEST', `client version ${requested} is too old. Minimum supported API version is ${min}, please upgrade your client to a newer version`);
  }
  if (compareVersions(requested, max) > 0) {
    throw new SwarmError('SWARM_ERR_BAD_REQUEST', `client version ${requested} is too new. Maximum supported API version is ${max}`);
  }
}
