/**
 * Network routes (§5.5). Listing merges every engine's networks (de-duplicated by ID, local-scope
 * ones shown as `<node>/<name>`). `create` with `node/name` goes to that node, otherwise to the
 * "random" engine; the default driver is `overlay`, as in the original (an engine without a
 * cluster store refuses it: pass `-d bridge`). Connect/disconnect go to the container's engine.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DockerJson, Engine } from '../engine/cluster-api.ts';
import { SwarmError } from '../errors.ts';
import type { ApiContext } from './context.ts';
import { parseFilters, readJson } from './body.ts';
import { badRequest, NOT_FOUND_PAGE, notFound } from './errors.ts';
import { containerId, ownerOf } from './lookup.ts';
import { engineErrorMessage, engineRequest, requestedVersion } from './proxy.ts';
import { anyEngine } from './system.ts';
import { checkNetworkName } from './validate.ts';

export const NO_SUCH_NETWORK = (ref: string) => `No such network: ${ref}`;
export const DEFAULT_NETWORK_DRIVER = 'overlay';
const BUILTIN = new Set(['none', 'host', 'bridge']);

/** Send a buffered engine answer back as it is (status, JSON body). */
export function relay(reply: FastifyReply, res: { status: number; body: Buffer; headers: Record<string, unknown> }): FastifyReply {
  if (res.status >= 400) throw new SwarmError('SWARM_ERR_ENGINE', engineErrorMessage(res as never), { statusCode: res.status });
  reply.code(res.status);
  if (res.body.length === 0) return reply.send();
  return reply.type(String(res.headers['content-type'] ?? 'application/json')).send(res.body);
}

/**
 * The node of a `node/name` network or volume create, chosen as the original chose it: by
 * scheduling a `constraint:node==<prefix>` (node name or ID, glob or /regex/; unhealthy nodes and
 * the other filters apply). A prefix no usable node matches is the scheduler's 500 (before, an
 * unknown prefix created a network literally named `node-9/x` on some node, and a named unhealthy
 * node was sent the request anyway).
 */
export async function nodeOfPrefix(ctx: ApiContext, prefix: string): Promise<Engine> {
  const report = await ctx.cluster.plan({ Env: [`constraint:node==${prefix}`] }, '');
  const engine = report.node ? ctx.cluster.engine(report.node.addr) : undefined;
  if (!engine) throw new SwarmError('SWARM_ERR_NO_SUITABLE_NODE', report.error ?? `cannot find node ${prefix}`);
  return engine;
}

export function listNetworks(ctx: ApiContext, query: Record<string, string | undefined>): DockerJson[] {
  const filters = parseFilters(query.filters);
  for (const t of filters.type ?? []) if (t !== 'custom' && t !== 'builtin') throw badRequest(`Invalid filter: 'type'='${t}'`);
  const seen = new Map<string, { net: DockerJson; engine: Engine }>();
  for (const e of ctx.cluster.engines()) {
    if (e.state !== 'healthy' && e.state !== 'unhealthy') continue;
    for (const n of e.networks()) {
      if (seen.has(n.raw.Id)) continue;
      const local = (n.raw.Scope ?? 'local') === 'local';
      seen.set(n.raw.Id, { net: { ...n.raw, Name: local ? `${e.name}/${n.raw.Name}` : n.raw.Name }, engine: e });
    }
  }
  let list = [...seen.values()];
  const names = filters.name ?? [];
  if (names.length) {
    list = list.filter(({ net, engine }) => names.some((v) => {
      const bare = net.Name.startsWith(`${engine.name}/`) ? net.Name.slice(engine.name.length + 1) : net.Name;
      return net.Name.includes(v) || bare.includes(v) || net.Id === v;
    }));
  }
  if (filters.id?.length) list = list.filter(({ net }) => filters.id.some((v) => net.Id.startsWith(v)));
  if (filters.driver?.length) list = list.filter(({ net }) => filters.driver.includes(net.Driver));
  if (filters.node?.length) list = list.filter(({ engine }) => filters.node.includes(engine.name) || filters.node.includes(engine.id));
  if (filters.type?.length) {
    list = list.filter(({ net, engine }) => {
      const bare = net.Name.startsWith(`${engine.name}/`) ? net.Name.slice(engine.name.length + 1) : net.Name;
      return filters.type.includes(BUILTIN.has(bare) ? 'builtin' : 'custom');
    });
  }
  for (const l of filters.label ?? []) {
    const k = l.split('=')[0];
    const v = l.includes('=') ? l.slice(k.length + 1) : undefined;
    list = list.filter(({ net }) => net.Labels && Object.hasOwn(net.Labels, k) && (v === undefined || net.Labels[k] === v));
  }
  return list.map(({ net }) => net);
}

