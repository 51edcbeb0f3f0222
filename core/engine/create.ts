/**
 * The create pipeline of the original (`Cluster.CreateContainer` + `createContainer`, §5.6):
 * name uniqueness, swarm ID, scheduling under one lock, a pending reservation visible to
 * concurrent creates, `place` taps, engine create (pull on not-found), and the retry rules.
 */
import { randomFillSync } from 'node:crypto';
import type { Logger } from 'pino';
import type { Core } from '../core.ts';
import { SwarmError, isSwarmError } from '../errors.ts';
import { buildRequest, withRules } from '../pipeline/request.ts';
import { schedule, type ScheduleOptions, type ScheduleResult } from '../pipeline/schedule.ts';
import type { ContainerView, CreateSpec, NodeView, Placement, PlacementRequest } from '../types.ts';
import type { NodeList } from '../pipeline/node-list.ts';
import type { ClusterContainer, CreateOptions, DockerJson, Engine, EngineNetwork, PlanReport } from './cluster-api.ts';
import { isImageMissing, type EngineImpl } from './engine.ts';
import { cpusToShares } from './health.ts';
import { hasHardNodeConstraint, stripNodeNames, withLocalNetwork } from './local-network.ts';
import { osTypeConstraints } from './ostype.ts';
import { nameConflictMessage, SWARM_ID_LABEL } from './lookup.ts';
import type { Mutex } from './mutex.ts';

/** An in-flight creation: it holds its name, ports, slot and resources on its node. */
export interface PendingCreation {
  engineAddr: string;
  view: ContainerView;
}

/** What the pipeline needs from the cluster. */
export interface CreateContext {
  readonly core: Core;
  readonly logger: Logger;
  readonly mutex: Mutex;
  readonly createRetry: number;
  /** Options for `schedule` (the rank pool of large clusters). */
  readonly scheduleOptions: ScheduleOptions;
  readonly pending: Map<string, PendingCreation>;
  /** The scheduler's snapshot of every node (see SwarmCluster.snapshot). */
  snapshot(): NodeList;
  /** Names of every cached container of validated engines, plus pending creations. */
  nameRows(): readonly { names: readonly string[] }[];
  /** Same answer as `nameTaken(nameRows(), name)`, from per-engine indexes (no scan of every container). */
  nameInUse(name: string): boolean;
  swarmIdInUse(id: string): boolean;
  engineByAddr(addr: string): EngineImpl | undefined;
  /** True when some engine holds an image matching `ref`. */
  imageExists(ref: string): boolean;
  /** Legacy network lookup over validated engines (ID, `name`, `node/name`, `/name`, ID prefix). */
  network(ref: string): { engine: Engine; network: EngineNetwork } | undefined;
}

export function conflictError(name: string): SwarmError {
  return new SwarmError('SWARM_ERR_CONFLICT', nameConflictMessage(name));
}

/**
 * Random bytes for swarm and request IDs, drawn from the system CSPRNG 2 KB at a time: one `randomBytes`
 * call per create was a measurable share of the manager's CPU at hundreds of creates per second.
 */
const idPool = Buffer.alloc(32 * 64);
let idPoolAt = idPool.length;

/** `bytes` random bytes as hex, from the pool (swarm IDs: 32, request IDs: 16). */
function randomHex(bytes: number): string {
  if (idPoolAt + bytes > idPool.length) {
    randomFillSync(idPool);
    idPoolAt = 0;
  }
  const hex = idPool.toString('hex', idPoolAt, idPoolAt + bytes);
  idPoolAt += bytes;
  return hex;
}

/** Random 64-hex swarm ID, unique in the cluster. */
export function newSwarmId(inUse: (id: string) => boolean): string {
  for (;;) {
    const id = randomHex(32);
    // Like Docker's IDs, never all digits (it would parse as a number in some tools).
    if (/^\d+$/.test(id.slice(0, 12)) || inUse(id)) continue;
    return id;
  }
}

function labelsOf(body: CreateSpec): Record<string, string> {
  const l = (body as DockerJson).Labels;
  return l && typeof l === 'object' ? (l as Record<string, string>) : {};
}

/** The body with a `com.docker.swarm.id` label (kept if already there, e.g. on reschedule). */
export function withSwarmId(body: CreateSpec, inUse: (id: string) => boolean): { body: CreateSpec; swarmId: string } {
  const labels = labelsOf(body);
  const existing = labels[SWARM_ID_LABEL];
  if (existing) return { body, swarmId: existing };
  const swarmId = newSwarmId(inUse);
  return { body: { ...body, Labels: { ...labels, [SWARM_ID_LABEL]: swarmId } }, swarmId };
}

/** What goes to the engine: CpuShares converted from a number of CPUs to engine shares. */
export function engineSpec(spec: CreateSpec, cpus: number, ncpu: number): DockerJson {
  const out: DockerJson = { ...spec };
  if (cpus > 0 && ncpu > 0) {
    out.HostConfig = { ...((spec as DockerJson).HostConfig ?? {}), CpuShares: cpusToShares(cpus, ncpu) };
    delete out.CpuShares; // the legacy top-level field was folded into HostConfig by buildRequest
  }
  return out;
}

