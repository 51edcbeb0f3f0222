/**
 * One Docker engine: its connection, the legacy state machine (Pending → Healthy ⇄ Unhealthy,
 * Disconnected when removed), and the cached containers, images, networks and volumes.
 * Periodic refresh lives in refresh.ts, the event monitor in monitor.ts; both drive this object.
 */
import './lazy-ssh.ts'; // before dockerode: docker-modem's ssh2 only when used (lazy-ssh.ts)
import { lookup } from 'node:dns/promises';
import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { NodeState, NodeView } from '../types.ts';
import type {
  DockerJson, Engine, EngineContainer, EngineEndpoint, EngineImage, EngineNetwork, EngineVolume,
} from './cluster-api.ts';
import { clockSkew, healthIndicator, isConnectionError, withOvercommit } from './health.ts';
import { containerView, imageView, shiftTimes, summaryFromInspect } from './views.ts';
import { idChangedMessage, readSpecs } from './specs.ts';
import { lineParser } from './events.ts';
import type { ResolvedOptions } from './options.ts';
import { engineError } from './errors.ts';
import { SWARM_ID_LABEL, type ContainerRow } from './lookup.ts';
import { applyEventToCache } from './monitor.ts';
import { EngineTransport, FREE_SOCKET_TIMEOUT, type Outcome, type TransportRequest } from './transport.ts';
import { LeanModem, type DialOptions as ModemDialOptions } from './modem.ts';

/** What an engine reports to the cluster that owns it. */
export interface EngineOwner {
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  /** A state change worth an event: validated, flagged unhealthy, recovered. */
  stateChanged(engine: EngineImpl, change: 'connect' | 'disconnect' | 'reconnect'): void;
  /** A raw engine event, after the cache was updated for it. */
  engineEvent(engine: EngineImpl, event: DockerJson): void;
  /** Error text when another validated engine already has this daemon ID, else undefined. */
  duplicateId(engine: EngineImpl, dockerId: string): string | undefined;
  /** The engine's image list was re-read. */
  imagesChanged?(): void;
  /** The engine's cached containers or identity (name, ID) changed: derived indexes are stale. */
  cacheChanged?(engine: EngineImpl): void;
  /** The engine's failure count changed (its health indicator, hence its node view). */
  healthChanged?(engine: EngineImpl): void;
}

/** A lookup row (lookup.ts) that knows its engine and cached container. */
export type LookupRow = ContainerRow & { entry: { engine: EngineImpl; container: EngineContainer } };

export interface EngineLookup {
  version: number;
  id: string;
  name: string;
  rows: LookupRow[];
  /** Row of each cached entry: a rebuilt index reuses the rows of unchanged entries (see Cluster.syncIndex). */
  rowOf: Map<EngineContainer, LookupRow>;
}

interface CachedContainer extends EngineContainer {
  /** Cache write sequence; a full list keeps entries written after it started. */
  seq: number;
  /** Sequence at which the engine inspect behind `inspect` started (a lower bound). */
  inspectSeq?: number;
  /** That inspect followed this mutating call, sent at `since` (see refreshForEvent). */
  after?: InspectAfter;
  /**
   * Written from the create spec when the engine answered a named create, not from an engine
   * inspect (see createContainer): the start's inspect, or one `CREATED_INSPECT_DELAY` later, replaces it.
   */
  provisional?: true;
}

interface InspectAfter {
  action: 'create' | 'start';
  since: number;
}

type DialOptions = TransportRequest;

const INSPECT_CONCURRENCY = 8;

/**
 * A named container the manager created is cached from its create spec at once, and inspected only
 * this long afterwards if nothing (its start, an event) inspected it before: `docker run` (create
 * then start, a few ms apart) costs one engine inspect instead of two.
 */
export const CREATED_INSPECT_DELAY = 500;

/** Docker's zero time (never started / finished). */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function argList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  return typeof v === 'string' && v !== '' ? [v] : [];
}

/**
 * The inspect an engine would give for a container it just created from `spec`, as far as the spec
 * tells: identity, name, labels, Config, HostConfig (resources, ports, network mode), state
 * `created`. Image defaults (Cmd, Env…), the image ID and engine-filled defaults come with the
 * first real inspect.
 */
export function createdInspect(id: string, name: string, spec: DockerJson, now = Date.now()): DockerJson {
  const { HostConfig, NetworkingConfig: _net, ...config } = spec;
  const command = [...argList(config.Entrypoint), ...argList(config.Cmd)];
  return {
    Id: id,
    Created: new Date(now).toISOString(),
    Path: command[0] ?? '',
    Args: command.slice(1),
    State: {
      Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
      Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME,
    },
    Image: '',
    Name: `/${name}`,
    RestartCount: 0,
    ExecIDs: null,
    HostConfig: { ...(HostConfig ?? {}), NetworkMode: HostConfig?.NetworkMode || 'default' },
    Mounts: [],
    Config: { ...config, Labels: config.Labels ?? {} },
    NetworkSettings: { Ports: {}, Networks: {} },
  };
}

