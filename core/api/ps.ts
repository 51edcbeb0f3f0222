/**
 * `GET /containers/json` (drives `docker ps`), aggregated from the cached state of every
 * validated engine (§5.4): names as `/<node>/<name>`, unspecified port IPs replaced by the node
 * IP, status recomputed from cached state (`Host Down` on a node that is not healthy), legacy
 * filters (`node` included), sort by creation, `before` and `limit`.
 */
import type { ClusterContainer, DockerJson, Engine } from '../engine/cluster-api.ts';
import type { ApiContext } from './context.ts';
import { boolParam, intParam, parseFilters } from './body.ts';
import { badRequest, internal, notFound } from './errors.ts';
import { settled, within } from './settle.ts';

/** docker/go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const parseTime = (t: unknown) => (typeof t === 'string' && t && !t.startsWith('0001-') ? Date.parse(t) : NaN);

/** The engine's `State.String()`: `Up 3 minutes (healthy)`, `Exited (0) 2 seconds ago`, … */
export function stateString(state: DockerJson, now = Date.now()): string {
  const started = parseTime(state.StartedAt);
  const finished = parseTime(state.FinishedAt);
  if (state.Running) {
    if (state.Paused) return `Up ${humanDuration(now - started)} (Paused)`;
    if (state.Restarting) return `Restarting (${state.ExitCode}) ${humanDuration(now - finished)} ago`;
    const h = state.Health?.Status as string | undefined;
    const health = h === 'starting' ? ' (health: starting)' : h && h !== 'none' ? ` (${h})` : '';
    return `Up ${humanDuration(now - started)}${health}`;
  }
  if (state.Status === 'removing') return 'Removal In Progress';
  if (state.Dead) return 'Dead';
  if (Number.isNaN(started) || state.StartedAt === ZERO_TIME) return 'Created';
  if (Number.isNaN(finished)) return '';
  return `Exited (${state.ExitCode}) ${humanDuration(now - finished)} ago`;
}

/**
 * The first time after `now` at which `humanDuration` of the time since `from` may read
 * differently (a little early is fine: the text is then recomputed unchanged).
 */
export function durationTextUntil(from: number, now: number): number {
  const ms = now - from;
  if (!(ms >= 0)) return now; // clock skew or unparsable: recompute every time
  if (ms < 60_000) return from + (Math.floor(ms / 1000) + 1) * 1000;
  if (ms < 3_600_000) return from + (Math.floor(ms / 60_000) + 1) * 60_000;
  // Hours are rounded: the text changes on half hours; days, weeks… on (a multiple of) those too.
  return from + (Math.floor(ms / 1_800_000) + 1) * 1_800_000;
}

/** Until when `stateString(state, now)` stays what it is at `now`. */
export function stateStringUntil(state: DockerJson, now: number): number {
  if (state.Running) {
    if (state.Restarting && !state.Paused) return durationTextUntil(parseTime(state.FinishedAt), now);
    return durationTextUntil(parseTime(state.StartedAt), now);
  }
  if (state.Status === 'removing' || state.Dead) return Infinity;
  const started = parseTime(state.StartedAt);
  const finished = parseTime(state.FinishedAt);
  if (Number.isNaN(started) || state.StartedAt === ZERO_TIME || Number.isNaN(finished)) return Infinity;
  return durationTextUntil(finished, now);
}

/** Host IPs that mean "every address": shown as the node's IP. */
export const UNSPECIFIED = new Set(['', '0.0.0.0', '::']);

/**
 * Ports with unspecified IPs replaced by the node IP, as the original did. Engines since 20.10 list a
 * published port twice, on `0.0.0.0` and on `::`; both become the node IP, and the second copy is
 * dropped (`docker ps` showed `10.0.0.1:80->80/tcp, 10.0.0.1:80->80/tcp`; the engines of the
 * original's time listed it once).
 */
function nodePorts(ports: DockerJson[], ip: string): DockerJson[] {
  const out: DockerJson[] = [];
  let seen: Set<string> | undefined;
  for (const p of ports) {
    if (p.IP === undefined || !UNSPECIFIED.has(p.IP)) {
      out.push(p);
      continue;
    }
    const key = `${p.PublicPort}/${p.PrivatePort}/${p.Type}`;
    seen ??= new Set();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...p, IP: ip });
  }
  return out;
}

/** What fastify sends with a serialised object; the pre-serialised answer keeps it. */
export const PS_CONTENT_TYPE = 'application/json; charset=utf-8';

