/**
 * Image routes (§5.2). `GET /images/json` groups the images of all engines by ID; pull, import and
 * load fan out to every validated engine with per-node progress lines; tag and rmi go to every
 * engine holding the image; inspect, history, get and push go to the first healthy holder.
 * Image names contain slashes (`localhost:5000/a/b:tag`), hence the wildcard route.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DockerJson, Engine } from '../engine/cluster-api.ts';
import { SwarmError } from '../errors.ts';
import type { ApiContext } from './context.ts';
import { boolParam, parseFilters } from './body.ts';
import { badRequest, fanOutStatus, NOT_FOUND_PAGE, notFound, notImplemented } from './errors.ts';
import { errorLine, fanOutStream, type JsonMessage } from './fanout.ts';
import { engineErrorMessage, engineRequest, proxy, rawQuery, requestedVersion } from './proxy.ts';
import { anyEngine } from './system.ts';

export const NO_SUCH_IMAGE = (name: string) => `No such image: ${name}`;
export const NOT_IN_CLUSTER_MODE = 'Not supported in clustering mode.';

/** Engines that can serve work now (validated and healthy). */
export function healthyEngines(ctx: ApiContext): Engine[] {
  return ctx.cluster.engines().filter((e) => e.state === 'healthy');
}

function healthyOwners(ctx: ApiContext, name: string): Engine[] {
  const owners = ctx.cluster.imageOwners(name).filter((e) => e.state === 'healthy');
  if (owners.length === 0) throw notFound(NO_SUCH_IMAGE(name));
  return owners;
}