/** Split `host:port` / `[v6]:port`. */
export function splitAddr(addr: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]*):(\d+)$/.exec(addr);
  if (!m) throw new Error(`invalid engine address ${addr}: expected host:port`);
  return { host: m[1], port: Number(m[2]) };
}

export class EngineImpl implements Engine {
  readonly addr: string;
  readonly endpoint: EngineEndpoint;
  id: string;
  name = '';
  ip = '';
  state: NodeState = 'pending';
  labels: Record<string, string> = {};
  cpus = 0;
  memory = 0;
  error = '';
  updatedAt = Date.now();
  failures = 0;
  serverVersion = '';
  apiVersion = '';
  minApiVersion = '';
  info: DockerJson = {};
  version: DockerJson = {};
  /** Last spec (info/version) refresh, ms since epoch. */
  lastSpecs = 0;
  /** True while a validation attempt runs. */
  validating = false;
  /** Set by the first successful validation: from then on the daemon ID may not change. */
  private validatedOnce = false;

  private readonly owner: EngineOwner;
  private readonly log: Logger;
  private readonly transport: EngineTransport;
  /** dockerode on the lean modem (modem.ts): the engine client API. */
  readonly docker: Docker;
  private readonly modem: LeanModem;
  /** Daemon ID from `/info` ('' until the first successful read). */
  dockerId = '';
  private skew = 0;
  private seq = 0;
  private readonly cache = new Map<string, CachedContainer>();
  /** Inspects in flight per container, with the sequence they started at. */
  private readonly inspecting = new Map<string, { seq: number; done: Promise<void>; after?: InspectAfter }>();
  /** Engine create calls in flight (until their container is cached): see refreshForEvent. */
  private readonly creates = new Set<Promise<unknown>>();
  /** Containers cached from their create spec (cacheCreated) and maybe not yet replaced by an inspect. */
  private readonly provisionalIds = new Set<string>();
  /** Containers dropped (destroyed) during a list in flight, with the sequence of the drop. */
  private readonly dropped = new Map<string, number>();
  private imageList: EngineImage[] = [];
  /** The image list as last read (JSON), to tell an unchanged list. */
  private imageText: string | undefined;
  private networkMap = new Map<string, EngineNetwork>();
  private volumeMap = new Map<string, EngineVolume>();
  private closed = false;
  private eventStream: Readable | undefined;
  private eventTimer: NodeJS.Timeout | undefined;
  private eventQueue: Promise<void> = Promise.resolve();
  /** Sequence taken when the current `/events` stream connected; undefined while none is connected. */
  private eventsSeq: number | undefined;
  /** Told of every event as it arrives, before the cache update (core/api's inspect cache). */
  private readonly arrivalTaps = new Set<(event: DockerJson, seq: number) => void>();
  /** Exec ID → container ID, learnt from inspects and `exec_create` events (execs made elsewhere). */
  private readonly execIds = new Map<string, string>();
  /** Called when an unhealthy engine recovers, so the refresh loop can run at once. */
  onRecover: (() => void) | undefined;
  /**
   * Bumped on every change of the cached containers, images or specs: the cluster and `nodeView`
   * rebuild what they derive from this engine only when it moved (every placement asks for all
   * nodes; copying 30,000 containers per placement made throughput fall as the cluster filled).
   */
  cacheVersion = 0;
  private containerList: readonly EngineContainer[] | undefined;
  private lookup: EngineLookup | undefined;
  private baseView: { version: number; state: NodeState; health: number; view: NodeView } | undefined;

  constructor(addr: string, owner: EngineOwner) {
    this.addr = addr;
    this.id = addr;
    this.owner = owner;
    this.log = owner.logger.child({ engine: addr });
    const { host, port } = splitAddr(addr);
    const tls = owner.options.engineTls;
    const timeout = owner.options.requestTimeout;
    this.endpoint = { host, port, ...(tls ? { tls } : {}), ...(timeout > 0 ? { answerTimeout: timeout } : {}) };
    // Keep-alive connections; transport.ts keeps a dying dockerd (serving old connections while
    // refusing new ones) from looking alive. dockerode is the client API on top of it (modem.ts).
    // The kept connection outlives the gap between two refresh ticks (at most the max interval
    // while healthy): otherwise every tick, and the first create after an idle spell, reconnected.
    const idleTimeout = Math.max(FREE_SOCKET_TIMEOUT, 2 * owner.options.refreshMaxInterval);
    this.transport = new EngineTransport({ host, port, ...(tls ? { tls } : {}), timeout, idleTimeout, label: () => this.name || this.addr });
    // Proxied calls (core/api: start, stop, logs…) share that pool instead of their own connection.
    this.endpoint.agent = this.transport.keepAliveAgent;
    // @types/dockerode does not list the `modem` option dockerode accepts.
    this.modem = new LeanModem(this.transport, (o) => this.countOutcome(o));
    this.docker = new Docker({ modem: this.modem } as Docker.DockerOptions);
  }

