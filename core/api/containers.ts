/**
 * Container routes. `create` is scheduled by the cluster; everything addressed to one container is
 * routed to its engine (name → full ID in the path), with the cache refreshed after calls that
 * change state; start, rename and rm go through the cluster (name uniqueness, bookkeeping).
 * Names may contain a slash (`node-1/web`), so container paths are matched with a wildcard and
 * split on the known action suffix, like the original's `{name:.*}` routes.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClusterContainer, DockerJson } from '../engine/cluster-api.ts';
import type { ApiContext } from './context.ts';
import { boolParam, readBody, readJson } from './body.ts';
import { badRequest, NOT_FOUND_PAGE, notFound } from './errors.ts';
import { createExec } from './exec.ts';
import { containerId, ownerOf } from './lookup.ts';
import { listContainersJson, PS_CONTENT_TYPE, UNSPECIFIED } from './ps.ts';
import { engineJson, engineRequest, ownHeaders, proxy, proxyRaw, rawQuery, requestedVersion } from './proxy.ts';
import { answerInspect } from './inspect-cache.ts';
import { track } from './settle.ts';
import { SwarmError } from '../errors.ts';
import { checkJsonContentType, referenceError, validateCreateBody } from './validate.ts';

/** Docker's rule for container names. */
const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
export const INVALID_NAME = (n: string) => `Invalid container name (${n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`;

const ACTIONS = [
  'json', 'top', 'logs', 'stats', 'changes', 'export', 'archive', 'attach/ws', 'attach', 'start', 'stop', 'kill',
  'restart', 'pause', 'unpause', 'rename', 'update', 'wait', 'resize', 'copy', 'exec',
];
const ACTION_RE = new RegExp(`^(.+)/(${ACTIONS.map((a) => a.replace('/', '\\/')).join('|')})$`);

/** `node-1/web/logs` → `{ ref: 'node-1/web', action: 'logs' }`; `web` → `{ ref: 'web', action: '' }`. */
export function splitContainerPath(rest: string): { ref: string; action: string } {
  const m = ACTION_RE.exec(rest);
  return m ? { ref: m[1], action: m[2] } : { ref: rest, action: '' };
}

/** Inspect answer with the original's additions: `Node`, and unspecified HostIPs → node IP. */
export function decorateInspect(json: DockerJson, owner: ClusterContainer): DockerJson {
  const e = owner.engine;
  const ports = json?.NetworkSettings?.Ports as Record<string, DockerJson[] | null> | undefined;
  if (ports) {
    for (const [key, bindings] of Object.entries(ports)) {
      if (!bindings) continue;
      // 0.0.0.0 and :: (engines since 20.10 list both) become one binding on the node IP (see ps.ts nodePorts).
      const seen = new Set<string>();
      ports[key] = bindings.filter((b) => {
        if (!UNSPECIFIED.has(b.HostIp)) return true;
        b.HostIp = e.ip;
        if (seen.has(b.HostPort)) return false;
        seen.add(b.HostPort);
        return true;
      });
    }
  }
  json.Node = { ID: e.id, IP: e.ip, Addr: e.addr, Name: e.name, Cpus: e.cpus, Memory: e.memory, Labels: e.labels };
  return json;
}

/**
 * `start` on the owner's engine (304, already running, counts as done). The re-inspect that brings
 * the cache up to date runs after the answer (settle.ts): right after a start the engine holds the
 * container's lock while a short-lived process exits, and `ps`/`info` wait for the refresh anyway.
 */
export async function startOnEngine(ctx: ApiContext, owner: ClusterContainer): Promise<void> {
  const id = containerId(owner);
  const since = owner.engine.nextSeq?.(); // the start event's re-inspect, if it began after this, is reused
  const res = await engineRequest(owner.engine, { method: 'POST', path: `/containers/${id}/start`, body: '' });
  if (res.status !== 204 && res.status !== 304) {
    if (res.status >= 400) engineJson(res); // throws with the engine's status and message
    throw new SwarmError('SWARM_ERR_ENGINE', `unexpected answer ${res.status} to start`);
  }
  track(ctx, `cache refresh after start of ${id}`, owner.engine.refreshContainer(id, since));
}