export default async function networks(app: FastifyInstance, opts: { ctx: ApiContext; bodyLimit: number }): Promise<void> {
  const { ctx, bodyLimit } = opts;
  const { cluster } = ctx;
  const version = (request: FastifyRequest) => requestedVersion(request.raw);

  app.get('/networks', async (request) => listNetworks(ctx, request.query as Record<string, string | undefined>));

  app.post('/networks/create', async (request, reply) => {
    const body = await readJson(request, bodyLimit);
    const name = checkNetworkName(body.Name);
    const slash = name.indexOf('/');
    const bare = slash > 0 ? name.slice(slash + 1) : name;
    checkNetworkName(bare); // `node-1/` names no network either
    const engine = slash > 0 ? await nodeOfPrefix(ctx, name.slice(0, slash)) : anyEngine(ctx);
    const spec = { ...body, Name: bare, Driver: body.Driver || DEFAULT_NETWORK_DRIVER };
    const res = await engineRequest(engine, { method: 'POST', path: '/networks/create', version: version(request), body: JSON.stringify(spec) });
    if (res.status < 400) await engine.refreshNetworks();
    return relay(reply, res);
  });

  const dispatch = async (request: FastifyRequest, reply: FastifyReply) => {
    const rest = (request.params as { '*': string })['*'];
    const m = /^(.+)\/(connect|disconnect)$/.exec(rest);
    if (request.method === 'POST' && m) {
      const found = cluster.network(m[1]);
      if (!found) throw notFound(NO_SUCH_NETWORK(m[1]));
      const body = await readJson(request, bodyLimit);
      if (typeof body.Container !== 'string' || body.Container === '') throw notFound('Container is not specified');
      const owner = ownerOf(cluster, body.Container);
      const res = await engineRequest(owner.engine, {
        method: 'POST', path: `/networks/${found.network.raw.Id}/${m[2]}`, version: version(request),
        body: JSON.stringify({ ...body, Container: containerId(owner) }),
      });
      await Promise.allSettled([owner.engine.refreshNetworks(), owner.engine.refreshContainer(containerId(owner))]);
      // The original proxied connect (the engine's status and message reach the client: a bad
      // EndpointConfig is the engine's 400, not a 404) and answered 404 to any failed disconnect.
      if (res.status >= 400 && m[2] === 'disconnect') throw notFound(engineErrorMessage(res));
      return relay(reply, res);
    }
    if (m || (request.method !== 'GET' && request.method !== 'DELETE')) throw notFound(NOT_FOUND_PAGE);
    const found = cluster.network(rest);
    if (!found) throw notFound(NO_SUCH_NETWORK(rest));
    const { engine, network } = found;
    if (request.method === 'GET') {
      const res = await engineRequest(engine, { method: 'GET', path: `/networks/${network.raw.Id}`, version: version(request) });
      return relay(reply, res);
    }
    const res = await engineRequest(engine, { method: 'DELETE', path: `/networks/${network.raw.Id}`, version: version(request) });
    await engine.refreshNetworks();
    if (res.status >= 400) return relay(reply, res);
    return reply.code(204).send();
  };
  app.route({ method: ['GET', 'POST', 'DELETE'], url: '/networks/*', exposeHeadRoute: false, handler: dispatch });
}