  // ---- Engine interface -------------------------------------------------------------------

  healthIndicator(): number {
    return healthIndicator(this.state, this.failures, this.owner.options.failureRetry);
  }

  containers(): readonly EngineContainer[] {
    this.containerList ??= [...this.cache.values()];
    return this.containerList;
  }

  /**
   * Lookup rows of the cached containers with ID, swarm-ID and name indexes, rebuilt only after this
   * engine's cache moved: the cluster answers "which container is X" and "is this name taken" per
   * engine instead of scanning every container of the cluster on each create.
   */
  lookupIndex(): EngineLookup {
    const l = this.lookup;
    if (l && l.version === this.cacheVersion && l.id === this.id && l.name === this.name) return l;
    // An entry that did not change keeps its row (the same object): the cluster's indexes then
    // touch only the rows that came or went, instead of all of this engine's containers per create.
    const reuse = l && l.id === this.id && l.name === this.name ? l.rowOf : undefined;
    const rows: LookupRow[] = [];
    const rowOf = new Map<EngineContainer, LookupRow>();
    for (const container of this.containers()) {
      let row = reuse?.get(container);
      if (!row) {
        const view = container.view;
        row = { id: view.id, names: view.names, labels: view.labels, nodeId: this.id, nodeName: this.name, entry: { engine: this, container } };
      }
      rows.push(row);
      rowOf.set(container, row);
    }
    this.lookup = { version: this.cacheVersion, id: this.id, name: this.name, rows, rowOf };
    return this.lookup;
  }

  /** The cache or specs changed: derived lists are rebuilt on next use. */
  private touch(): void {
    this.cacheVersion += 1;
    this.containerList = undefined;
    this.owner.cacheChanged?.(this);
  }

  images(): readonly EngineImage[] {
    return this.imageList;
  }

  networks(): readonly EngineNetwork[] {
    return [...this.networkMap.values()];
  }

  volumes(): readonly EngineVolume[] {
    return [...this.volumeMap.values()];
  }

  get isValidated(): boolean {
    return this.state === 'healthy' || this.state === 'unhealthy';
  }

  /** Scheduler snapshot of this engine; `extra` are in-flight creations placed here. */
  nodeView(extra: readonly NodeView['containers'][number][] = NO_EXTRA): NodeView {
    const health = this.healthIndicator();
    let b = this.baseView;
    // Identity fields (id, name, ip, labels) only change with specs/validation, which bump the version.
    if (!b || b.version !== this.cacheVersion || b.state !== this.state || b.health !== health) {
      const containers = [...this.cache.values()].map((c) => c.view);
      const { overcommit } = this.owner.options;
      b = this.baseView = {
        version: this.cacheVersion,
        state: this.state,
        health,
        view: {
          id: this.id,
          name: this.name,
          addr: this.addr,
          ip: this.ip,
          labels: { ...this.labels },
          state: this.state,
          healthIndicator: health,
          totalCpus: withOvercommit(this.cpus, overcommit),
          totalMemory: withOvercommit(this.memory, overcommit),
          usedCpus: containers.reduce((sum, c) => sum + c.cpus, 0),
          usedMemory: containers.reduce((sum, c) => sum + c.memory, 0),
          containers,
          images: this.imageList.map((i) => i.view),
        },
      };
    }
    const base = b.view;
    // Shared until the engine changes: node views are read-only snapshots for the scheduler.
    if (extra.length === 0) return base;
    return {
      ...base,
      usedCpus: extra.reduce((sum, c) => sum + c.cpus, base.usedCpus),
      usedMemory: extra.reduce((sum, c) => sum + c.memory, base.usedMemory),
      containers: [...base.containers, ...extra],
    };
  }

  /**
   * Legacy `CheckConnectionErr`: success clears the error, resets failures and revives an
   * unhealthy engine; a connection-class error counts; other errors (4xx, 5xx) change nothing.
   */
  recordOutcome(err?: unknown): void {
    if (this.closed) return;
    this.updatedAt = Date.now();
    if (!this.isValidated) return; // pending engines count failures per validation attempt instead
    if (err === undefined || err === null) {
      this.error = '';
      const wasDown = this.state === 'unhealthy';
      const retries = this.failures;
      this.failures = 0;
      if (retries !== 0) this.owner.healthChanged?.(this);
      if (wasDown) {
        this.state = 'healthy';
        this.log.info(`Engine came back to life after ${retries} retries. Hooray!`);
        this.owner.stateChanged(this, 'reconnect');
        this.onRecover?.();
      }
      return;
    }
    if (!isConnectionError(err)) return;
    this.failures += 1;
    this.owner.healthChanged?.(this);
    this.error = (err as Error).message ?? String(err);
    if (this.state === 'healthy' && this.failures >= this.owner.options.failureRetry) {
      this.state = 'unhealthy';
      this.log.error(`Flagging engine as unhealthy. Connect failed ${this.failures} times`);
      this.owner.stateChanged(this, 'disconnect');
    }
  }