/** The reservation record of an in-flight creation. */
export function pendingView(request: PlacementRequest): ContainerView {
  return {
    id: '',
    names: request.name ? [`/${request.name}`] : [],
    image: request.image,
    imageId: '',
    state: 'pending',
    labels: { ...labelsOf(request.spec) },
    portBindings: [...request.portBindings],
    networkMode: request.networkMode,
    exposedPorts: [...request.exposedPorts],
    cpus: request.cpus,
    memory: request.memory,
    created: Math.floor(Date.now() / 1000),
  };
}

export { hasHardNodeConstraint };

/**
 * `buildRequest` plus what the cluster adds before scheduling: endpoint keys without `node/`
 * prefixes, and the soft node constraint + bare NetworkMode of a local-scope network (§4.4).
 */
export function clusterRequest(ctx: Pick<CreateContext, 'snapshot' | 'network'>, body: CreateSpec, name: string): PlacementRequest {
  const stripped = stripNodeNames(body, () => Array.from(ctx.snapshot(), (n) => n.name));
  // The request ID (the tie-break seed) from the pooled random source: buildRequest's own draws one
  // `randomBytes` call per create (~1-2% of the manager's CPU at 1,000 engines).
  return withLocalNetwork(buildRequest(stripped, name, { id: randomHex(16) }), (ref) => {
    const hit = ctx.network(ref);
    return hit && {
      name: String(hit.network.raw.Name ?? ''),
      scope: String(hit.network.raw.Scope ?? ''),
      nodeName: hit.engine.name,
    };
  });
}

/**
 * The placement handed to the `place` hook. The alternatives cost a sort of every fitting node, so
 * they are built only if a tap reads them (a class getter: an object literal's getter would keep
 * the whole ranking alive in V8's old space, see core/pipeline/schedule.ts).
 */
class ScheduledPlacement implements Placement {
  #alternatives: readonly NodeView[] | undefined;
  constructor(readonly request: PlacementRequest, readonly node: NodeView, private readonly result: ScheduleResult) {}
  get alternatives(): readonly NodeView[] {
    return (this.#alternatives ??= this.result.ranked.slice(1).map((r) => r.node));
  }
}

const OS_MISMATCH = /image operating system "([^"]+)" cannot be used on this platform/;
const IMAGE_NOT_FOUND = /image \S* not found|no such image/i;

interface AttemptFlags {
  /** IDs this create returned to its client (a retry's success), never swept as orphans. */
  delivered: Set<string>;
  extraConstraints: string[];
  imageAffinity: boolean;
  dryRun: boolean;
}

/** Keys of pending reservations (only unique within this process). */
let attempts = 0;

async function attempt(ctx: CreateContext, body: CreateSpec, name: string, options: CreateOptions, flags: AttemptFlags): Promise<ClusterContainer> {
  const key = `attempt-${++attempts}`;
  const chosen = await ctx.mutex.run(async () => {
    if (name && ctx.nameInUse(name)) throw conflictError(name);
    let request = clusterRequest(ctx, body, name);
    request = withRules(request, 'constraint', flags.extraConstraints);
    // The image affinity of a retry steers scheduling only; it is not persisted in the labels.
    const scheduled = flags.imageAffinity
      ? { ...request, rules: Object.freeze({ ...request.rules, affinity: Object.freeze([...request.rules.affinity, `image==${request.image}`]) }) }
      : request;
    const result = await schedule(ctx.core, ctx.snapshot(), scheduled, ctx.scheduleOptions);
    const top = result.top;
    if (!top) throw new SwarmError('SWARM_ERR_NO_SUITABLE_NODE', 'no resources available to schedule container');
    if (!flags.dryRun) ctx.pending.set(key, { engineAddr: top.node.addr, view: pendingView(request) });
    return new ScheduledPlacement(request, top.node, result);
  });
  try {
    const spec = await ctx.core.place(chosen.request.spec, chosen);
    const engine = ctx.engineByAddr(chosen.node.addr);
    if (!engine || !engine.isValidated) {
      throw new SwarmError('SWARM_ERR_ENGINE', `engine ${chosen.node.name || chosen.node.addr} is no longer part of the cluster`);
    }
    const body = engineSpec(spec, chosen.request.cpus, engine.cpus);
    if (flags.dryRun) return { engine, container: { summary: {}, view: pendingView(chosen.request) } };
    try {
      const container = await engine.createContainer(body, name, options.authConfig);
      return { engine, container };
    } catch (err) {
      if (answerLost(err)) removeOrphan(ctx, engine, body, flags.delivered);
      throw err;
    }
  } finally {
    ctx.pending.delete(key); // the engine cache holds the container now (or the create failed)
  }
}

/**
 * True when the engine gave no HTTP answer to the create (timeout, reset, hang-up) or created it but
 * could not show it back: then a container may exist that nobody was told about.
 */