interface CachedRow {
  row: DockerJson;
  /** What the row was computed from: the cache entry's parts and its engine's name, IP and health. */
  summary: unknown;
  inspect: unknown;
  view: unknown;
  node: string;
  ip: string;
  healthy: boolean;
  /** The Status text is time-dependent ("Up 3 seconds"): valid until then. */
  until: number;
}

/**
 * Rows per engine cache entry. The engine layer replaces an entry (and its summary/inspect objects)
 * on every change, so the row of an unchanged entry is reused as long as its node and its Status
 * text are unchanged. Rows are shared: nobody may mutate what `psRow` returns.
 */
const rowCache = new WeakMap<object, CachedRow>();

/** `psEntry`, computed once per engine cache entry (see `rows`). */
export function psRow(c: ClusterContainer, now: number): DockerJson {
  const { engine, container } = c;
  const healthy = engine.state === 'healthy';
  const hit = rowCache.get(container);
  if (hit && now < hit.until && hit.healthy === healthy && hit.node === engine.name && hit.ip === engine.ip
    && hit.summary === container.summary && hit.inspect === container.inspect && hit.view === container.view) return hit.row;
  const row = psEntry(c, now);
  const state = container.inspect?.State as DockerJson | undefined;
  rowCache.set(container, {
    row, summary: container.summary, inspect: container.inspect, view: container.view, node: engine.name, ip: engine.ip, healthy,
    until: healthy && state ? stateStringUntil(state, now) : Infinity,
  });
  return row;
}

/** One `docker ps` row for a cached container. */
export function psEntry(c: ClusterContainer, now = Date.now()): DockerJson {
  const { engine, container } = c;
  const s = container.summary ?? {};
  const out: DockerJson = { ...s };
  out.Names = (s.Names as string[] | undefined ?? container.view.names).map((n) => `/${engine.name}${n.startsWith('/') ? n : `/${n}`}`);
  out.Ports = nodePorts(s.Ports as DockerJson[] | undefined ?? [], engine.ip);
  if (engine.state !== 'healthy') out.Status = 'Host Down';
  else if (container.inspect?.State) out.Status = stateString(container.inspect.State, now);
  out.State = container.inspect?.State?.Status ?? s.State ?? container.view.state;
  return out;
}

