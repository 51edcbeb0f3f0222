/**
 * The cluster: the set of engines keyed by address, pending-engine monitoring, the event fan-in,
 * lookups across engines, and the create pipeline (create.ts) under one scheduling lock.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ClusterAccess, Core } from '../core.ts';
import { SwarmError } from '../errors.ts';
import type { ContainerView, CreateSpec, FailoverEvent, NodeView } from '../types.ts';
import type {
  Cluster, ClusterContainer, CreateOptions, DockerJson, Engine, EngineContainer, EngineNetwork, EngineVolume, PlanReport,
} from './cluster-api.ts';
import * as pipeline from './create.ts';
import type { CreateContext, PendingCreation } from './create.ts';
import { EngineImpl, splitAddr, type EngineLookup, type EngineOwner, type LookupRow } from './engine.ts';
import { enrichEvent, swarmEvent, type NodeRef, type SwarmAction } from './events.ts';
import { pendingRetryDelay } from './health.ts';
import {
  findContainer, findNetwork, findVolume, imageMatches, naturalCompare, nameConflictMessage, nameTaken, SWARM_ID_LABEL,
} from './lookup.ts';
import { Mutex } from './mutex.ts';
import { SnapshotLog } from '../pipeline/lineage.ts';
import { NodeList } from '../pipeline/node-list.ts';
import { resolveOptions, type ClusterOptions, type ResolvedOptions } from './options.ts';
import { RefreshLoop } from './refresh.ts';
import { duplicateIdMessage } from './specs.ts';

export class SwarmCluster implements Cluster, EngineOwner, CreateContext {
  readonly events = new EventEmitter();
  readonly options: ResolvedOptions;
  readonly logger: Logger;
  readonly mutex = new Mutex();
  readonly pending = new Map<string, PendingCreation>();
  readonly core: Core;

  private readonly byAddr = new Map<string, EngineImpl>();
  private readonly loops = new Map<string, RefreshLoop>();
  /** Containers dropped by `forgetContainer`, so `restoreContainer` can put back the full record. */
  private readonly forgotten = new Map<string, EngineContainer>();
  private readonly pendingTimer: NodeJS.Timeout;
  private role: { role: 'primary' | 'replica'; primary?: string };
  private top: EngineImpl | undefined;
  private topRefresh: Promise<void> | undefined;
  private closed = false;

  constructor(core: Core, options: Partial<ClusterOptions>) {
    this.core = core;
    this.options = resolveOptions(options);
    this.logger = this.options.logger;
    this.role = { role: options.role ?? 'primary' };
    this.events.setMaxListeners(0); // one listener per `GET /events` client
    this.pendingTimer = setInterval(() => this.checkPending(), this.options.pendingCheckInterval);
    this.pendingTimer.unref();
  }

  get createRetry(): number {
    return this.options.createRetry;
  }

  get scheduleOptions() {
    return this.options.rankPool ? { pool: this.options.rankPool } : {};
  }

  // ---- engines ------------------------------------------------------------------------------

  engines(): readonly Engine[] {
    return this.sortedEngines();
  }

  /** The last sorted order, the names it was sorted by, and its validated engines; undefined = stale. */
  private sorted: { engines: readonly EngineImpl[]; names: Map<EngineImpl, string>; validated?: EngineImpl[] } | undefined;

  /**
   * Engines in natural name order. Every `snapshot()` (each placement) asks for it, so the order is
   * cached and re-sorted only when an engine comes, goes or changes its name (told by the engine).
   */
  private sortedEngines(): readonly EngineImpl[] {
    if (this.sorted) return this.sorted.engines;
    const engines = [...this.byAddr.values()].sort((a, b) => naturalCompare(a.name, b.name) || naturalCompare(a.addr, b.addr));
    this.sorted = { engines, names: new Map(engines.map((e) => [e, e.name])) };
    return engines;
  }

  /** Validated engines in name order (cached with the order; state changes drop it). */
  private validated(): EngineImpl[] {
    this.sortedEngines();
    const s = this.sorted!;
    s.validated ??= s.engines.filter((e) => e.isValidated);
    return [...s.validated];
  }

  engine(ref: string): Engine | undefined {
    return this.engineImpl(ref);
  }

  private engineImpl(ref: string): EngineImpl | undefined {
    return this.byAddr.get(ref)
      ?? [...this.byAddr.values()].find((e) => e.id === ref)
      ?? [...this.byAddr.values()].find((e) => e.name !== '' && e.name === ref);
  }

  engineByAddr(addr: string): EngineImpl | undefined {
    return this.byAddr.get(addr);
  }

  addEngine(addr: string): void {
    if (this.closed || this.byAddr.has(addr)) return;
    try {
      splitAddr(addr);
    } catch (err) {
      this.logger.error({ addr }, (err as Error).message);
      return;
    }
    const engine = new EngineImpl(addr, this);
    this.byAddr.set(addr, engine);
    this.sorted = undefined;
    this.logger.info({ addr }, 'engine added (pending)');
    void engine.validate();
  }

  removeEngine(addr: string): void {
    const engine = this.byAddr.get(addr);
    if (!engine) return;
    this.loops.get(addr)?.stop();
    this.loops.delete(addr);
    const wasValidated = engine.isValidated;
    const node = engine.nodeView();
    const ref = nodeRef(engine);
    const cached = wasValidated ? engine.containers() : [];
    engine.close();
    this.byAddr.delete(addr);
    this.imagesChanged();
    this.sorted = undefined;
    this.cacheChanged(engine);
    if (this.top === engine) this.top = undefined;
    this.logger.info({ addr, name: engine.name }, 'engine removed');
    if (wasValidated) {
      this.emitSwarm('engine_disconnect', ref);
      // The engine is gone from the cluster, but a failover tap recreates its containers from
      // their cached configuration (inspectContainer): readable until the taps are done.
      const keys = cached.map((c) => {
        const key = `${addr} ${c.view.id}`;
        this.forgotten.set(key, c);
        return key;
      });
      void this.failover({ kind: 'node-down', node: { ...node, state: 'disconnected', healthIndicator: 0 }, containers: node.containers })
        .finally(() => { for (const key of keys) this.forgotten.delete(key); });
    }
  }

  /** Pending engines are retried once `2^failures × unit + base` has passed since their last attempt. */
  private checkPending(): void {
    const now = Date.now();
    for (const engine of this.byAddr.values()) {
      if (engine.state !== 'pending' || engine.validating) continue;
      if (now - engine.updatedAt >= pendingRetryDelay(engine.failures, this.options.pendingRetry)) void engine.validate();
    }
  }

  // ---- EngineOwner --------------------------------------------------------------------------

  stateChanged(engine: EngineImpl, change: 'connect' | 'disconnect' | 'reconnect'): void {
    if (this.closed) return;
    this.imagesChanged();
    this.cacheChanged(engine);
    if (this.sorted) this.sorted.validated = undefined;
    if (change === 'connect') {
      const loop = new RefreshLoop(engine, this.options);
      this.loops.get(engine.addr)?.stop();
      this.loops.set(engine.addr, loop);
      loop.start();
      this.invalidateTop();
    }
    if (change === 'disconnect' && engine.state === 'pending') {
      // Back to pending (daemon ID changed): no refresh until validated again.
      this.loops.get(engine.addr)?.stop();
      this.loops.delete(engine.addr);
    }
    const action: SwarmAction = change === 'connect' ? 'engine_connect' : change === 'reconnect' ? 'engine_reconnect' : 'engine_disconnect';
    this.emitSwarm(action, nodeRef(engine));
    const node = engine.nodeView(this.pendingOn(engine.addr));
    if (change === 'disconnect') {
      this.invalidateTop();
      // Only real containers: in-flight creations have no ID yet and fail on their own.
      const containers = engine.containers().map((c) => c.view);
      void this.failover({ kind: 'node-down', node, containers });
    } else {
      void this.failover({ kind: 'node-up', node });
    }
  }

  engineEvent(engine: EngineImpl, event: DockerJson): void {
    // Enriched copies only for someone listening (`GET /events` clients): two engine events per
    // container created at scale, usually with nobody watching.
    if (this.events.listenerCount('event') === 0) return;
    this.events.emit('event', enrichEvent(event, nodeRef(engine)));
  }

  duplicateId(engine: EngineImpl, dockerId: string): string | undefined {
    const other = [...this.byAddr.values()].find((e) => e !== engine && e.isValidated && e.dockerId === dockerId);
    return other ? duplicateIdMessage(dockerId, engine.addr, other.addr) : undefined;
  }

  private emitSwarm(action: SwarmAction, ref: NodeRef): void {
    this.events.emit('event', swarmEvent(action, ref));
  }

  /** Failover taps run in the background; the core isolates and logs a failing tap. Settles when they are done, never rejects. */
  private failover(event: FailoverEvent): Promise<void> {
    return this.core.failover(event).catch((err) => this.logger.error({ err }, 'failover hook failed'));
  }

  // ---- nodes and containers -----------------------------------------------------------------

  private pendingOn(addr: string): ContainerView[] {
    return [...this.pending.values()].filter((p) => p.engineAddr === addr).map((p) => p.view);
  }

  /**
   * Node views of every engine in name order, without in-flight creations; kept until an engine
   * changes (cache, identity, state, failures: each tells the cluster). Every create asks for all
   * nodes twice: rebuilding 1,000 views each time was the engine layer's largest cost per create.
   */
  private nodesBase: { engines: readonly EngineImpl[]; views: NodeList; at: Map<string, number> } | undefined;
  /** Engines whose slot in `nodesBase` is stale. */
  private readonly nodesDirty = new Set<EngineImpl>();

  healthChanged(engine: EngineImpl): void {
    this.nodesDirty.add(engine);
  }

  /**
   * The last snapshot handed out and where it held pending containers. It is handed out again
   * while nothing changed; each new one is recorded in `snapshots` with the indices that differ
   * from it, so the scheduler need not compare them node by node (core/pipeline/lineage.ts).
   */
  private lastNodes: { out: NodeList; pendingAt: readonly number[] } | undefined;
  private readonly snapshots = new SnapshotLog();

  /** The node views as one frozen array (the snapshot's own, made once per snapshot). */
  nodes(): readonly NodeView[] {
    return this.snapshot().toArray();
  }

  /**
   * The snapshot the scheduler places on: a NodeList (core/pipeline/node-list.ts), so a placement
   * that replaces a node or two copies one chunk of the list, not every node of the cluster.
   */
  snapshot(): NodeList {
    const engines = this.sortedEngines();
    let rebuilt = false;
    if (this.nodesBase?.engines !== engines) {
      this.nodesBase = { engines, views: NodeList.from(engines.map((e) => e.nodeView())), at: new Map(engines.map((e, i) => [e.addr, i])) };
      this.nodesDirty.clear();
      rebuilt = true;
    }
    const base = this.nodesBase;
    const fresh: [number, NodeView][] = [];
    for (const e of this.nodesDirty) {
      const i = base.at.get(e.addr);
      if (i !== undefined && engines[i] === e) fresh.push([i, e.nodeView()]);
    }
    this.nodesDirty.clear();
    if (fresh.length > 0) base.views = base.views.with(fresh);
    const last = this.lastNodes;
    if (!rebuilt && last && fresh.length === 0 && this.pending.size === 0 && last.pendingAt.length === 0) return last.out;
    const overlay: [number, NodeView][] = [];
    if (this.pending.size > 0) {
      const pending = new Map<string, ContainerView[]>();
      for (const p of this.pending.values()) {
        const list = pending.get(p.engineAddr);
        if (list) list.push(p.view);
        else pending.set(p.engineAddr, [p.view]);
      }
      for (const [addr, extra] of pending) {
        const i = base.at.get(addr);
        const engine = this.byAddr.get(addr);
        if (i !== undefined && engine) overlay.push([i, engine.nodeView(extra)]);
      }
    }
    const out = base.views.with(overlay);
    const pendingAt = overlay.map(([i]) => i);
    this.snapshots.record(out, rebuilt || !last ? undefined : [...fresh.map(([i]) => i), ...pendingAt, ...last.pendingAt]);
    this.lastNodes = { out, pendingAt };
    return out;
  }

  // Cluster-wide container indexes, kept up to date per engine: an engine whose cache, state or
  // identity changed is marked dirty, and the next lookup swaps its old contribution for its new one
  // (a create touches one engine; rebuilding from all 30,000 containers per create made throughput
  // fall as the cluster filled).
  private readonly dirty = new Set<EngineImpl>();
  private readonly contributed = new Map<EngineImpl, EngineLookup>();
  private readonly nameCount = new Map<string, number>();
  private readonly swarmIdCount = new Map<string, number>();
  private readonly rowsById = new Map<string, LookupRow[]>();
  /** Every container of the validated engines in engine order; rebuilt on demand after any change. */
  private flat: { list: ClusterContainer[]; rows: LookupRow[] } | undefined;

  /** EngineOwner: the engine's cached containers or identity changed. */
  cacheChanged(engine: EngineImpl): void {
    this.dirty.add(engine);
    this.flat = undefined;
    this.nodesDirty.add(engine);
    if (this.sorted && this.sorted.names.get(engine) !== engine.name && this.byAddr.get(engine.addr) === engine) this.sorted = undefined;
  }

  private syncIndex(): void {
    if (this.dirty.size === 0) return;
    const bump = (m: Map<string, number>, k: string, d: number) => {
      const n = (m.get(k) ?? 0) + d;
      if (n > 0) m.set(k, n);
      else m.delete(k);
    };
    for (const engine of this.dirty) {
      const old = this.contributed.get(engine);
      const alive = !engine.isClosed && this.byAddr.get(engine.addr) === engine && engine.isValidated;
      const index = alive ? engine.lookupIndex() : undefined;
      // Rows of unchanged entries are the same objects in both indexes (EngineImpl.lookupIndex):
      // only the rows that went are taken out and only the new ones put in.
      const now = new Set(index?.rows ?? []);
      const before = new Set(old?.rows ?? []);
      for (const row of before) {
        if (now.has(row)) continue;
        for (const n of row.names) bump(this.nameCount, n, -1);
        const sid = row.labels[SWARM_ID_LABEL];
        if (sid) bump(this.swarmIdCount, sid, -1);
        const same = this.rowsById.get(row.id)?.filter((r) => r !== row) ?? [];
        if (same.length > 0) this.rowsById.set(row.id, same);
        else this.rowsById.delete(row.id);
      }
      for (const row of now) {
        if (before.has(row)) continue;
        for (const n of row.names) bump(this.nameCount, n, 1);
        const sid = row.labels[SWARM_ID_LABEL];
        if (sid) bump(this.swarmIdCount, sid, 1);
        const same = this.rowsById.get(row.id);
        if (same) same.push(row);
        else this.rowsById.set(row.id, [row]);
      }
      if (index) this.contributed.set(engine, index);
      else this.contributed.delete(engine);
    }
    this.dirty.clear();
  }

  private flatIndex(): { list: ClusterContainer[]; rows: LookupRow[] } {
    if (this.flat) return this.flat;
    const rows: LookupRow[] = [];
    for (const engine of this.validated()) for (const row of engine.lookupIndex().rows) rows.push(row);
    this.flat = { list: rows.map((r) => r.entry), rows };
    return this.flat;
  }

  settleCreated(): Promise<void> | undefined {
    let waits: Promise<void>[] | undefined;
    for (const e of this.byAddr.values()) {
      const w = e.settleCreated();
      if (w) (waits ??= []).push(w);
    }
    return waits && Promise.all(waits).then(() => undefined);
  }

  containers(): readonly ClusterContainer[] {
    return this.flatIndex().list;
  }

  container(ref: string): ClusterContainer | undefined {
    // A full ID is the first rule of the legacy lookup, and only a 12-character ref can also match a
    // short ID: a full ID held by one container is answered from the index, the rest by the rules.
    if (ref.length !== 12) {
      this.syncIndex();
      const hit = this.rowsById.get(ref);
      if (hit?.length === 1) return hit[0].entry;
    }
    return findContainer(this.flatIndex().rows, ref)?.entry;
  }

  nameRows(): readonly { names: readonly string[] }[] {
    const rows = this.flatIndex().rows;
    return this.pending.size === 0 ? rows : [...rows, ...[...this.pending.values()].map((p) => p.view)];
  }

  /** `nameTaken(nameRows(), name)` without building the rows: the name index, then pending creations. */
  nameInUse(name: string): boolean {
    const slashed = name.startsWith('/') ? name : `/${name}`;
    this.syncIndex();
    if (this.nameCount.has(name) || this.nameCount.has(slashed)) return true;
    for (const p of this.pending.values()) if (p.view.names.some((n) => n === name || n === slashed)) return true;
    return false;
  }

  swarmIdInUse = (id: string): boolean => {
    this.syncIndex();
    return this.swarmIdCount.has(id) || [...this.pending.values()].some((p) => p.view.labels[SWARM_ID_LABEL] === id);
  };

  execOwner(execId: string): ClusterContainer | undefined {
    for (const engine of this.validated()) {
      const containerId = engine.execContainer(execId);
      if (!containerId) continue;
      const container = engine.containers().find((c) => c.view.id === containerId);
      if (container) return { engine, container };
    }
    return undefined;
  }

  rememberExec(execId: string, owner: ClusterContainer): void {
    (owner.engine as EngineImpl).rememberExec(execId, owner.container.view.id);
  }

  // ---- create and container operations ------------------------------------------------------

  createContainer(body: CreateSpec, name: string, options: CreateOptions = {}): Promise<ClusterContainer> {
    return pipeline.createContainer(this, body, name, options);
  }

  plan(body: CreateSpec, name: string): Promise<PlanReport> {
    return pipeline.plan(this, body, name);
  }

  private mustFind(ref: string, message: string): { engine: EngineImpl; container: EngineContainer } {
    const found = this.container(ref);
    if (!found) throw new SwarmError('SWARM_ERR_NOT_FOUND', message);
    return { engine: found.engine as EngineImpl, container: found.container };
  }

  async removeContainer(ref: string, options: { force: boolean; volumes: boolean }): Promise<void> {
    const { engine, container } = this.mustFind(ref, `Container ${ref} not found`);
    await engine.removeContainer(container.view.id, options.force, options.volumes);
  }

  async renameContainer(ref: string, newName: string): Promise<void> {
    const { engine, container } = this.mustFind(ref, `No such container: ${ref}`);
    // Under the scheduling lock, so a concurrent create cannot take the same name meanwhile.
    await this.mutex.run(async () => {
      if (nameTaken(this.nameRows(), newName)) throw new SwarmError('SWARM_ERR_CONFLICT', nameConflictMessage(newName));
      await engine.renameContainer(container.view.id, newName);
    });
  }

  async startContainer(ref: string): Promise<void> {
    const { engine, container } = this.mustFind(ref, `No such container ${ref}`);
    await engine.startContainer(container.view.id);
  }

  // ---- images, networks, volumes --------------------------------------------------------------

  /** Bumped when an engine's images are re-read or an engine comes, goes or changes state. */
  private imagesEpoch = 0;
  private owners = new Map<string, Engine[]>();
  private ownersEpoch = -1;

  imagesChanged(): void {
    this.imagesEpoch += 1;
  }

  /** Engines holding an image matching `ref`; cached per ref until an image list or the engine set changes. */
  imageOwners(ref: string): Engine[] {
    return [...this.cachedOwners(ref)];
  }

  /** Without the copy: a create only asks whether any engine has its image (1,000 entries copied per create). */
  imageExists(ref: string): boolean {
    return this.cachedOwners(ref).length > 0;
  }

  private cachedOwners(ref: string): readonly Engine[] {
    if (this.ownersEpoch !== this.imagesEpoch || this.owners.size > 1000) {
      this.owners.clear();
      this.ownersEpoch = this.imagesEpoch;
    }
    let hit = this.owners.get(ref);
    if (!hit) {
      hit = this.validated().filter((e) => e.images().some((i) => imageMatches(i.view, ref)));
      this.owners.set(ref, hit);
    }
    return hit;
  }

  network(ref: string): { engine: Engine; network: EngineNetwork } | undefined {
    const rows = this.validated().flatMap((engine) => engine.networks().map((network) => ({
      id: String(network.raw.Id ?? ''), name: String(network.raw.Name ?? ''), nodeId: engine.id, nodeName: engine.name, engine, network,
    })));
    const hit = findNetwork(rows, ref);
    return hit ? { engine: hit.engine, network: hit.network } : undefined;
  }

  volume(ref: string): { engine: Engine; volume: EngineVolume } | undefined {
    const rows = this.validated().flatMap((engine) => engine.volumes().map((volume) => ({
      name: String(volume.raw.Name ?? ''), driver: String(volume.raw.Driver ?? ''), nodeId: engine.id, nodeName: engine.name, engine, volume,
    })));
    const hit = findVolume(rows, ref);
    return hit ? { engine: hit.engine, volume: hit.volume } : undefined;
  }

  /**
   * Top-ranked node for an empty request. Ranking is asynchronous (filters are async hooks), so the
   * last ranking is cached and refreshed in the background; until then the first healthy engine.
   */
  anyEngine(): Engine | undefined {
    void this.refreshTop();
    if (this.top && this.top.state === 'healthy' && this.byAddr.get(this.top.addr) === this.top) return this.top;
    return this.validated().find((e) => e.state === 'healthy');
  }

  /** The same as `anyEngine`, waiting for a fresh ranking. */
  async topEngine(): Promise<Engine | undefined> {
    await this.refreshTop();
    return this.anyEngine();
  }

  private invalidateTop(): void {
    this.top = undefined;
  }

  private refreshTop(): Promise<void> {
    if (this.topRefresh) return this.topRefresh;
    this.topRefresh = pipeline.topNode(this)
      .then((node) => { this.top = node ? this.byAddr.get(node.addr) : undefined; })
      .catch((err) => { this.top = undefined; this.logger.debug({ err }, 'no top-ranked node'); })
      .finally(() => { this.topRefresh = undefined; });
    return this.topRefresh;
  }

  // ---- manager status -----------------------------------------------------------------------

  status(): { role: 'primary' | 'replica'; primary?: string; strategy: string; filters: string[] } {
    return {
      role: this.role.role,
      ...(this.role.role === 'replica' && this.role.primary ? { primary: this.role.primary } : {}),
      strategy: this.core.strategyName(),
      filters: this.core.filterNames(),
    };
  }

  setRole(role: { role: 'primary' | 'replica'; primary?: string }): void {
    this.role = { ...role };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pendingTimer);
    for (const loop of this.loops.values()) loop.stop();
    this.loops.clear();
    for (const engine of this.byAddr.values()) engine.close();
    this.events.removeAllListeners();
  }

  // ---- ClusterAccess (kernel and failover plugins) -------------------------------------------

  access(): ClusterAccess {
    return {
      nodes: () => this.nodes(),
      createContainer: async (body, name) => {
        const created = await this.createContainer(body, name);
        const engine = created.engine as EngineImpl;
        return { id: created.container.view.id, node: engine.nodeView(this.pendingOn(engine.addr)) };
      },
      startContainer: (id) => this.startContainer(id),
      removeContainer: (id, options) => this.removeContainer(id, options),
      forgetContainer: (nodeId, containerId) => {
        const engine = this.engineImpl(nodeId);
        const dropped = engine?.forget(containerId);
        if (dropped) this.forgotten.set(`${engine!.addr} ${containerId}`, dropped);
      },
      restoreContainer: (nodeId, view) => {
        const engine = this.engineImpl(nodeId);
        if (!engine) return;
        const key = `${engine.addr} ${view.id}`;
        const saved = this.forgotten.get(key);
        this.forgotten.delete(key);
        engine.restore(saved ?? { summary: summaryFromView(view), view });
      },
      inspectContainer: async (id) => {
        const hit = this.container(id)?.container
          ?? [...this.forgotten.values()].find((c) => c.view.id === id);
        if (!hit) throw new SwarmError('SWARM_ERR_NOT_FOUND', `No such container ${id}`);
        return createBodyOf(hit);
      },
    };
  }
}

