/**
 * Container routes. `create` is scheduled by the cluster; everything addressed to one container is
 * routed to its engine (name → full ID in the path), with the cache refreshed after calls that
 * change state; start, rename and rm go through the cluster (name uniqueness, bookkeeping).
 * Names may contain a slash (`node-1/web`), so container paths are matched with a wildcard and
 * split on the known action suffix, like the original's `{name:.*}` routes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ClusterContainer, DockerJson } from '../engine/cluster-api.ts';
import type { ApiContext } from './context.ts';
import { boolParam, readBody, readJson } from './body.ts';
import { badRequest, NOT_FOUND_PAGE, notFound } from './errors.ts';
import { createExec } from './exec.ts';
import { containerId, ownerOf } from './lookup.ts';
import { listContainers } from './ps.ts';
import { proxy, rawQuery } from './proxy.ts';
import { checkJsonContentType, validateCreateBody } from './validate.ts';

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
    for (const bindings of Object.values(ports)) {
      for (const b of bindings ?? []) if (b.HostIp === '' || b.HostIp === '0.0.0.0' || b.HostIp === '::') b.HostIp = e.ip;
    }
  }
  json.Node = { ID: e.id, IP: e.ip, Addr: e.addr, Name: e.name, Cpus: e.cpus, Memory: e.memory, Labels: e.labels };
  return json;
}

export default async function containers(app: FastifyInstance, opts: { ctx: ApiContext; bodyLimit: number }): Promise<void> {
  const { ctx, bodyLimit } = opts;
  const { cluster } = ctx;

  const list = async (request: FastifyRequest) => listContainers(ctx, request.query as Record<string, string | undefined>);
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
    if (image !== '' && cluster.imageOwners(image).length === 0) throw notFound(`No such image: ${image}`);
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
        return proxy(request, reply, {
          engine: owner.engine,
          path: `/containers/${containerId(owner)}/json`,
          transformJson: (json: DockerJson) => decorateInspect(json, owner),
        });
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
        await cluster.startContainer(containerId(owner));
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
