/**
 * BuildKit builds through the manager (the original's `cluster/swarm/build.go` + `postSession`,
 * `postBuildCancel`). A BuildKit client opens `POST /session` (HTTP Upgrade to h2c, session ID in
 * `X-Docker-Expose-Session-Uuid`) and sends `POST /build?version=2&session=S&buildid=B`; later it
 * may send `POST /build/cancel?id=B`, and a build whose context the client uploads arrives as a
 * second `POST /build?buildid=upload-request:B`. All of them must reach the engine that runs the
 * build, because the engine ties them together in memory.
 *
 * So the manager remembers build ID → node and session ID → node when `/build` is scheduled
 * (records kept 1 h after the build ends, for sessions shared by later builds), and the other
 * calls wait up to 5 s for that build to be scheduled: a client opens the session before it
 * sends the build.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Cluster, Engine } from '../engine/cluster-api.ts';
import type { ApiContext } from './context.ts';
import { SwarmError } from '../errors.ts';
import { badRequest, internal, notFound } from './errors.ts';
import { hijackUpgrade as containerUpgrade, splice, writeSocketError, type HijackContext } from './hijack.ts';
import { proxy } from './proxy.ts';
import { engineVersionPrefix, stripVersion } from './versions.ts';

/** How long `/session`, `/build/cancel` and upload builds wait for their build (original: 5 s). */
export const BUILD_WAIT_MS = 5_000;
/** How long build and session records live after the build ended (original: 1 h). */
export const BUILD_RECORD_TTL_MS = 60 * 60 * 1000;
/** Build ID prefix of the request that uploads the context of build `<id>`. */
export const UPLOAD_REQUEST_PREFIX = 'upload-request:';
export const SESSION_HEADER = 'x-docker-expose-session-uuid';

/** The node a build was scheduled on. */
export interface BuildNode { id: string; name: string; addr: string }

/** The original's message when nothing was scheduled in time (500). */
export const WAIT_TIMEOUT_MESSAGE = 'timeout waiting for build to start';

type Waiter = (node: BuildNode | undefined) => void;

/**
 * Build ID → node and session ID → node, with waits. One per cluster (shared by the fastify
 * routes and the upgrade listener, which only have the cluster in common).
 */
export class BuildRegistry {
  private readonly byBuild = new Map<string, BuildNode>();
  private readonly bySession = new Map<string, { node: BuildNode; builds: number }>();
  private readonly buildWaiters = new Map<string, Set<Waiter>>();
  private readonly sessionWaiters = new Map<string, Waiter>();

  constructor(private readonly opts: { waitMs?: number; ttlMs?: number } = {}) {}

  /**
   * Record a scheduled build. A session already used by an earlier build keeps its node (the
   * session connection lives on that engine), so the build goes there. Returns the node to use and
   * `done`, to call when the build ended: the records are dropped `ttlMs` later.
   */
  startBuild(sessionId: string, buildId: string, node: BuildNode): { node: BuildNode; done: () => void } {
    if (buildId && this.byBuild.has(buildId)) throw internal('build already started');
    const shared = sessionId ? this.bySession.get(sessionId) : undefined;
    if (shared) {
      node = shared.node;
      shared.builds++;
    } else if (sessionId) {
      this.bySession.set(sessionId, { node, builds: 1 });
    }
    if (buildId) this.byBuild.set(buildId, node);
    if (buildId) this.wake(this.buildWaiters.get(buildId), node);
    if (sessionId) this.sessionWaiters.get(sessionId)?.(node);

    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
      const forget = () => {
        if (buildId && this.byBuild.get(buildId) === node) this.byBuild.delete(buildId);
        const s = sessionId ? this.bySession.get(sessionId) : undefined;
        if (s && --s.builds <= 0) this.bySession.delete(sessionId);
      };
      // Kept for the TTL: a session may serve later builds, a cancel may come late.
      setTimeout(forget, this.opts.ttlMs ?? BUILD_RECORD_TTL_MS).unref();
    };
    return { node, done };
  }

  /** Node of build `buildId`, waiting for it to be scheduled. Rejects with the original's 500. */
  waitBuild(buildId: string): Promise<BuildNode> {
    const known = this.byBuild.get(buildId);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      let set = this.buildWaiters.get(buildId);
      if (!set) this.buildWaiters.set(buildId, (set = new Set()));
      const waiter: Waiter = (node) => {
        clearTimeout(timer);
        set.delete(waiter);
        if (set.size === 0 && this.buildWaiters.get(buildId) === set) this.buildWaiters.delete(buildId);
        if (node) resolve(node);
        else reject(internal(WAIT_TIMEOUT_MESSAGE));
      };
      const timer = setTimeout(() => waiter(undefined), this.opts.waitMs ?? BUILD_WAIT_MS);
      set.add(waiter);
    });
  }

  /** Node of the build using session `sessionId`, waiting for it; one waiter per session (as the original). */
  waitSession(sessionId: string): Promise<BuildNode> {
    const known = this.bySession.get(sessionId);
    if (known) return Promise.resolve(known.node);
    if (this.sessionWaiters.has(sessionId)) {
      return Promise.reject(internal(`already waiting on node for session ${sessionId}`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = (node) => {
        clearTimeout(timer);
        if (this.sessionWaiters.get(sessionId) === waiter) this.sessionWaiters.delete(sessionId);
        if (node) resolve(node);
        else reject(internal(WAIT_TIMEOUT_MESSAGE));
      };
      const timer = setTimeout(() => waiter(undefined), this.opts.waitMs ?? BUILD_WAIT_MS);
      this.sessionWaiters.set(sessionId, waiter);
    });
  }

  /** Build ID known right now (no wait). */
  buildNode(buildId: string): BuildNode | undefined {
    return this.byBuild.get(buildId);
  }

  private wake(set: Set<Waiter> | undefined, node: BuildNode): void {
    if (set) for (const w of [...set]) w(node);
  }
}