/** The `Node` object of decorateInspect, as JSON text. */
export function nodeJson(e: ClusterContainer['engine']): string {
  return JSON.stringify({ ID: e.id, IP: e.ip, Addr: e.addr, Name: e.name, Cpus: e.cpus, Memory: e.memory, Labels: e.labels });
}

const HOST_IP = Buffer.from('"HostIp"');
const CLOSE = 0x7d; // '}'

/**
 * `decorateInspect` on the engine's bytes. Without any `HostIp` in the answer (no port bindings,
 * the common case) nothing inside changes: `"Node":{…}` is spliced in before the closing brace,
 * which is what JSON.parse + decorate + JSON.stringify gives, without that round trip on the
 * hottest proxied call. Anything else takes the parse path.
 */
export function decorateInspectBody(body: Buffer, owner: ClusterContainer): Buffer {
  let end = body.length - 1;
  while (end >= 0 && (body[end] === 0x0a || body[end] === 0x0d || body[end] === 0x20 || body[end] === 0x09)) end--;
  if (end < 1 || body[end] !== CLOSE || body.indexOf(HOST_IP) >= 0) {
    return Buffer.from(JSON.stringify(decorateInspect(JSON.parse(body.toString('utf8')) as DockerJson, owner)));
  }
  let prev = end - 1;
  while (prev >= 0 && (body[prev] === 0x0a || body[prev] === 0x0d || body[prev] === 0x20 || body[prev] === 0x09)) prev--;
  const node = nodeJson(owner.engine);
  const insert = Buffer.from(`${body[prev] === 0x7b ? '' : ','}"Node":${node}`);
  return Buffer.concat([body.subarray(0, end), insert, body.subarray(end)]);
}

/**
 * Proxy options of a container inspect (legacy: a fresh engine inspect plus `Node`); `keep` gets the
 * engine's raw 200 answer (the inspect cache, inspect-cache.ts).
 */
export function inspectProxy(owner: ClusterContainer, keep?: (body: Buffer, headers: IncomingHttpHeaders) => void) {
  return {
    engine: owner.engine,
    path: `/containers/${containerId(owner)}/json`,
    transformBody: (body: Buffer, headers: IncomingHttpHeaders) => {
      keep?.(body, headers);
      return decorateInspectBody(body, owner);
    },
  };
}

