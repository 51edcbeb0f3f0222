/**
 * Container inspect answered from the manager's memory while it is provably current.
 *
 * The original asked the engine on every `GET /containers/<ref>/json`, so the manager could never
 * answer faster than the engine plus a hop. Here the engine's bytes of the last proxied inspect are
 * kept (per container, with the API version they were asked with and the engine's headers) and
 * answered again, decorated exactly as the proxy decorates them (`Node`, HostIp), as long as
 * nothing can have changed them. An entry is stored only when all of these hold:
 *
 * - the engine's `/events` stream was connected before the inspect was sent and is still the same
 *   stream when the answer arrived (`eventsConnectedSince()`), so no event of that engine was missed;
 * - no event about the container (any action: exec_*, health_status, rename, update, attach, …, and
 *   network/volume events naming it in `Actor.Attributes.container`) arrived while it was in flight;
 * - no mutating request that may touch the container went through this manager while it was in
 *   flight (see `mutationTargets`);
 * - the answer has no `"Health":{` (health probes rewrite `State.Health.Log` after their exec_die
 *   event, without an event of their own — checked on dockerd 20.10), no `"Restarting":true` (a
 *   restart that fails or is cancelled sets the state without an event), and `"ExecIDs":null` (an
 *   exec running or just ended: dockerd drops it from ExecIDs just after its exec_die event);
 * - the request had no query (`?size=1` and anything else always go to the engine).
 *
 * An entry is dropped as soon as an event about its container arrives (before the engine layer's
 * own re-inspect), when a mutating request for it (or one we cannot attribute) starts and again
 * when it ends, and it is not used once the engine's event stream is not the one it was stored
 * under (disconnected or reconnected). So a cached answer is what the engine would say given every
 * event the manager has received: a change made straight on the engine shows once its event has
 * arrived here. See core/api/README.md (Hot path).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Cluster, ClusterContainer, DockerJson, Engine } from '../engine/cluster-api.ts';
import { decorateInspectBody, nodeJson, splitContainerPath } from './containers.ts';
import { containerId } from './lookup.ts';
import { engineVersionPrefix, stripVersion } from './versions.ts';

/** Containers whose inspect is kept at most (least recently stored dropped first). */
export const INSPECT_CACHE_MAX = 2_000;

interface Entry {
  engine: Engine;
  /** Version prefix of the engine path the answer was asked with (the answer depends on it). */
  version: string;
  /** The engine's `/events` connection the entry is valid under. */
  since: number;
  body: Buffer;
  /** The engine's answer headers as the proxy passes them on (no hop-by-hop, length or date). */
  headers: OutgoingHttpHeaders;
  /** The decorated answer last given, and the `Node` it was decorated with (node IP included). */
  out?: Buffer;
  node?: string;
}

/** An inspect in flight whose answer may be stored. */
export interface InspectTicket {
  id: string;
  engine: Engine;
  version: string;
  since: number;
  dirty: boolean;
}

const NOT_PASSED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host',
  'proxy-authorization', 'proxy-authenticate', 'content-length', 'date',
]);
const HEALTH = Buffer.from('"Health":{');
const RESTARTING = Buffer.from('"Restarting":true');
const NO_EXECS = Buffer.from('"ExecIDs":null');

/** Mutating routes that cannot change any container's inspect answer. */
const HARMLESS = /^\/(images|build|session|auth|volumes|swarm\/plan|_ping)(\/|$|\?)/;

/** `all` | the container IDs a request may change | none (`[]`). */
export type MutationTargets = 'all' | string[];

/**
 * Which cached inspects a request may make stale: none for reads; the addressed container for
 * container, exec and commit routes; every one for anything else that writes (network
 * connect/disconnect, prune, unknown references, routes we do not know).
 */
export function mutationTargets(cluster: Cluster, method: string | undefined, rawUrl: string): MutationTargets {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return [];
  let url = stripVersion(rawUrl).url;
  const q = url.indexOf('?');
  const query = q < 0 ? '' : url.slice(q + 1);
  let path = q < 0 ? url : url.slice(0, q);
  try { path = decodeURIComponent(path); } catch { return 'all'; }
  path = path.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
  url = path;
  if (HARMLESS.test(url)) return [];
  const idOf = (c: ClusterContainer | undefined): MutationTargets => (c ? [containerId(c)] : 'all');
  if (url === '/containers/create') return [];
  if (url.startsWith('/containers/')) {
    const rest = url.slice('/containers/'.length);
    if (rest === 'prune') return 'all';
    return idOf(cluster.container(splitContainerPath(rest).ref));
  }
  const exec = /^\/exec\/([^/]+)\//.exec(url);
  if (exec) return idOf(cluster.execOwner(exec[1]));
  if (url === '/commit') {
    const ref = new URLSearchParams(query).get('container');
    return ref ? idOf(cluster.container(ref)) : 'all';
  }
  return 'all';
}

export class InspectCache {
  /** Answers served from the cache, answers proxied, answers stored (for /debug/vars and tests). */
  hits = 0;
  misses = 0;
  stores = 0;
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Set<InspectTicket>>();
  private readonly watched = new Map<Engine, () => void>();