const registries = new WeakMap<Cluster, BuildRegistry>();

/** The registry of a cluster (created on first use). */
export function buildRegistry(cluster: Cluster): BuildRegistry {
  let r = registries.get(cluster);
  if (!r) registries.set(cluster, (r = new BuildRegistry()));
  return r;
}

/** The engine of a recorded node now (it may have left the cluster since). */
export function engineOf(cluster: Cluster, node: BuildNode): Engine {
  const engine = cluster.engine(node.id) ?? cluster.engine(node.addr);
  if (!engine) throw new SwarmError('SWARM_ERR_ENGINE', `the node of this build (${node.name}) is no longer in the cluster`);
  return engine;
}

/**
 * The server's 'upgrade' listener: `POST /session` is spliced to the engine of the build using
 * that session; every other upgrade goes to hijack.ts (attach, exec start).
 */
export function hijackUpgrade(ctx: HijackContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const { version, url } = stripVersion(req.url ?? '/');
  const path = url.split('?', 1)[0].replace(/\/+$/, '');
  if (req.method !== 'POST' || path !== '/session') {
    containerUpgrade(ctx, req, socket, head);
    return;
  }
  const sessionId = req.headers[SESSION_HEADER];
  if (typeof sessionId !== 'string' || sessionId === '') {
    writeSocketError(socket, badRequest('no session ID provided'), ctx.advertised());
    return;
  }
  // A client that gives up while we wait must not leave the session waiter behind for nothing.
  let gone = false;
  socket.once('close', () => { gone = true; });
  buildRegistry(ctx.cluster).waitSession(sessionId).then((node) => {
    if (gone) return;
    const engine = engineOf(ctx.cluster, node);
    const full = `${engineVersionPrefix(version, engine)}${url}`;
    ctx.log.debug({ engine: engine.name, session: sessionId, path: full }, 'session hijacked to the node of its build');
    splice(engine.endpoint, req, socket, head, full, (err) => engine.recordOutcome(err), ctx.log);
  }).catch((err: unknown) => {
    if (!gone) writeSocketError(socket, err, ctx.advertised());
  });
}

/**
 * Fastify routes: `POST /session` without an Upgrade header (the original hijacked it all the
 * same; here it is proxied, and the engine answers it) and `POST /build/cancel`.
 */
export default async function session(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  app.post('/session', async (request, reply) => {
    const sessionId = request.headers[SESSION_HEADER];
    if (typeof sessionId !== 'string' || sessionId === '') throw badRequest('no session ID provided');
    const node = await buildRegistry(ctx.cluster).waitSession(sessionId);
    return proxy(request, reply, { engine: engineOf(ctx.cluster, node), path: '/session' });
  });

  app.post('/build/cancel', async (request, reply) => {
    const id = (request.query as Record<string, string | string[] | undefined>).id;
    const buildId = Array.isArray(id) ? id[0] : id;
    if (!buildId) throw badRequest('build ID not provided');
    let node: BuildNode;
    try {
      // A cancel may race the build it cancels (Ctrl-C right after the build was sent).
      node = await buildRegistry(ctx.cluster).waitBuild(buildId);
    } catch {
      // The original answered 500 `timeout waiting for build to start`; an engine answers 200 for
      // an unknown ID. The manager cannot tell which engine to ask, so it says so.
      throw notFound(`No such build: ${buildId}`);
    }
    return proxy(request, reply, { engine: engineOf(ctx.cluster, node), path: '/build/cancel' });
  });
}