  /**
   * Re-inspect one container after a mutating call. With `since` (from `nextSeq()` taken before a
   * start was sent), an inspect of it that started later (the start event's, usually) already shows
   * the start and is used instead of a second engine call.
   */
  refreshContainer(id: string, since?: number): Promise<void> {
    return this.inspectInto(id, since === undefined ? undefined : { action: 'start', since });
  }

  private async inspectInto(id: string, after?: InspectAfter): Promise<void> {
    if (after) {
      const running = this.inspecting.get(id);
      if (running && running.seq > after.since) return running.done;
      if ((this.cache.get(id)?.inspectSeq ?? -1) > after.since) return;
    }
    const seq = ++this.seq;
    const done = this.inspectRaw(id).then((inspect) => {
      if (!inspect) this.drop(id);
      else this.storeContainer(inspect, seq, after);
    });
    done.catch(() => {}); // the caller and any waiter get the failure; this only marks it handled
    this.inspecting.set(id, { seq, done, ...(after ? { after } : {}) });
    try {
      await done;
    } finally {
      if (this.inspecting.get(id)?.seq === seq) this.inspecting.delete(id);
    }
  }

  /**
   * The cache update for a container event that arrived at sequence `arrived` (legacy: re-inspect).
   * The latest inspect of the container, in flight or done, is reused when it already shows what the
   * event announces: it started after the event arrived; or the event is `create` (existence only);
   * or the event is `start` and that inspect followed a start sent before the event arrived.
   * Each container create+start used to cost four inspects; now usually two.
   */
  refreshForEvent(id: string, arrived: number, verb: string, waited = false): Promise<void> {
    const running = this.inspecting.get(id);
    const cached = this.cache.get(id);
    if (verb === 'create' && !running && !cached && !waited && this.creates.size > 0) {
      // The engine sends the create event before its answer: when the container is one of ours,
      // its create caches it once answered, without an inspect. Wait for the creates in flight
      // (this engine's events wait, in order), then look again.
      return Promise.allSettled([...this.creates]).then(() => this.refreshForEvent(id, arrived, verb, true));
    }
    const latest = running ? { seq: running.seq, after: running.after } : cached && { seq: cached.inspectSeq ?? -1, after: cached.after };
    const covered = latest !== undefined && (latest.seq > arrived
      || verb === 'create'
      || (verb === 'start' && latest.after?.action === 'start' && latest.after.since < arrived));
    if (covered) return running ? running.done : Promise.resolve();
    return this.inspectInto(id);
  }

  /** True when the container is in the cache. */
  hasContainer(id: string): boolean {
    return this.cache.has(id);
  }

  /**
   * Sequence at which the current `/events` stream connected (undefined while none is): every event
   * of this engine since then has arrived here, in order, or the stream has ended.
   */
  eventsConnectedSince(): number | undefined {
    return this.eventsSeq;
  }

  /** Call `tap(event, seq)` for each event as it arrives (before the cache update); returns the undo. */
  onEventArrival(tap: (event: DockerJson, seq: number) => void): () => void {
    this.arrivalTaps.add(tap);
    return () => { this.arrivalTaps.delete(tap); };
  }

  /** A new sequence number: events take one when they arrive (see refreshContainer). */
  nextSeq(): number {
    return ++this.seq;
  }

  refreshContainers(): Promise<void> {
    return this.listContainers(true);
  }

  async refreshImages(): Promise<void> {
    const list: DockerJson[] = await this.docker.listImages({ all: true }) as unknown as DockerJson[];
    // The same list as last time (the usual refresh tick): the views, the node view, the cluster's
    // image owners and the scheduler's node snapshot derived from them stay. Rebuilding them on every
    // tick cost a scan of every engine's images per tick at 1,000 engines.
    const text = JSON.stringify(list);
    if (text === this.imageText) return;
    this.imageText = text;
    this.imageList = list.map((raw) => ({ raw, view: imageView(raw) }));
    this.touch();
    this.owner.imagesChanged?.();
  }

  async refreshNetworks(): Promise<void> {
    const list: DockerJson[] = await this.docker.listNetworks() as unknown as DockerJson[];
    this.networkMap = new Map(list.map((raw) => [raw.Id as string, { raw }]));
  }

  async refreshVolumes(): Promise<void> {
    const res = await this.docker.listVolumes() as unknown as DockerJson;
    this.volumeMap = new Map(((res.Volumes ?? []) as DockerJson[]).map((raw) => [raw.Name as string, { raw }]));
  }

  // ---- validation and specs -------------------------------------------------------------------