function nodeRef(engine: EngineImpl): NodeRef {
  return { name: engine.name, id: engine.id, addr: engine.addr, ip: engine.ip };
}

/** A list-shaped summary for a container known only by its view (restored by a failover plugin). */
function summaryFromView(view: ContainerView): DockerJson {
  return {
    Id: view.id, Names: [...view.names], Image: view.image, ImageID: view.imageId, State: view.state,
    Labels: { ...view.labels }, Created: view.created, HostConfig: { NetworkMode: view.networkMode },
  };
}

/**
 * The create body that recreates a cached container: Config + HostConfig + NetworkingConfig.
 * CpuShares is given back as a number of CPUs (what the pipeline expects), as the original's cache did.
 */
export function createBodyOf(container: EngineContainer): Record<string, unknown> {
  const inspect = container.inspect;
  if (!inspect) {
    return { Image: container.view.image, Labels: { ...container.view.labels }, HostConfig: { NetworkMode: container.view.networkMode } };
  }
  const endpoints: DockerJson = {};
  for (const [net, ep] of Object.entries((inspect.NetworkSettings?.Networks ?? {}) as DockerJson)) {
    endpoints[net] = { IPAMConfig: ep?.IPAMConfig ?? null, Links: ep?.Links ?? null, Aliases: ep?.Aliases ?? null };
  }
  return {
    ...(inspect.Config ?? {}),
    HostConfig: { ...(inspect.HostConfig ?? {}), CpuShares: container.view.cpus },
    NetworkingConfig: { EndpointsConfig: endpoints },
  };
}
