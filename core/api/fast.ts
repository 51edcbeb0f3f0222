/**
 * The two hottest reads answered without going through fastify: container inspect
 * (`GET /containers/<ref>/json`, a fresh engine inspect plus `Node`) and `ps`
 * (`GET /containers/json`, from the cache). They do exactly what their fastify routes do — same
 * version rules, headers, lookup, proxy and JSON — on the raw request, because fastify's per
 * request machinery (routing, hooks, reply, child logger) cost about as much as the engine's own
 * answer. Anything that would be an error, or is not plainly one of these two, is left to fastify
 * (`false`), which then answers exactly as before; so does everything under `--debug` (request
 * logging).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import querystring from 'node:querystring';
import type { ApiContext } from './context.ts';
import { inspectProxy } from './containers.ts';
import { answerInspect } from './inspect-cache.ts';
import { ownerOf } from './lookup.ts';
import { proxyRaw, setAdvertisedFor, setRequestedVersion } from './proxy.ts';
import { listContainersJson, PS_CONTENT_TYPE } from './ps.ts';
import { advertisedMinVersion, checkRequestedVersion, stripVersion } from './versions.ts';

export const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'Origin, X-Requested-With, Content-Type, Accept',
  'access-control-allow-methods': 'GET, POST, DELETE, PUT, OPTIONS, HEAD',
} as const;

const PREFIX = '/containers/';
const SUFFIX = '/json';

/**
 * A handler that takes the request (true) or leaves it to fastify (false). `fallback` hands a
 * request it took back to fastify when the answer turns out to be an error before anything was
 * written. Undefined under `--debug`.
 */
export type FastPath = (req: IncomingMessage, res: ServerResponse, fallback: () => void) => boolean;

export function fastPath(ctx: ApiContext): FastPath | undefined {
  if (ctx.options.debug) return undefined;
  const cors = Boolean(ctx.options.cors);
  return (req, res, fallback) => {
    if (req.method !== 'GET') return false;
    const url = req.url ?? '/';
    // Only plain paths: fastify's router decodes, de-duplicates slashes and ignores a trailing one.
    if (url.includes('%') || url.includes('//')) return false;
    const { version, url: rest } = stripVersion(url);
    const q = rest.indexOf('?');
    const path = q < 0 ? rest : rest.slice(0, q);
    if (!path.startsWith(PREFIX) || !path.endsWith(SUFFIX)) return false;
    const query = q < 0 ? '' : rest.slice(q + 1);
    const list = path === '/containers/json';
    const ref = list ? '' : path.slice(PREFIX.length, -SUFFIX.length);
    if (!list && ref === '') return false;

    const advertised = ctx.advertised();
    if (version !== undefined) {
      try {
        checkRequestedVersion(version, advertised, advertisedMinVersion(ctx.cluster.engines()));
      } catch {
        return false;
      }
    }
    const own: OutgoingHttpHeaders = { 'api-version': advertised, ...(cors ? CORS_HEADERS : {}) };
    setRequestedVersion(req, version);
    setAdvertisedFor(req, advertised);

    if (!list) {
      let owner;
      try {
        owner = ownerOf(ctx.cluster, ref);
      } catch {
        return false; // 404 / unhealthy node: fastify's route answers it
      }
      void answerInspect(ctx.inspectCache, res, own, owner, query, version,
        (keep) => proxyRaw(req, res, own, ctx.log, inspectProxy(owner, keep), query));
      return true;
    }

    const parsed = querystring.parse(query) as Record<string, string | undefined>;
    listContainersJson(ctx, parsed).then((json) => {
      const body = Buffer.from(json);
      res.writeHead(200, { ...own, 'content-type': PS_CONTENT_TYPE, 'content-length': body.length });
      res.end(body);
    }, () => {
      // Bad filters and the like: the fastify route gives the error answer.
      if (!res.headersSent) fallback();
      else res.destroy();
    });
    return true;
  };
}