/** Glob (`*`, `?`) of docker's reference filter, as a regex; `*` does not cross `/`. */
function refPattern(p: string): RegExp {
  const esc = p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${esc}$`);
}

function matchesReference(tags: string[], pattern: string): boolean {
  const re = refPattern(pattern);
  const hasTag = /:[^/]+$/.test(pattern);
  return tags.some((t) => {
    if (re.test(t)) return true;
    if (hasTag) return false;
    const repo = t.replace(/:[^/:]+$/, '');
    return re.test(repo) || re.test(repo.replace(/^docker\.io\/(library\/)?/, ''));
  });
}

export function listImages(ctx: ApiContext, query: Record<string, string | undefined>): DockerJson[] {
  const filters = parseFilters(query.filters ?? (query.filter ? JSON.stringify({ reference: [query.filter] }) : undefined));
  const all = boolParam(query.all);
  const engines = ctx.cluster.engines().filter((e) => e.state === 'healthy' || e.state === 'unhealthy');
  const byNode = (filters.node ?? []);
  const grouped = new Map<string, DockerJson>();
  const parents = new Set<string>();
  for (const e of engines) {
    if (byNode.length > 0 && !byNode.some((n) => n === e.name || n === e.id)) continue;
    for (const img of e.images()) {
      const raw = img.raw;
      if (raw.ParentId) parents.add(raw.ParentId);
      const prev = grouped.get(raw.Id);
      if (!prev) {
        grouped.set(raw.Id, { ...raw, RepoTags: [...(raw.RepoTags ?? [])], RepoDigests: [...(raw.RepoDigests ?? [])] });
        continue;
      }
      for (const t of raw.RepoTags ?? []) if (!prev.RepoTags.includes(t)) prev.RepoTags.push(t);
      for (const d of raw.RepoDigests ?? []) if (!prev.RepoDigests.includes(d)) prev.RepoDigests.push(d);
    }
  }
  let list = [...grouped.values()];
  const untagged = (i: DockerJson) => (i.RepoTags ?? []).filter((t: string) => t !== '<none>:<none>').length === 0;
  // Without `all`, intermediate images (parents of another image) are hidden, as the engine does.
  if (!all) list = list.filter((i) => !(parents.has(i.Id) && untagged(i)));
  for (const d of filters.dangling ?? []) {
    if (d !== 'true' && d !== 'false' && d !== '1' && d !== '0') throw badRequest("Invalid filter: 'type'='dangling'");
    const want = d === 'true' || d === '1';
    list = list.filter((i) => untagged(i) === want);
  }
  if (filters.reference?.length) {
    // Like the engine: keep images with a matching reference, and only the matching tags.
    list = list
      .map((i) => ({ ...i, RepoTags: (i.RepoTags ?? []).filter((t: string) => filters.reference.some((p) => matchesReference([t], p))) }))
      .filter((i) => i.RepoTags.length > 0);
  }
  for (const l of filters.label ?? []) {
    const k = l.split('=')[0];
    const v = l.includes('=') ? l.slice(k.length + 1) : undefined;
    list = list.filter((i) => i.Labels && Object.hasOwn(i.Labels, k) && (v === undefined || i.Labels[k] === v));
  }
  for (const key of ['before', 'since'] as const) {
    for (const ref of filters[key] ?? []) {
      const owner = ctx.cluster.imageOwners(ref)[0];
      const img = owner?.images().find((i) => i.view.id === ref || i.view.repoTags.includes(ref) || i.view.id.replace(/^sha256:/, '').startsWith(ref.replace(/^sha256:/, ''))
        || i.view.repoTags.includes(`${ref}:latest`));
      if (!img) throw badRequest(`Invalid filter: 'type'='${key}': no such image found: '${ref}'`);
      const created = img.raw.Created as number;
      list = list.filter((i) => (key === 'before' ? i.Created < created : i.Created > created));
    }
  }
  list.sort((a, b) => (b.Created ?? 0) - (a.Created ?? 0));
  return list;
}

/** `name:tag` of a pull, as in the progress lines. */
function pullRef(q: Record<string, string | undefined>): string {
  const image = q.fromImage ?? '';
  const tag = q.tag ?? '';
  if (!tag) return image.includes(':') || image.includes('@') ? image : `${image}:latest`;
  return tag.startsWith('sha256:') ? `${image}@${tag}` : `${image}:${tag}`;
}

/** True for the OS-mismatch errors the original skipped over in fan-outs. */
const isOsMismatch = (e: string) => /operating system|cannot be used on this platform/i.test(e);

export default async function images(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  const { cluster } = ctx;

  app.get('/images/json', async (request) => listImages(ctx, request.query as Record<string, string | undefined>));
  app.get('/images/viz', async () => { throw notImplemented(NOT_IN_CLUSTER_MODE); });
  app.get('/images/search', (request, reply) => proxy(request, reply, { engine: anyEngine(ctx), path: '/images/search' }));

  // `docker save a b`: the first healthy engine holding every name.
  app.get('/images/get', (request, reply) => {
    const names = new URLSearchParams(rawQuery(request)).getAll('names');
    const engine = healthyEngines(ctx).find((e) => names.every((n) => cluster.imageOwners(n).includes(e)));
    if (!engine) throw notFound(`Unable to find a healthy engine containing all images: [${names.join(' ')}]`);
    return proxy(request, reply, { engine, path: '/images/get' });
  });

  app.post('/images/create', (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const engines = healthyEngines(ctx);
    if (engines.length === 0) throw new SwarmError('SWARM_ERR_NO_SUITABLE_NODE', 'No healthy node available in the cluster');
    const refreshAll = async () => { await Promise.allSettled(engines.map((e) => e.refreshImages())); };
    if (q.fromSrc !== undefined) {
      // Import: the tarball (fromSrc=-) is teed to every engine; a URL is fetched by each engine.
      return fanOutStream(request, reply, {
        engines, path: '/images/create', withBody: q.fromSrc === '-',
        rewrite: (m, e) => ({ ...m, id: e.name }),
        finish: async (outcomes) => {
          await refreshAll();
          const failed = outcomes.filter((o) => o.error && !isOsMismatch(o.error));
          if (failed.length === 0) return undefined;
          return errorLine(failed.map((o) => `${o.engine.name}: ${o.error}`).join('\n'));
        },
      });
    }
    const ref = pullRef(q);
    const pulling = `Pulling ${ref}...`;
    return fanOutStream(request, reply, {
      engines, path: '/images/create',
      start: (e) => ({ id: e.name, status: pulling }),
      rewrite: (m, e) => (m.error || m.errorDetail ? undefined : { id: e.name, status: `${pulling} : ${m.status ?? m.stream ?? ''}`.trimEnd() }),
      end: (o) => ({ id: o.engine.name, status: o.error ? `${pulling} : ${o.error}` : `${pulling} : downloaded` }),
      finish: async (outcomes) => {
        await refreshAll();
        const ok = outcomes.some((o) => !o.error);
        const bad = outcomes.filter((o) => o.error && !isOsMismatch(o.error));
        if (ok && bad.length === 0) return undefined;
        const message = bad.length > 0 ? bad.map((o) => `${o.engine.name}: ${o.error}`).join('\n') : `image ${ref} could not be pulled on any node`;
        return { errorDetail: { code: 1, message }, error: message };
      },
    });
  });

  app.post('/images/load', (request, reply) => {
    const engines = healthyEngines(ctx);
    if (engines.length === 0) throw new SwarmError('SWARM_ERR_NO_SUITABLE_NODE', 'No healthy node available in the cluster');
    return fanOutStream(request, reply, {
      engines, path: '/images/load', withBody: true,
      rewrite: (m, e) => ({ ...m, id: e.name }),
      finish: async (outcomes) => {
        await Promise.allSettled(engines.map((e) => e.refreshImages()));
        const failed = outcomes.filter((o) => o.error && !isOsMismatch(o.error));
        return failed.length > 0 ? errorLine(failed.map((o) => `${o.engine.name}: ${o.error}`).join('\n')) : undefined;
      },
    });
  });

  const dispatch = async (request: FastifyRequest, reply: FastifyReply) => {
    const rest = (request.params as { '*': string })['*'];
    if (request.method === 'DELETE') return removeImage(ctx, request, reply, rest);
    const m = /^(.+)\/(json|history|get|push|tag)$/.exec(rest);
    if (!m) throw notFound(NOT_FOUND_PAGE);
    const [, name, action] = m;
    const key = `${request.method} ${action}`;
    if (key === 'GET json' || key === 'GET history' || key === 'GET get' || key === 'POST push') {
      const engine = healthyOwners(ctx, name)[0];
      return proxy(request, reply, { engine, path: `/images/${name}/${action}` });
    }
    if (key === 'POST tag') return tagImage(ctx, request, reply, name);
    throw notFound(NOT_FOUND_PAGE);
  };
  app.route({ method: ['GET', 'POST', 'DELETE'], url: '/images/*', exposeHeadRoute: false, handler: dispatch });
}

/** Answer of a fan-out to image holders: every engine's result, errors as `node: message` lines. */
async function onOwners(ctx: ApiContext, request: FastifyRequest, name: string, method: string, path: string) {
  const owners = healthyOwners(ctx, name);
  const results = await Promise.all(owners.map(async (engine) => {
    try {
      const r = await engineRequest(engine, { method, path, query: rawQuery(request), version: requestedVersion(request.raw) });
      return { engine, res: r, error: r.status >= 400 ? engineErrorMessage(r) : undefined };
    } catch (err) {
      return { engine, res: undefined, error: (err as Error).message };
    } finally {
      void engine.refreshImages().catch((err: unknown) => ctx.log.warn({ err }, 'image refresh failed'));
    }
  }));
  const failed = results.filter((r) => r.error);
  if (failed.length > 0) {
    // Failing engines keep their status when they agree (404, 409…); else a 500 (fanOutStatus).
    const status = fanOutStatus(failed.map((r) => r.res?.status));
    const message = results.length === 1 ? failed[0].error! : failed.map((r) => `${r.engine.name}: ${r.error}`).join('\n');
    throw new SwarmError('SWARM_ERR_ENGINE', message, { statusCode: status });
  }
  return results;
}

async function tagImage(ctx: ApiContext, request: FastifyRequest, reply: FastifyReply, name: string) {
  await onOwners(ctx, request, name, 'POST', `/images/${name}/tag`);
  return reply.code(201).send();
}

async function removeImage(ctx: ApiContext, request: FastifyRequest, reply: FastifyReply, name: string) {
  const results = await onOwners(ctx, request, name, 'DELETE', `/images/${name}`);
  const merged: JsonMessage[] = [];
  for (const r of results) {
    try {
      merged.push(...(JSON.parse(r.res!.body.toString('utf8')) as JsonMessage[]));
    } catch { /* an engine that answered without a list deleted nothing to report */ }
  }
  return reply.code(200).type('application/json').send(merged);
}