  /**
   * One validation attempt of a pending engine: resolve, specs, data, event monitor. On success the
   * engine is Healthy and the owner is told; on failure it stays Pending with the error recorded.
   */
  async validate(): Promise<boolean> {
    if (this.closed || this.validating || this.isValidated) return false;
    this.validating = true;
    try {
      this.ip = (await lookup(this.endpoint.host)).address;
      await this.refreshSpecs();
      const dup = this.owner.duplicateId(this, this.dockerId);
      if (dup) throw new Error(dup);
      this.id = `${this.dockerId}|${this.addr}`;
      this.touch();
      this.startEvents();
      await this.listContainers(true);
      await this.refreshImages();
      // Legacy ignores volume and network errors here: old engines lacked those endpoints.
      await Promise.allSettled([this.refreshNetworks(), this.refreshVolumes()]);
      if (this.closed) return false;
      this.state = 'healthy';
      this.validatedOnce = true;
      this.error = '';
      this.failures = 0;
      this.updatedAt = Date.now();
      this.log.info({ id: this.id, name: this.name }, 'engine validated');
      this.owner.stateChanged(this, 'connect');
      return true;
    } catch (err) {
      this.stopEvents();
      if (this.closed) return false;
      this.failures += 1;
      this.error = (err as Error)?.message ?? String(err);
      this.updatedAt = Date.now();
      this.log.warn({ err: this.error }, 'engine validation failed');
      return false;
    } finally {
      this.validating = false;
    }
  }

  /** `/info` + `/version`; a changed daemon ID sends a validated engine back to Pending. */
  async refreshSpecs(): Promise<void> {
    const info = await this.docker.info() as DockerJson;
    const version = await this.docker.version() as unknown as DockerJson;
    const specs = readSpecs(info, this.addr);
    // Before the first validation the address may still be re-pointed (e.g. a duplicate fixed).
    if (this.validatedOnce && specs.dockerId !== this.dockerId) {
      const message = idChangedMessage(this.dockerId, this.addr, specs.dockerId);
      if (this.isValidated) this.backToPending(message);
      throw new Error(message);
    }
    for (const w of specs.warnings) this.log.warn(w);
    this.dockerId = specs.dockerId;
    this.name = specs.name;
    this.cpus = specs.cpus;
    this.memory = specs.memory;
    this.labels = specs.labels;
    this.info = info;
    this.version = version;
    this.serverVersion = String(version.Version ?? info.ServerVersion ?? '');
    this.apiVersion = String(version.ApiVersion ?? '');
    this.minApiVersion = String(version.MinAPIVersion ?? '');
    const skew = clockSkew(Date.now(), Date.parse(String(info.SystemTime ?? '')));
    if (skew !== 0 && skew !== this.skew) this.log.warn(`Check clock on engine: the skew with the manager is ${skew / 1000}s`);
    this.skew = skew;
    this.lastSpecs = Date.now();
    this.touch();
  }

  private backToPending(message: string): void {
    this.state = 'pending';
    this.error = message;
    this.stopEvents();
    this.owner.stateChanged(this, 'disconnect');
  }

  // ---- containers ---------------------------------------------------------------------------

