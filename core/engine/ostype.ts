/**
 * Automatic ostype constraint of the original (§4.4, `setOSTypeConstraint`): on container create,
 * unless some constraint already mentions `ostype`, one engine (the top-ranked node for an empty
 * config) is asked `GET /distribution/<image>/json`; its platforms become a hard constraint
 * `ostype==<os>` (one OS) or `ostype==/(a)|(b)/` (several), persisted in the constraints label by
 * the caller. Any failure (no registry, private image without credentials, unknown image) adds
 * nothing.
 *
 * Deliberate difference: legacy asked on every create. Here the answer (or the failure) is kept
 * per image reference and credentials; after `OSTYPE_TTL_MS` the next create still uses it and
 * asks again in the background. Only the first create of an image waits for the call, at most
 * `OSTYPE_WAIT_MS` (the call goes on and fills the cache; an OS mismatch is still caught by the
 * create's OS-mismatch retry), and concurrent creates share one call. Measured on the kit engines:
 * the call costs 10-40 ms against a loopback registry and 2-20 ms when the registry is
 * unreachable, with about one offline call in 30 taking 5 s inside dockerd — hence the cap.
 */
import { createHash } from 'node:crypto';
import type { CreateSpec } from '../types.ts';
import type { DockerJson, Engine } from './cluster-api.ts';
import type { EngineImpl } from './engine.ts';

export const OSTYPE_TTL_MS = 30_000;
export const OSTYPE_WAIT_MS = 2_000;

const CONSTRAINTS_LABEL = 'com.docker.swarm.constraints';
/** What a reference may contain; anything else is not sent to the engine as a path. */
const REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._\-/:@+]*$/;

/**
 * The constraint for the platforms of a `/distribution` answer: distinct OS names in order of
 * appearance; none → undefined.
 */
export function osTypeRule(platforms: unknown): string | undefined {
  if (!Array.isArray(platforms)) return undefined;
  const seen: string[] = [];
  for (const p of platforms) {
    const os = p && typeof p === 'object' ? (p as { os?: unknown }).os : undefined;
    if (typeof os === 'string' && os !== '' && !seen.includes(os)) seen.push(os);
  }
  if (seen.length === 0) return undefined;
  if (seen.length === 1) return `ostype==${seen[0]}`;
  return `ostype==/${seen.map((os) => `(${os})`).join('|')}/`;
}

/** True when an env `constraint:` entry or the constraints label already mentions `ostype` (legacy: substring). */
export function mentionsOsType(body: CreateSpec): boolean {
  const b = body as DockerJson;
  if (Array.isArray(b.Env)) {
    for (const entry of b.Env) if (typeof entry === 'string' && entry.startsWith('constraint:') && entry.includes('ostype')) return true;
  }
  const labels = b.Labels;
  const label = labels && typeof labels === 'object' ? (labels as Record<string, unknown>)[CONSTRAINTS_LABEL] : undefined;
  return typeof label === 'string' && label.includes('ostype');
}

export interface OsTypeContext {
  engineByAddr(addr: string): EngineImpl | undefined;
  /**
   * The cluster's cached top-ranked node for an empty config ("random engine"). Optional because
   * `CreateContext` does not declare it: the cluster (which is the create context) has it.
   */
  anyEngine?(): Engine | undefined;
}

interface Entry {
  /** When the current answer was asked for; after `OSTYPE_TTL_MS` it is asked again (in the background). */
  asked: number;
  /** Last use, for eviction. */
  used: number;
  /** True once some answer (or failure) has settled; `value` is then what it said. */
  known: boolean;
  value: string | undefined;
  /** The call in flight, if any. */
  inflight?: Promise<string | undefined>;
}

/** One cache per cluster (the create context), so tests and several managers in a process stay apart. */
const caches = new WeakMap<object, Map<string, Entry>>();
const MAX_ENTRIES = 1000;
const IDLE_MS = 10 * 60_000;

function cacheOf(ctx: object): Map<string, Entry> {
  let c = caches.get(ctx);
  if (!c) caches.set(ctx, (c = new Map()));
  return c;
}

function evict(cache: Map<string, Entry>, now: number): void {
  if (cache.size <= MAX_ENTRIES) return;
  for (const [k, e] of cache) if (e.used < now - IDLE_MS) cache.delete(k);
  if (cache.size > MAX_ENTRIES) cache.clear(); // a flood of distinct images: start over
}

/** Asks one engine; resolves undefined on any failure. */
export function lookupOsType(engine: Pick<EngineImpl, 'dial'>, image: string, authConfig?: string): Promise<string | undefined> {
  return engine
    .dial<DockerJson>({ path: `/distribution/${image}/json`, method: 'GET', ...(authConfig ? { auth: authConfig } : {}) })
    .then((answer) => osTypeRule(answer?.Platforms), () => undefined);
}

/**
 * The constraints to add to a create: `[]` or one `ostype==…` rule. Never throws.
 * `now` and `waitMs` are parameters for tests.
 */
export async function osTypeConstraints(
  ctx: OsTypeContext,
  body: CreateSpec,
  authConfig?: string,
  opts: { now?: number; waitMs?: number } = {},
): Promise<string[]> {
  const image = (body as DockerJson).Image;
  if (typeof image !== 'string' || !REFERENCE.test(image) || mentionsOsType(body)) return [];
  const now = opts.now ?? Date.now();
  const cache = cacheOf(ctx);
  // Credentials are keyed by hash: the cache outlives the request and should not hold them.
  const key = authConfig ? `${image}\n${createHash('sha256').update(authConfig).digest('base64')}` : image;
  let entry = cache.get(key);
  if (!entry) {
    entry = { asked: now, used: now, known: false, value: undefined };
    if (!ask(ctx, entry, image, authConfig, now)) return [];
    cache.set(key, entry);
    evict(cache, now);
  }
  entry.used = now;
  if (entry.known) {
    // Stale: answer with the last value now and refresh in the background (only cold lookups wait).
    if (!entry.inflight && entry.asked + OSTYPE_TTL_MS <= now) ask(ctx, entry, image, authConfig, now);
    return entry.value ? [entry.value] : [];
  }
  const inflight = entry.inflight;
  if (!inflight) return [];
  let timer: NodeJS.Timeout | undefined;
  const waited = await Promise.race([
    inflight,
    new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), opts.waitMs ?? OSTYPE_WAIT_MS); }),
  ]);
  clearTimeout(timer);
  return waited ? [waited] : [];
}

/** Starts a lookup for `entry` on the top-ranked engine; false when there is no engine to ask. */
function ask(ctx: OsTypeContext, entry: Entry, image: string, authConfig: string | undefined, now: number): boolean {
  const top = ctx.anyEngine?.();
  const engine = top ? ctx.engineByAddr(top.addr) : undefined;
  if (!engine) return false;
  entry.asked = now;
  const inflight = lookupOsType(engine, image, authConfig).then((value) => {
    entry.value = value;
    entry.known = true;
    entry.inflight = undefined;
    return value;
  });
  entry.inflight = inflight;
  return true;
}