  /** The stored answer for this container and version, when still valid. */
  lookup(owner: ClusterContainer, version: string): Entry | undefined {
    const id = containerId(owner);
    const e = this.entries.get(id);
    if (!e) return undefined;
    if (e.engine !== owner.engine || e.since !== owner.engine.eventsConnectedSince?.()) {
      this.entries.delete(id);
      return undefined;
    }
    return e.version === version ? e : undefined;
  }

  /** A ticket for an inspect about to be sent, or undefined when its answer could not be kept. */
  begin(owner: ClusterContainer, version: string): InspectTicket | undefined {
    const engine = owner.engine;
    if (!engine.onEventArrival || !engine.eventsConnectedSince || !engine.nextSeq) return undefined;
    this.watch(engine);
    const since = engine.eventsConnectedSince();
    if (since === undefined) return undefined;
    const t: InspectTicket = { id: containerId(owner), engine, version, since, dirty: false };
    let set = this.inFlight.get(t.id);
    if (!set) this.inFlight.set(t.id, (set = new Set()));
    set.add(t);
    return t;
  }

  /** The engine answered 200 with `body`: keep it if the ticket is still clean. */
  store(t: InspectTicket, body: Buffer, headers: IncomingHttpHeaders): void {
    if (t.dirty || t.engine.eventsConnectedSince?.() !== t.since) return;
    if (body.indexOf(HEALTH) >= 0 || body.indexOf(RESTARTING) >= 0 || body.indexOf(NO_EXECS) < 0) return;
    const kept: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined && !NOT_PASSED.has(k)) kept[k] = v;
    this.entries.delete(t.id);
    this.entries.set(t.id, { engine: t.engine, version: t.version, since: t.since, body, headers: kept });
    this.stores += 1;
    if (this.entries.size > INSPECT_CACHE_MAX) this.entries.delete(this.entries.keys().next().value!);
  }

  end(t: InspectTicket): void {
    const set = this.inFlight.get(t.id);
    if (!set) return;
    set.delete(t);
    if (set.size === 0) this.inFlight.delete(t.id);
  }

  /** Drop what a mutating request may change (called when it starts and when it ends). */
  mutation(targets: MutationTargets): void {
    if (targets === 'all') this.clear();
    else for (const id of targets) this.invalidate(id);
  }

  invalidate(id: string): void {
    this.entries.delete(id);
    const set = this.inFlight.get(id);
    if (set) for (const t of set) t.dirty = true;
  }

  /** Drop everything (and dirty every inspect in flight). */
  clear(engine?: Engine): void {
    for (const [id, e] of this.entries) if (!engine || e.engine === engine) this.entries.delete(id);
    for (const set of this.inFlight.values()) for (const t of set) if (!engine || t.engine === engine) t.dirty = true;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Stop listening to the engines. */
  close(): void {
    for (const undo of this.watched.values()) undo();
    this.watched.clear();
    this.entries.clear();
  }

  private watch(engine: Engine): void {
    if (this.watched.has(engine)) return;
    // Engines removed from the cluster are closed; their entries are never valid again
    // (eventsConnectedSince is undefined) and their tap goes with them.
    for (const [e, undo] of this.watched) if (e.state === 'disconnected') { undo(); this.watched.delete(e); this.clear(e); }
    this.watched.set(engine, engine.onEventArrival!((event) => this.onEvent(engine, event)));
  }

  private onEvent(engine: Engine, event: DockerJson): void {
    const type = String(event.Type ?? (event.status !== undefined ? 'container' : ''));
    const attrs = event.Actor?.Attributes as Record<string, unknown> | undefined;
    const other = attrs?.container;
    if (typeof other === 'string' && other !== '') this.invalidate(other);
    if (type !== 'container') return;
    const id = String(event.Actor?.ID ?? event.id ?? '');
    if (id === '') this.clear(engine);
    else this.invalidate(id);
  }
}

/**
 * Answer `GET /containers/<ref>/json` for `owner`: from the cache when valid, else proxied (the
 * answer is stored when it may be). `proxyInspect` is the proxied answer with an optional hook that
 * receives the engine's raw 200 body and headers.
 */
export function answerInspect(
  cache: InspectCache, res: ServerResponse, own: OutgoingHttpHeaders, owner: ClusterContainer,
  query: string, requested: string | undefined,
  proxyInspect: (keep?: (body: Buffer, headers: IncomingHttpHeaders) => void) => Promise<void>,
): Promise<void> {
  if (query !== '') {
    cache.misses += 1;
    return proxyInspect();
  }
  const version = engineVersionPrefix(requested, owner.engine);
  const hit = cache.lookup(owner, version);
  if (hit) {
    cache.hits += 1;
    // Decorated again only when the engine's identity (name, IP, labels, resources) moved.
    const node = nodeJson(owner.engine);
    if (hit.out === undefined || hit.node !== node) {
      hit.out = decorateInspectBody(hit.body, owner);
      hit.node = node;
    }
    const out = hit.out;
    res.writeHead(200, { ...hit.headers, ...own, 'content-length': out.length });
    res.end(out);
    return Promise.resolve();
  }
  cache.misses += 1;
  const ticket = cache.begin(owner, version);
  if (!ticket) return proxyInspect();
  return proxyInspect((body, headers) => cache.store(ticket, body, headers)).finally(() => cache.end(ticket));
}