function nameMatches(re: RegExp, c: ClusterContainer): boolean {
  return c.container.view.names.some((n) => re.test(n.replace(/^\//, '')));
}

function labelMatches(labels: Record<string, string>, f: string): boolean {
  const i = f.indexOf('=');
  if (i < 0) return Object.hasOwn(labels, f);
  return labels[f.slice(0, i)] === f.slice(i + 1);
}

function regex(name: string, v: string): RegExp {
  try {
    return new RegExp(v);
  } catch {
    throw badRequest(`invalid filter '${name}=${v}'`);
  }
}

const STATUSES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);

/** The filters, each a predicate; unknown filters are ignored, as in the original. */
function buildFilters(filters: Record<string, string[]>): ((c: ClusterContainer, row: DockerJson) => boolean)[] {
  const out: ((c: ClusterContainer, row: DockerJson) => boolean)[] = [];
  const any = (vals: string[] | undefined, fn: (v: string) => (c: ClusterContainer, row: DockerJson) => boolean) => {
    if (!vals || vals.length === 0) return;
    const preds = vals.map(fn);
    out.push((c, row) => preds.some((p) => p(c, row)));
  };
  any(filters.name, (v) => { const re = regex('name', v); return (c) => nameMatches(re, c); });
  any(filters.id, (v) => (c) => c.container.view.id.startsWith(v));
  // Several label filters must all match (as the engine does).
  for (const l of filters.label ?? []) out.push((c) => labelMatches(c.container.view.labels as Record<string, string>, l));
  any(filters.status, (v) => {
    if (!STATUSES.has(v)) throw badRequest(`Unrecognised filter value for status: ${v}`);
    return (_c, row) => row.State === v;
  });
  any(filters.node, (v) => { const re = regex('node', v); return (c) => re.test(c.engine.name); });
  any(filters.health, (v) => (c) => (c.container.inspect?.State?.Health?.Status ?? 'none') === v);
  any(filters['is-task'], (v) => (c) => (c.container.view.labels['com.docker.swarm.task'] !== undefined) === (v === 'true'));
  any(filters.volume, (v) => (_c, row) => ((row.Mounts as DockerJson[] | undefined) ?? []).some((m) => m.Name === v || m.Destination === v));
  any(filters.network, (v) => (_c, row) => Object.entries(((row.NetworkSettings as DockerJson | undefined)?.Networks ?? {}) as Record<string, DockerJson>)
    .some(([name, n]) => name === v || (typeof n.NetworkID === 'string' && n.NetworkID.startsWith(v))));
  any(filters.exited, (v) => {
    const code = Number(v);
    // The original answered 500 for a bad `exited` value.
    if (!Number.isInteger(code)) throw internal(`strconv.Atoi: parsing "${v}": invalid syntax`);
    return (c, row) => row.State === 'exited' && (c.container.inspect?.State?.ExitCode ?? exitCodeOf(row.Status)) === code;
  });
  return out;
}

function exitCodeOf(status: unknown): number | undefined {
  const m = /^Exited \((-?\d+)\)/.exec(String(status ?? ''));
  return m ? Number(m[1]) : undefined;
}

export async function listContainers(ctx: ApiContext, query: Record<string, string | undefined>): Promise<DockerJson[]> {
  const { cluster, options } = ctx;
  const filters = parseFilters(query.filters);
  let all = boolParam(query.all);
  const limit = intParam('limit', query.limit);
  const before = query.before;
  if ((filters.status ?? []).some((s) => s !== 'running')) all = true;

  const refresh: Promise<void>[] = [];
  if (options.refreshOnNodeFilter) {
    for (const n of filters.node ?? []) {
      const e = cluster.engines().find((x) => x.name === n);
      if (e) refresh.push(e.refreshContainers());
    }
  }
  if (options.containerNameRefreshFilter && (filters.name ?? []).includes(options.containerNameRefreshFilter)) {
    for (const e of cluster.engines()) if (e.state === 'healthy') refresh.push(e.refreshContainers());
  }
  await Promise.allSettled(refresh);
  await settled(ctx); // a start that just answered: list what it changed
  // A container created a moment ago is cached from its spec until the engine's inspect comes
  // (core/engine/README.md): ask for that inspect now rather than list the spec's guesses.
  await within(cluster.settleCreated?.());

  const preds = buildFilters(filters);
  const showHidden = all || before !== undefined || (limit !== undefined && limit > 0);
  const rows: { c: ClusterContainer; row: DockerJson }[] = [];
  const now = Date.now();
  for (const c of cluster.containers()) {
    const healthy = c.engine.state === 'healthy';
    const row = psRow(c, now);
    // "Running" as the engine means it: paused and restarting containers are running too.
    const running = row.State === 'running' || row.State === 'paused' || row.State === 'restarting';
    if (!showHidden && (!running || !healthy)) continue;
    // Swarm's own containers stay hidden unless asked for.
    if (!all && c.container.view.image.split(':')[0] === 'swarm') continue;
    if (!preds.every((p) => p(c, row))) continue;
    rows.push({ c, row });
  }
  rows.sort((a, b) => (b.c.container.view.created - a.c.container.view.created) || String(a.row.Id).localeCompare(String(b.row.Id)));

  let list = rows;
  if (before !== undefined) {
    const target = cluster.container(before);
    if (!target) throw notFound(`No such container ${before}`);
    const i = list.findIndex((r) => r.c.container.view.id === target.container.view.id);
    list = i < 0 ? [] : list.slice(i + 1);
  }
  if (limit !== undefined && limit > 0) list = list.slice(0, limit);
  return list.map((r) => r.row);
}


/** Last answers per query: the rows they were made of (by identity) and their JSON text. */
const answers = new WeakMap<ApiContext, Map<string, { rows: readonly DockerJson[]; json: string }>>();
const MAX_CACHED_QUERIES = 32;

/**
 * `listContainers` as the JSON text of the answer. Rows are shared per cache entry (`psRow`), so an
 * answer made of the very same rows as last time for the same query is the same text: it is
 * serialised once per change (or per Status tick), not per call.
 */
export async function listContainersJson(ctx: ApiContext, query: Record<string, string | undefined>): Promise<string> {
  const list = await listContainers(ctx, query);
  let cache = answers.get(ctx);
  if (!cache) answers.set(ctx, (cache = new Map()));
  const key = JSON.stringify(query);
  const last = cache.get(key);
  if (last && last.rows.length === list.length && last.rows.every((r, i) => r === list[i])) return last.json;
  const json = JSON.stringify(list);
  if (!last && cache.size >= MAX_CACHED_QUERIES) cache.delete(cache.keys().next().value as string);
  cache.set(key, { rows: list, json });
  return json;
}

export type { Engine };
