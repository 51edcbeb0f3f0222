/**
 * Volume routes (§5.5). Local volumes are listed as `<node>/<name>`. `create` goes to every
 * healthy engine, to one node for `node/name`, or to the nodes a `com.docker.swarm.whitelists`
 * label allows; an empty name gets one random name for all. `rm` removes it wherever it exists.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DockerJson, Engine } from '../engine/cluster-api.ts';
import { SwarmError } from '../errors.ts';
import type { ApiContext } from './context.ts';
import { parseFilters, readBody } from './body.ts';
import { parseVolumeBody } from './validate.ts';
import { fanOutStatus, notFound } from './errors.ts';
import { healthyEngines } from './images.ts';
import { nodeOfPrefix, relay } from './networks.ts';
import { engineErrorMessage, engineRequest, requestedVersion } from './proxy.ts';

export const NO_SUCH_VOLUME = (ref: string) => `No such volume: ${ref}`;

function splitNodeRef(ctx: ApiContext, ref: string): { engine?: Engine; name: string } {
  const i = ref.indexOf('/');
  if (i > 0) {
    const engine = ctx.cluster.engines().find((e) => e.name === ref.slice(0, i) || e.id === ref.slice(0, i));
    if (engine) return { engine, name: ref.slice(i + 1) };
  }
  return { name: ref };
}

/** Node names allowed by `["node==a|b"]`-style whitelist expressions (key and operator ignored, as the original). */
function whitelisted(engines: Engine[], label: string | undefined): Engine[] {
  if (!label) return engines;
  let exprs: unknown;
  try { exprs = JSON.parse(label); } catch { return engines; }
  if (!Array.isArray(exprs)) return engines;
  let out = engines;
  for (const x of exprs) {
    const m = /^[^=!]*(?:==|!=)~?(.*)$/.exec(String(x));
    if (!m) continue;
    const names = m[1].split('|');
    out = out.filter((e) => names.includes(e.name));
  }
  return out;
}

export function listVolumes(ctx: ApiContext, query: Record<string, string | undefined>): { Volumes: DockerJson[]; Warnings: null } {
  const filters = parseFilters(query.filters);
  const out: DockerJson[] = [];
  for (const e of ctx.cluster.engines()) {
    if (e.state !== 'healthy' && e.state !== 'unhealthy') continue;
    for (const v of e.volumes()) {
      const local = (v.raw.Driver ?? 'local') === 'local';
      if (filters.node?.length && local && !filters.node.includes(e.name) && !filters.node.includes(e.id)) continue;
      if (filters.name?.length && !filters.name.some((n) => String(v.raw.Name).includes(n))) continue;
      let ok = true;
      for (const l of filters.label ?? []) {
        const k = l.split('=')[0];
        const val = l.includes('=') ? l.slice(k.length + 1) : undefined;
        if (!v.raw.Labels || !Object.hasOwn(v.raw.Labels, k) || (val !== undefined && v.raw.Labels[k] !== val)) ok = false;
      }
      if (!ok) continue;
      out.push({ ...v.raw, Name: local ? `${e.name}/${v.raw.Name}` : v.raw.Name });
    }
  }
  return { Volumes: out, Warnings: null };
}

export default async function volumes(app: FastifyInstance, opts: { ctx: ApiContext; bodyLimit: number }): Promise<void> {
  const { ctx, bodyLimit } = opts;
  const version = (request: FastifyRequest) => requestedVersion(request.raw);

  app.get('/volumes', async (request) => listVolumes(ctx, request.query as Record<string, string | undefined>));

  app.post('/volumes/create', async (request, reply) => {
    const body = parseVolumeBody(await readBody(request, bodyLimit));
    let name = typeof body.Name === 'string' ? body.Name : '';
    const slash = name.indexOf('/');
    let targets: Engine[];
    if (slash > 0) {
      targets = [await nodeOfPrefix(ctx, name.slice(0, slash))];
      name = name.slice(slash + 1);
    } else {
      const labels = (body.Labels ?? {}) as Record<string, string>;
      targets = whitelisted(healthyEngines(ctx), labels['com.docker.swarm.whitelists']);
      // One random name shared by every engine (the engines would each pick their own).
      if (name === '') name = randomBytes(32).toString('hex');
    }
    if (targets.length === 0) throw new SwarmError('SWARM_ERR_NO_SUITABLE_NODE', 'No healthy node available in the cluster');
    const results = await Promise.all(targets.map(async (e) => {
      try {
        const res = await engineRequest(e, { method: 'POST', path: '/volumes/create', version: version(request), body: JSON.stringify({ ...body, Name: name }) });
        await e.refreshVolumes().catch(() => undefined);
        return res;
      } catch (err) {
        return { status: 500, headers: {}, body: Buffer.from(JSON.stringify({ message: (err as Error).message })) };
      }
    }));
    const ok = results.find((r) => r.status < 400);
    // Any failure is reported (the original: last error wins).
    const bad = results.filter((r) => r.status >= 400).pop();
    if (bad) return relay(reply, bad);
    return relay(reply, ok!);
  });

  const dispatch = async (request: FastifyRequest, reply: FastifyReply) => {
    const rest = (request.params as { '*': string })['*'];
    if (request.method === 'GET') {
      const found = ctx.cluster.volume(rest);
      if (!found) throw notFound(NO_SUCH_VOLUME(rest));
      const res = await engineRequest(found.engine, { method: 'GET', path: `/volumes/${encodeURIComponent(found.volume.raw.Name)}`, version: version(request) });
      return relay(reply, res);
    }
    // DELETE: `node/name` on that node, else on every engine that has it.
    const { engine: onNode, name } = splitNodeRef(ctx, rest);
    const holders = onNode
      ? (onNode.volumes().some((v) => v.raw.Name === name) ? [onNode] : [])
      : ctx.cluster.engines().filter((e) => e.state === 'healthy' && e.volumes().some((v) => v.raw.Name === name));
    if (holders.length === 0) throw notFound(NO_SUCH_VOLUME(rest));
    const q = request.query as Record<string, string | undefined>;
    const results = await Promise.all(holders.map(async (e) => {
      const res = await engineRequest(e, { method: 'DELETE', path: `/volumes/${encodeURIComponent(name)}`, query: q.force ? `force=${q.force}` : '', version: version(request) });
      await e.refreshVolumes().catch(() => undefined);
      return { e, res };
    }));
    const failed = results.filter((r) => r.res.status >= 400);
    if (failed.length === 1 && results.length === 1) return relay(reply, failed[0].res);
    if (failed.length > 0) {
      throw new SwarmError('SWARM_ERR_ENGINE', failed.map((r) => `${r.e.name}: ${engineErrorMessage(r.res)}`).join('\n'),
        { statusCode: fanOutStatus(failed.map((r) => r.res.status)) });
    }
    return reply.code(204).send();
  };
  app.route({ method: ['GET', 'DELETE'], url: '/volumes/*', exposeHeadRoute: false, handler: dispatch });
}