  /** Full list of all containers; `full` inspects every one, otherwise only new or restarting ones. */
  async listContainers(full: boolean): Promise<void> {
    const startSeq = ++this.seq;
    const list = await this.docker.listContainers({ all: true }) as unknown as DockerJson[];
    const next = new Map<string, CachedContainer>();
    const queue = [...list];
    const worker = async () => {
      for (let s = queue.shift(); s; s = queue.shift()) {
        const old = this.cache.get(s.Id);
        // Legacy inspects new and restarting ones; a state that moved since the last inspect (an
        // event missed while the monitor was down) is re-inspected too, so inspect data stays true.
        const needInspect = full || !old || !old.inspect || old.provisional || s.State === 'restarting' || old.inspect.State?.Status !== s.State;
        let inspect = needInspect ? await this.inspectRaw(s.Id) : old.inspect;
        if (needInspect && !inspect) continue; // removed between list and inspect
        if ((this.dropped.get(s.Id) ?? -1) > startSeq) continue; // destroyed while listing
        if (!needInspect && old && old.seq > startSeq) {
          next.set(s.Id, old);
          continue;
        }
        const shifted = shiftTimes(s, needInspect ? inspect : undefined, this.skew);
        if (needInspect) {
          inspect = shifted.inspect;
          for (const e of (inspect?.ExecIDs ?? []) as string[]) this.execIds.set(e, s.Id);
        }
        // The list entry is the freshest summary (state, ports, Status text); the inspect adds details.
        const summary = shifted.summary;
        if (!needInspect && old && sameSummary(old.summary, summary)) {
          // Nothing moved: the same entry (and the views, ps rows and indexes derived from it) stays.
          next.set(s.Id, old);
          continue;
        }
        next.set(s.Id, {
          summary, inspect, view: containerView(summary, inspect, this.cpus), seq: startSeq,
          ...(needInspect ? { inspectSeq: startSeq } : old?.inspectSeq !== undefined ? { inspectSeq: old.inspectSeq } : {}),
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(INSPECT_CONCURRENCY, list.length) }, worker));
    // Containers written by an inspect that started after this list stay (e.g. one just created).
    for (const [id, c] of this.cache) if (!next.has(id) && c.seq > startSeq) next.set(id, c);
    let changed = next.size !== this.cache.size;
    for (const [id, c] of next) if (changed || this.cache.get(id) !== c) { changed = true; break; }
    // A refresh that found nothing new (the usual case) rebuilds nothing: at 1,000 engines every
    // tick used to re-derive every container's view and the engine's node view and indexes.
    if (changed) {
      this.cache.clear();
      for (const [id, c] of next) this.cache.set(id, c);
      this.touch();
    }
    // Drops before this list started are reflected in it; later ones still guard lists in flight.
    for (const [id, at] of this.dropped) if (at <= startSeq) this.dropped.delete(id);
  }

  private storeContainer(rawInspect: DockerJson, seq: number, after?: InspectAfter): CachedContainer {
    const old = this.cache.get(rawInspect.Id);
    const { inspect } = shiftTimes({}, rawInspect, this.skew);
    const summary = summaryFromInspect(inspect!, old?.summary);
    for (const e of (inspect!.ExecIDs ?? []) as string[]) this.execIds.set(e, rawInspect.Id);
    const entry: CachedContainer = { summary, inspect, view: containerView(summary, inspect, this.cpus), seq, inspectSeq: seq, ...(after ? { after } : {}) };
    this.cache.set(rawInspect.Id, entry);
    this.touch();
    return entry;
  }

  /**
   * Cache a container this manager just created from its spec (createdInspect), unless an inspect of
   * it is already cached or running; an engine inspect replaces it at the latest `CREATED_INSPECT_DELAY`
   * later (when its start, an event or a refresh has not done so before).
   */
  private cacheCreated(id: string, name: string, spec: DockerJson): void {
    if (this.closed || this.cache.has(id) || this.inspecting.has(id)) return;
    const inspect = createdInspect(id, name, spec);
    const summary = summaryFromInspect(inspect);
    this.cache.set(id, { summary, inspect, view: containerView(summary, inspect, this.cpus), seq: ++this.seq, after: { action: 'create', since: this.seq }, provisional: true });
    this.provisionalIds.add(id);
    this.touch();
    const timer = setTimeout(() => {
      if (this.closed || !this.cache.get(id)?.provisional || this.inspecting.has(id)) return;
      this.inspectInto(id).catch((err) => this.log.debug({ err, id }, 'inspect after create failed'));
    }, CREATED_INSPECT_DELAY);
    timer.unref();
  }

  /**
   * Replace every entry still made from a create spec (cacheCreated) by the engine's inspect now;
   * resolves when they are done. Undefined when there is none: the common case costs nothing.
   * `ps` asks for it, so that a listing never shows a spec-made entry (no image ID, no image
   * default command).
   */
  settleCreated(): Promise<void> | undefined {
    let waits: Promise<void>[] | undefined;
    for (const id of this.provisionalIds) {
      if (!this.cache.get(id)?.provisional) {
        this.provisionalIds.delete(id);
        continue;
      }
      const running = this.inspecting.get(id);
      (waits ??= []).push(running ? running.done : this.inspectInto(id));
    }
    return waits && Promise.all(waits).then(() => undefined, () => undefined);
  }

  /** Raw inspect, or undefined when the engine says the container does not exist. */
  private async inspectRaw(id: string): Promise<DockerJson | undefined> {
    try {
      return await this.container(id).inspect() as unknown as DockerJson;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  /** Drop from the cache without touching the engine (rescheduling frees the name). */
  forget(id: string): EngineContainer | undefined {
    const c = this.cache.get(id);
    this.cache.delete(id);
    this.touch();
    return c;
  }

  /** The container is gone from the engine (destroy event, remove, 404). */
  drop(id: string): void {
    this.dropped.set(id, ++this.seq);
    this.cache.delete(id);
    this.touch();
    this.dropExecs(id);
  }

  /** Put a container back into the cache. */
  restore(container: EngineContainer): void {
    this.cache.set(container.view.id, { ...container, seq: ++this.seq });
    this.touch();
  }

  /** Container ID that owns an exec, when known. */
  execContainer(execId: string): string | undefined {
    return this.execIds.get(execId);
  }

  rememberExec(execId: string, containerId: string): void {
    this.execIds.set(execId, containerId);
  }

  /** Execs of removed containers are dead: forget them with the container. */
  private dropExecs(containerId: string): void {
    for (const [e, c] of this.execIds) if (c === containerId) this.execIds.delete(e);
  }

  /** Engine create with the given final body; pulls on "No such image" and creates again. */
  async createContainer(spec: DockerJson, name: string, authConfig?: string): Promise<EngineContainer> {
    let sent = 0;
    const create = () => {
      sent = this.nextSeq();
      // docker-modem's `_query`/`_body`: the name in the query, the spec as the body (dockerode
      // would otherwise put every spec field in the query too).
      const call = this.docker.createContainer({ _query: name ? { name } : {}, _body: spec } as Docker.ContainerCreateOptions)
        .then((created) => {
          // Cached before the create event's handler looks (it waits for the creates in flight).
          if (name) this.cacheCreated(created.id, name, spec);
          return created.id;
        });
      this.creates.add(call);
      const forget = () => { this.creates.delete(call); };
      call.then(forget, forget);
      return call;
    };
    let id: string;
    try {
      id = await create();
    } catch (err) {
      if (!isImageNotFound(err) || typeof spec.Image !== 'string') throw engineError(err);
      this.log.info({ image: spec.Image }, 'image not found on the engine, pulling');
      try {
        await this.pull(spec.Image, authConfig);
      } catch (pullErr) {
        const e = engineError(pullErr);
        imageMissing.add(e);
        throw e;
      }
      try {
        id = await create();
      } catch (again) {
        throw engineError(again);
      }
    }
    // An inspect of the new ID already running (a refresh that listed it) is awaited: it is newer.
    const running = this.inspecting.get(id);
    if (running) await running.done.catch(() => {});
    // Unnamed: the engine picked the name, which only an inspect tells. Any inspect of the new ID that
    // started after the create was sent (the create event's, usually in flight by now) shows it.
    if (!this.cache.has(id)) await this.inspectInto(id, { action: 'create', since: sent });
    const entry = this.cache.get(id);
    if (!entry) throw engineError(new Error("Container created but refresh didn't report it back"));
    return entry;
  }

  /**
   * Force-remove the containers labelled `com.docker.swarm.id=<swarmId>`: a create whose answer was
   * lost (timeout, hang-up) may still have made one, and its client was told it failed.
   */
  async removeBySwarmId(swarmId: string, keep: (id: string) => boolean = () => false): Promise<number> {
    const list = await this.docker.listContainers({
      all: true, filters: { label: [`com.docker.swarm.id=${swarmId}`] },
    }) as unknown as DockerJson[];
    const orphans = list.filter((c) => !keep(c.Id as string));
    for (const c of orphans) {
      await this.docker.getContainer(c.Id as string).remove({ force: true, v: true });
    }
    return orphans.length;
  }

  /** Pull `image` on this engine; an error line in the progress stream fails the pull. */
  async pull(image: string, authConfig?: string): Promise<void> {
    const hasTagOrDigest = image.includes('@') || image.lastIndexOf(':') > image.lastIndexOf('/');
    const query = hasTagOrDigest ? { fromImage: image } : { fromImage: image, tag: 'latest' };
    // createImage, not pull: dockerode's pull re-splits the reference (digests, registry ports).
    // `_body: {}` sends no body, like the query-only pull docker-modem makes.
    const stream = await this.docker.createImage(authConfig ? { base64: authConfig } : undefined, { _query: query, _body: {} })
      .catch((err) => { throw engineError(err); }) as Readable;
    await new Promise<void>((resolve, reject) => {
      let failure: string | undefined;
      stream.on('data', lineParser((msg) => { if (msg.error && !failure) failure = String(msg.error); }));
      stream.on('error', (err) => reject(engineError(err)));
      stream.on('end', () => (failure ? reject(engineError(Object.assign(new Error(failure), { statusCode: 500, json: { message: failure } }))) : resolve()));
    });
    await this.refreshImages().catch((err) => this.log.warn({ err }, 'image refresh after pull failed'));
  }

  async startContainer(id: string): Promise<void> {
    const since = this.nextSeq();
    // 304 (already started) is dockerode's error, but a success for us, as for the legacy swarm.
    await this.container(id).start()
      .catch((err) => { if ((err as { statusCode?: number }).statusCode !== 304) throw engineError(err); });
    await this.refreshContainer(id, since);
  }

  async removeContainer(id: string, force: boolean, volumes: boolean): Promise<void> {
    try {
      await this.container(id).remove({ force, v: volumes });
    } catch (err) {
      // The engine no longer has it: the cache was stale.
      if ((err as { statusCode?: number }).statusCode === 404) this.drop(id);
      throw engineError(err);
    }
    this.drop(id);
  }

  async renameContainer(id: string, newName: string): Promise<void> {
    // `_body: {}`: the name goes in the query only, as docker's API has it.
    await this.container(id).rename({ _query: { name: newName }, _body: {} })
      .catch((err) => { throw engineError(err); });
    await this.refreshContainer(id);
  }

  /** Full engine inspect of a container (fresh, not the cache). */
  async inspectContainer(id: string): Promise<DockerJson> {
    return (this.container(id).inspect() as Promise<unknown> as Promise<DockerJson>)
      .catch((err) => { throw engineError(err); });
  }

  // ---- event monitor ------------------------------------------------------------------------

  /** Start the `/events` monitor; on failure it restarts after `min(failures+1, 10)` units. */
  startEvents(): void {
    if (this.closed || this.eventStream || this.eventTimer) return;
    // No request timeout: the stream stays idle for as long as nothing happens on the engine.
    this.eventsStream().then((stream) => {
      // Closed, or a validation that failed meanwhile: nobody wants this stream.
      if (this.closed || (!this.isValidated && !this.validating)) {
        stream.destroy();
        return;
      }
      this.eventStream = stream;
      this.eventsSeq = this.nextSeq();
      stream.on('data', lineParser((event) => this.queueEvent(event),
        (line) => this.log.warn({ line }, 'unparsable engine event')));
      const ended = (err?: Error) => {
        if (this.eventStream !== stream) return;
        this.eventStream = undefined;
        this.eventsSeq = undefined;
        if (err) this.recordOutcome(err);
        this.scheduleEventRestart();
      };
      stream.on('error', ended);
      stream.on('end', () => ended());
      stream.on('close', () => ended());
    }, () => this.scheduleEventRestart());
  }

  private scheduleEventRestart(): void {
    if (this.closed || this.eventTimer || this.state === 'pending' && !this.validating) return;
    const delay = Math.min(this.failures + 1, 10) * this.owner.options.eventRestartUnit;
    this.eventTimer = setTimeout(() => {
      this.eventTimer = undefined;
      this.startEvents();
    }, delay);
    this.eventTimer.unref();
  }

  stopEvents(): void {
    clearTimeout(this.eventTimer);
    this.eventTimer = undefined;
    const stream = this.eventStream;
    this.eventStream = undefined;
    this.eventsSeq = undefined;
    stream?.destroy();
  }

  /** Events are applied in arrival order; each is delivered once its cache update is done. */
  private queueEvent(event: DockerJson): void {
    const arrived = this.nextSeq();
    for (const tap of this.arrivalTaps) {
      try { tap(event, arrived); } catch (err) { this.log.error({ err }, 'event arrival tap failed'); }
    }
    this.eventQueue = this.eventQueue
      .then(() => this.applyEvent(event, arrived))
      .catch((err) => this.log.debug({ err }, 'cache update after event failed'))
      .then(() => {
        if (this.closed) return;
        try {
          this.owner.engineEvent(this, event);
        } catch (err) {
          // A throwing listener must not stall the queue for the next events.
          this.log.error({ err }, 'event listener failed');
        }
      });
  }

  private applyEvent(event: DockerJson, arrived: number): Promise<void> {
    return applyEventToCache(this, event, arrived);
  }

  // ---- plumbing -----------------------------------------------------------------------------

  /**
   * A raw engine call for what dockerode has no method for (ostype.ts's `/distribution`); its
   * outcome counts toward health like every call through `docker` (the same transport and counting).
   */
  dial<T = DockerJson>(opts: DialOptions): Promise<T> {
    return this.transport.request<T>(opts, (o) => this.countOutcome(o));
  }

  /** An answer on a connection older than the last connection failure is not counted. */
  private countOutcome({ err, fresh }: Outcome): void {
    if (err !== undefined || fresh) this.recordOutcome(err);
  }

  /** dockerode's handle of a container; the ID or name is URL-encoded (it goes in the path as is). */
  private container(id: string): Docker.Container {
    return this.docker.getContainer(encodeURIComponent(id));
  }

  /**
   * `GET /events` as dockerode's getEvents sends it, through the modem directly: the stream has no
   * answer timeout (it is idle for as long as nothing happens), which getEvents cannot say.
   */
  private eventsStream(): Promise<Readable> {
    const options: ModemDialOptions = {
      path: '/events?', method: 'GET', options: {}, isStream: true, timeout: 0,
      statusCodes: { 200: true, 500: 'server error' },
    };
    return new Promise((resolve, reject) => {
      this.modem.dial(options, (err, data) => (err ? reject(err) : resolve(data as Readable)));
    });
  }

  /** Stop monitors and drop connections; the engine is Disconnected afterwards. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.state = 'disconnected';
    this.stopEvents();
    this.transport.destroy();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

const NO_EXTRA: readonly NodeView['containers'][number][] = Object.freeze([]);

/**
 * Two list summaries of a container say the same, `Status` aside: that text ("Up 5 minutes") moves
 * with the clock, and ps derives it from the cached inspect's state instead (core/api/ps.ts).
 */
export function sameSummary(a: DockerJson | undefined, b: DockerJson): boolean {
  if (!a) return false;
  const keys = Object.keys(b);
  if (Object.keys(a).length !== keys.length) return false;
  for (const k of keys) {
    if (k === 'Status') continue;
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return false;
    if (JSON.stringify(x) !== JSON.stringify(y)) return false;
  }
  return true;
}

/** Errors of a create whose image was missing on the engine and could not be pulled there. */
const imageMissing = new WeakSet<object>();

export function isImageMissing(err: unknown): boolean {
  return typeof err === 'object' && err !== null && imageMissing.has(err);
}

export function isImageNotFound(err: unknown): boolean {
  const e = err as { statusCode?: number; json?: DockerJson; message?: string };
  const message = String(e?.json?.message ?? e?.message ?? '');
  return e?.statusCode === 404 && /no such image|image .* not found/i.test(message);
}