function answerLost(err: unknown): boolean {
  if (/refresh didn't report it back/.test((err as Error)?.message ?? '')) return true;
  return typeof (err as { cause?: { statusCode?: unknown } })?.cause?.statusCode !== 'number';
}

/** Best effort, twice: now, and once more later in case the engine was only slow. */
function removeOrphan(
  ctx: CreateContext,
  engine: { removeBySwarmId(id: string, keep: (id: string) => boolean): Promise<number>; name: string },
  body: CreateSpec,
  delivered: ReadonlySet<string>,
): void {
  const labels = (body as { Labels?: Record<string, string> }).Labels;
  const swarmId = labels?.[SWARM_ID_LABEL];
  if (!swarmId) return;
  // A retry of the same create (same swarm ID) may succeed on this engine: never remove what a client got.
  const sweep = (last: boolean) => engine.removeBySwarmId(swarmId, (id) => delivered.has(id)).then((n) => {
    if (n > 0) ctx.logger.warn(`removed ${n} container(s) left by a failed create on ${engine.name} (swarm id ${swarmId})`);
    else if (!last) later();
  }, (err: unknown) => {
    if (last) ctx.logger.error({ err }, `could not remove what a failed create may have left on ${engine.name} (swarm id ${swarmId})`);
    else later();
  });
  const later = () => { setTimeout(() => void sweep(true), 10_000).unref(); };
  void sweep(false);
}

/** The whole pipeline with the legacy retries: OS mismatch, image affinity, `swarm.createretry`. */
export async function createContainer(ctx: CreateContext, rawBody: CreateSpec, name: string, options: CreateOptions = {}): Promise<ClusterContainer> {
  const { body } = withSwarmId(rawBody, ctx.swarmIdInUse);
  // The automatic ostype constraint (§4.4) is asked once, before the first attempt, and persisted like the OS-mismatch one.
  const extraConstraints = await osTypeConstraints(ctx, body, options.authConfig);
  const flags: AttemptFlags = { delivered: new Set(), extraConstraints, imageAffinity: false, dryRun: options.dryRun ?? false };
  let retries = 0;
  let osRetried = false;
  let imageRetried = false;
  for (;;) {
    try {
      const created = await attempt(ctx, body, name, options, flags);
      flags.delivered.add(created.container.view.id);
      return created;
    } catch (err) {
      if (flags.dryRun || isSwarmError(err, 'SWARM_ERR_CONFLICT')) throw err; // a taken name stays taken
      const message = (err as Error).message ?? '';
      const os = OS_MISMATCH.exec(message)?.[1];
      if (os && !osRetried) {
        osRetried = true;
        flags.extraConstraints = [...flags.extraConstraints, `ostype==${os}`];
        continue;
      }
      flags.imageAffinity = false;
      // Legacy matched the text only; a failed pull of a missing image (offline engines) counts too.
      if (!imageRetried && (IMAGE_NOT_FOUND.test(message) || isImageMissing(err))) {
        imageRetried = true;
        const request = safeRequest(body, name);
        if (request && !hasHardNodeConstraint(request) && ctx.imageExists(request.image)) {
          flags.imageAffinity = true;
          retries += 1;
          continue;
        }
      }
      if (retries >= ctx.createRetry) throw err;
      retries += 1;
      ctx.logger.warn(`Failed to create container: ${message}, retrying`);
    }
  }
}

function safeRequest(body: CreateSpec, name: string): PlacementRequest | undefined {
  try {
    return buildRequest(body, name);
  } catch {
    return undefined; // the attempt already failed with the same error
  }
}

/** Scheduling only: which node would get it, who was rejected and why, and the scores. */
export async function plan(ctx: CreateContext, body: CreateSpec, name: string): Promise<PlanReport> {
  let result: ScheduleResult;
  try {
    if (name && ctx.nameInUse(name)) throw conflictError(name);
    result = await schedule(ctx.core, ctx.snapshot(), clusterRequest(ctx, body, name), ctx.scheduleOptions);
  } catch (err) {
    const { rejected, pass } = err as { rejected?: unknown; pass?: unknown };
    return {
      pass: pass === 1 ? 1 : 2,
      rejected: Array.isArray(rejected) ? rejected : [],
      scores: [],
      error: (err as Error).message ?? String(err),
    };
  }
  const top = result.ranked[0]?.node;
  return {
    ...(top ? { node: { id: top.id, name: top.name, addr: top.addr } } : {}),
    pass: result.pass,
    rejected: result.rejected.map((r) => ({ ...r })),
    scores: result.ranked.map((r) => ({ node: r.node.id, name: r.node.name, score: r.score })),
  };
}

/** A request with nothing asked for: used to find the top-ranked node ("random engine"). */
export async function topNode(ctx: CreateContext): Promise<NodeView | undefined> {
  const result = await schedule(ctx.core, ctx.snapshot(), buildRequest({}, ''), ctx.scheduleOptions);
  return result.ranked[0]?.node;
}
