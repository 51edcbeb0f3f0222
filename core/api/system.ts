/** System routes: ping, version, info, auth (proxied to the "random" engine), debug extras. */
import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import { SwarmError } from '../errors.ts';
import type { Engine } from '../engine/cluster-api.ts';
import type { ApiContext } from './context.ts';
import { buildInfo } from './info.ts';
import { settled } from './settle.ts';
import { proxy } from './proxy.ts';
import { readBody } from './body.ts';
import { parseAuthBody } from './validate.ts';
import { advertisedMinVersion, SERVER_VERSION } from './versions.ts';

export const NO_ENGINE = 'No healthy node available in the cluster';

/** The original's "random engine": the top-ranked node for an empty request. */
export function anyEngine(ctx: ApiContext): Engine {
  const e = ctx.cluster.anyEngine();
  if (!e) throw new SwarmError('SWARM_ERR_NO_SUITABLE_NODE', NO_ENGINE);
  return e;
}

export default async function system(app: FastifyInstance, opts: { ctx: ApiContext; bodyLimit: number }): Promise<void> {
  const { ctx } = opts;

  // Version negotiation of docker CLI 28: HEAD /_ping first, then GET; both answer 200 OK.
  app.get('/_ping', async (_request, reply) => {
    reply.headers({
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      OSType: 'linux',
      'Docker-Experimental': String(Boolean(ctx.options.experimental)),
    });
    return 'OK';
  });

  app.get('/version', async () => ({
    Platform: { Name: 'Docker Swarm - Community' },
    Version: SERVER_VERSION,
    ApiVersion: ctx.advertised(),
    MinAPIVersion: advertisedMinVersion(ctx.cluster.engines()),
    GitCommit: process.env.SWARM_GITCOMMIT ?? 'HEAD',
    GoVersion: `node${process.versions.node}`,
    Os: os.platform(),
    Arch: os.arch() === 'x64' ? 'amd64' : os.arch(),
    KernelVersion: os.release(),
    Experimental: Boolean(ctx.options.experimental),
    BuildTime: '',
  }));

  app.get('/info', async () => {
    await settled(ctx); // counts include what a start just changed
    return buildInfo(ctx);
  });

  // The body is checked first (dockerd 20.10 answers 500 to one its decoder cannot read).
  app.post('/auth', async (request, reply) => {
    const body = parseAuthBody(await readBody(request, opts.bodyLimit));
    return proxy(request, reply, { engine: anyEngine(ctx), path: '/auth', body: Buffer.from(JSON.stringify(body)) });
  });

  if (ctx.options.debug) {
    // The original mounted Go's pprof here; the nearest Node equivalent is process figures.
    app.get('/debug/vars', async () => ({
      memoryUsage: process.memoryUsage(),
      uptime: process.uptime(),
      eventListeners: ctx.eventListeners,
      inspectCache: { hits: ctx.inspectCache.hits, misses: ctx.inspectCache.misses, stores: ctx.inspectCache.stores, size: ctx.inspectCache.size },
      engines: ctx.cluster.engines().map((e) => ({ name: e.name, addr: e.addr, state: e.state, error: e.error })),
    }));
  }
}