export default async function containers(app: FastifyInstance, opts: { ctx: ApiContext; bodyLimit: number }): Promise<void> {
  const { ctx, bodyLimit } = opts;
  const { cluster } = ctx;

  const list = async (request: FastifyRequest, reply: FastifyReply) => {
    const json = await listContainersJson(ctx, request.query as Record<string, string | undefined>);
    return reply.header('content-type', PS_CONTENT_TYPE).send(json);
  };
  app.get('/containers/json', list);
  app.get('/containers/ps', list);

  app.post('/containers/create', async (request, reply) => {
    checkJsonContentType(request); // the engine's CheckForJSON comes first
    const q = request.query as Record<string, string | undefined>;
    const name = q.name ?? '';
    if (name !== '' && !VALID_NAME.test(name)) throw badRequest(INVALID_NAME(name));
    const body = await readJson(request, bodyLimit);
    validateCreateBody(body); // types, resources, expressions: a 400 before anything is scheduled
    // Like the engine: an image no node holds is a 404 (`docker run` then pulls it itself, on
    // every node, and creates again), instead of a pull from the create path.
    const image = typeof body.Image === 'string' ? body.Image : '';
    if (image !== '' && !(cluster.imageExists ? cluster.imageExists(image) : cluster.imageOwners(image).length > 0)) {
      // A reference no engine could pull is the engine's 400, not a 404 that sends clients pulling.
      const refError = referenceError(image);
      throw refError ? badRequest(refError) : notFound(`No such image: ${image}`);
    }
    const auth = request.headers['x-registry-auth'];
    const created = await cluster.createContainer(body, name.replace(/^\//, ''), {
      authConfig: typeof auth === 'string' ? auth : undefined,
    });
    reply.code(201);
    return { Id: containerId(created), Warnings: [] };
  });

  /** Proxy to the owner; `refresh` re-inspects the container once the engine has answered. */
  const toOwner = (request: FastifyRequest, reply: FastifyReply, owner: ClusterContainer, action: string, refresh: boolean) =>
    proxy(request, reply, {
      engine: owner.engine,
      path: `/containers/${containerId(owner)}/${action}`,
      after: refresh ? () => owner.engine.refreshContainer(containerId(owner)) : undefined,
      awaitAfter: refresh,
    });

  const dispatch = async (request: FastifyRequest, reply: FastifyReply) => {
    const rest = (request.params as { '*': string })['*'];
    const method = request.method;
    if (method === 'DELETE') {
      const owner = ownerOf(cluster, rest, (r) => `Container ${r} not found`);
      const q = request.query as Record<string, string | undefined>;
      await cluster.removeContainer(containerId(owner), { force: boolParam(q.force), volumes: boolParam(q.v) });
      return reply.code(204).send();
    }
    const { ref, action } = splitContainerPath(rest);
    const key = `${method} ${action}`;
    switch (key) {
      case 'GET json': {
        const owner = ownerOf(cluster, ref);
        const own = ownHeaders(reply);
        const query = rawQuery(request);
        reply.hijack();
        return answerInspect(ctx.inspectCache, reply.raw, own, owner, query, requestedVersion(request.raw),
          (keep) => proxyRaw(request.raw, reply.raw, own, request.log, inspectProxy(owner, keep), query));
      }
      case 'GET top': case 'GET logs': case 'GET stats': case 'GET changes': case 'GET export':
      case 'GET archive': case 'HEAD archive': case 'PUT archive': case 'GET attach/ws':
      case 'POST resize': case 'POST copy': case 'POST attach':
        return toOwner(request, reply, ownerOf(cluster, ref), action, false);
      case 'POST kill': case 'POST pause': case 'POST unpause': case 'POST restart': case 'POST stop':
      case 'POST update': case 'POST wait':
        return toOwner(request, reply, ownerOf(cluster, ref), action, true);
      case 'POST start': {
        const owner = ownerOf(cluster, ref);
        // Pre-1.24 start bodies (HostConfig) are not supported, as in the original: read and dropped.
        await readBody(request, bodyLimit);
        await startOnEngine(ctx, owner);
        return reply.code(204).send();
      }
      case 'POST rename': {
        const owner = ownerOf(cluster, ref);
        const name = (request.query as Record<string, string | undefined>).name ?? '';
        if (!VALID_NAME.test(name)) throw badRequest(INVALID_NAME(name));
        await cluster.renameContainer(containerId(owner), name.replace(/^\//, ''));
        return reply.code(204).send();
      }
      case 'POST exec':
        return createExec(ctx, bodyLimit, request, reply, ref);
      default:
        throw notFound(NOT_FOUND_PAGE);
    }
  };
  app.route({ method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'], url: '/containers/*', exposeHeadRoute: false, handler: dispatch });

  // `docker commit`: routed by the `container` query value, replaced by the full ID.
  app.post('/commit', async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const owner = ownerOf(cluster, q.container ?? '');
    const params = new URLSearchParams(rawQuery(request));
    params.set('container', containerId(owner));
    return proxy(request, reply, {
      engine: owner.engine,
      path: '/commit',
      query: params.toString(),
      after: (status) => (status === 201 ? owner.engine.refreshImages() : undefined),
      awaitAfter: true,
    });
  });
}
