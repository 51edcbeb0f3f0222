/**
 * Raw HTTP proxy to one engine: method, rewritten path, query, headers and a streamed body go
 * up; status, headers and body come back, written chunk by chunk as they arrive (so `logs -f`,
 * `stats` and `wait` behave as on the engine). A client that goes away cancels the upstream
 * request. Every outcome is reported to the engine (`recordOutcome`) so proxied traffic counts
 * toward its health, as in the original.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Engine, EngineEndpoint } from '../engine/cluster-api.ts';
import { SwarmError } from '../errors.ts';
import { errorMessage, writeRawError } from './errors.ts';
import { engineVersionPrefix } from './versions.ts';

/** Hop-by-hop headers are never forwarded (RFC 7230 §6.1), nor is Host. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host',
  'proxy-authorization', 'proxy-authenticate',
]);

/**
 * Keep-alive pools: one agent for plain engines, one per TLS options object (an agent pools per
 * host:port by itself). Module-wide on purpose: an agent is only a socket cache, several API
 * servers in one process may share it safely, TLS settings never mix (keyed by their object), and
 * idle sockets are unref'd by Node, so nothing here keeps the process alive.
 */
const plainAgent = new http.Agent({ keepAlive: true });
const tlsAgents = new WeakMap<object, https.Agent>();

function agentFor(ep: EngineEndpoint): http.Agent {
  if (ep.agent) return ep.agent; // the engine layer's own pool: one kept connection per engine
  if (!ep.tls) return plainAgent;
  let agent = tlsAgents.get(ep.tls);
  if (!agent) {
    agent = new https.Agent({ keepAlive: true, ...ep.tls });
    tlsAgents.set(ep.tls, agent);
  }
  return agent;
}

export interface EngineCall {
  method: string;
  /** Path without version prefix and without query: `/containers/<id>/logs`. */
  path: string;
  /** Query string without `?` ('' for none). */
  query?: string;
  /** Client's requested API version (from its `/vX.Y` prefix), if any. */
  version?: string;
  headers?: OutgoingHttpHeaders;
}

/** Start a request to an engine. The caller writes/ends the body. */
export function openEngineRequest(engine: Engine, call: EngineCall): http.ClientRequest {
  const ep = engine.endpoint;
  const path = `${engineVersionPrefix(call.version, engine)}${call.path}${call.query ? `?${call.query}` : ''}`;
  const options: http.RequestOptions = {
    method: call.method,
    path,
    headers: { ...call.headers, host: ep.socketPath ? 'docker' : `${ep.host}:${ep.port}` },
    agent: agentFor(ep),
  };
  if (ep.socketPath) options.socketPath = ep.socketPath;
  else { options.host = ep.host; options.port = ep.port; }
  const req = ep.tls ? https.request({ ...options, ...ep.tls }) : http.request(options);
  const timeout = answerTimeoutFor(engine, call);
  if (timeout > 0) {
    // A hung engine (SIGSTOP, overloaded) must not hold the client forever: once the request is
    // sent, the engine has `timeout` ms to start answering. ETIMEDOUT counts toward its health.
    let timer: NodeJS.Timeout | undefined;
    req.on('finish', () => {
      timer = setTimeout(() => {
        const err = Object.assign(new Error(`engine ${engine.name || engine.addr} did not answer within ${timeout / 1000}s (timed out)`), { code: 'ETIMEDOUT' });
        req.destroy(err);
      }, timeout);
    });
    const clear = () => clearTimeout(timer);
    req.on('response', clear);
    req.on('close', clear);
  }
  return req;
}

/** `stop`/`restart` legitimately wait `t` seconds (default 10) before answering. */
function answerTimeoutFor(engine: Engine, call: EngineCall): number {
  const engineAnswerTimeout = engine.endpoint.answerTimeout ?? 0;
  if (engineAnswerTimeout <= 0) return 0;
  if (!/\/(stop|restart)$/.test(call.path)) return engineAnswerTimeout;
  const t = Number(new URLSearchParams(call.query ?? '').get('t') ?? 10);
  return engineAnswerTimeout + (Number.isFinite(t) && t > 0 ? t * 1000 : 0);
}

/** Response of a buffered engine call. */
export interface EngineResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A whole engine call, buffered (small JSON answers of fan-out routes). */
export function engineRequest(
  engine: Engine, call: EngineCall & { body?: Buffer | string | Readable | null; signal?: AbortSignal },
): Promise<EngineResponse> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...call.headers };
    let body = call.body;
    if (body !== undefined && body !== null && !(body instanceof Readable)) {
      if (typeof body === 'string') body = Buffer.from(body);
      headers['content-length'] = body.length;
      if (!headers['content-type']) headers['content-type'] = 'application/json';
    }
    const req = openEngineRequest(engine, { ...call, headers });
    const onAbort = () => req.destroy(new Error('request cancelled'));
    call.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => {
      call.signal?.removeEventListener('abort', onAbort);
      engine.recordOutcome(err);
      reject(new SwarmError('SWARM_ERR_ENGINE', errorMessage(err), { cause: err }));
    });
    req.on('response', (res) => {
      engine.recordOutcome();
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        call.signal?.removeEventListener('abort', onAbort);
        resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    if (body instanceof Readable) body.pipe(req);
    else req.end(body ?? undefined);
  });
}

/** Message of an engine error answer: its JSON `message`, or the body text. */
export function engineErrorMessage(res: EngineResponse): string {
  const text = res.body.toString('utf8').trim();
  try {
    const j = JSON.parse(text) as { message?: unknown };
    if (j && typeof j.message === 'string') return j.message;
  } catch { /* not JSON: the text itself is the message */ }
  return text || `engine answered ${res.status}`;
}

/** Parse a JSON engine answer, or throw a SwarmError carrying the engine's status and message. */
export function engineJson<T = unknown>(res: EngineResponse): T {
  if (res.status >= 400) throw new SwarmError('SWARM_ERR_ENGINE', engineErrorMessage(res), { statusCode: res.status });
  const text = res.body.toString('utf8');
  return (text.trim() === '' ? undefined : JSON.parse(text)) as T;
}

/** True when the client request announces a body (a length > 0, or chunked). */
export function hasBody(raw: IncomingMessage): boolean {
  const len = raw.headers['content-length'];
  if (len !== undefined) return len !== '0';
  return raw.headers['transfer-encoding'] !== undefined;
}

/** Client request headers safe to forward to an engine. */
export function forwardHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    out[k] = v;
  }
  // Keep chunked uploads chunked: without a length the body is streamed with chunked encoding.
  if (headers['transfer-encoding'] && !headers['content-length']) out['transfer-encoding'] = 'chunked';
  return out;
}

/** Response headers to copy back to the client. */
function backHeaders(res: IncomingMessage, own: OutgoingHttpHeaders, dropLength: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    if (dropLength && k === 'content-length') continue;
    out[k] = v;
  }
  // Ours win: Api-Version (the advertised one, not the engine's) and the CORS headers.
  return { ...out, ...own };
}

export interface ProxyOptions {
  engine: Engine;
  /** Unversioned path without query. */
  path: string;
  method?: string;
  /** Query string without `?`; defaults to the client's. */
  query?: string;
  /** Replace the client's body (already read, or rewritten). */
  body?: Buffer | null;
  /** Buffer a 2xx JSON answer and rewrite it before it goes back. */
  transformJson?: (json: any) => unknown | Promise<unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Like `transformJson`, on the raw bytes (no parse/serialise round trip when the edit is local); gets the engine's headers too. */
  transformBody?: (body: Buffer, headers: IncomingHttpHeaders) => Buffer;
  /** Called once the engine has answered (status known), e.g. to refresh the cache. Errors are logged. */
  after?: (status: number) => void | Promise<void>;
  /** Wait for `after` before the response ends (so the next client call sees the new state). */
  awaitAfter?: boolean;
}

/** Version stored on the raw request by the URL rewriter (see index.ts). */
const VERSION = Symbol.for('swarm.apiVersion');
const ADVERTISED = Symbol.for('swarm.advertised');
export function requestedVersion(raw: IncomingMessage): string | undefined {
  return (raw as unknown as Record<symbol, string | undefined>)[VERSION];
}
export function setRequestedVersion(raw: IncomingMessage, v: string | undefined): void {
  (raw as unknown as Record<symbol, string | undefined>)[VERSION] = v;
}
/** The advertised version, computed once per request in onRequest. */
export function advertisedFor(raw: IncomingMessage): string | undefined {
  return (raw as unknown as Record<symbol, string | undefined>)[ADVERTISED];
}
export function setAdvertisedFor(raw: IncomingMessage, v: string): void {
  (raw as unknown as Record<symbol, string | undefined>)[ADVERTISED] = v;
}

/** Headers the app set on this reply (Api-Version, CORS), for answers written raw. */
export function ownHeaders(reply: FastifyReply): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) out[k] = v;
  return out;
}

/** Query string of the client request, without `?`. */
export function rawQuery(request: FastifyRequest): string {
  const i = request.url.indexOf('?');
  return i < 0 ? '' : request.url.slice(i + 1);
}

/**
 * Proxy the current request to an engine. Hijacks the fastify reply: the answer is written
 * raw, streamed, flushed per chunk. Resolves when the exchange is over.
 */
export function proxy(request: FastifyRequest, reply: FastifyReply, opts: ProxyOptions): Promise<void> {
  reply.hijack();
  return proxyRaw(request.raw, reply.raw, ownHeaders(reply), request.log, opts, rawQuery(request));
}

/**
 * The proxy itself, on the raw request and response (the fast path of index.ts calls it without
 * fastify). `own`: headers of ours that win over the engine's (Api-Version, CORS); `query`: the
 * client's query string, used unless `opts.query` replaces it.
 */
export function proxyRaw(
  raw: IncomingMessage, res: ServerResponse, own: OutgoingHttpHeaders, log: Pick<FastifyRequest['log'], 'warn'>,
  opts: ProxyOptions, query: string,
): Promise<void> {
  const apiVersion = advertisedFor(raw);
  const headers = forwardHeaders(raw.headers);
  if (opts.body !== undefined) {
    delete headers['transfer-encoding'];
    headers['content-length'] = opts.body ? opts.body.length : 0;
  }
  const upstream = openEngineRequest(opts.engine, {
    method: opts.method ?? raw.method ?? 'GET',
    path: opts.path,
    query: opts.query ?? query,
    version: requestedVersion(raw),
    headers,
  });

  return new Promise<void>((resolve) => {
    let done = false;
    const finish = () => { if (!done) { done = true; resolve(); } };
    // A client that disconnects cancels the upstream call (e.g. Ctrl-C on `docker logs -f`).
    let cancelled = false;
    res.on('close', () => {
      if (!res.writableFinished) {
        cancelled = true;
        upstream.destroy();
      }
      finish();
    });

    upstream.on('error', (err) => {
      // Our own cancel says nothing about the engine's health.
      if (cancelled) return finish();
      opts.engine.recordOutcome(err);
      if (res.destroyed) return finish();
      log.warn({ engine: opts.engine.name, err: err.message }, 'proxy to engine failed');
      writeRawError(res, new SwarmError('SWARM_ERR_ENGINE', errorMessage(err)), apiVersion);
      finish();
    });

    upstream.on('response', (up) => {
      opts.engine.recordOutcome();
      const status = up.statusCode ?? 500;
      const runAfter = async () => {
        if (!opts.after) return;
        try { await opts.after(status); } catch (err) {
          log.warn({ engine: opts.engine.name, err: errorMessage(err) }, 'cache refresh after proxied call failed');
        }
      };
      const isJson = String(up.headers['content-type'] ?? '').includes('json');
      // dockerd writes plain-text errors for API versions < 1.24: every error leaving the manager
      // is `{"message": …}` JSON, whatever version the client asked for.
      if (status >= 400 && !isJson && (opts.method ?? raw.method) !== 'HEAD') {
        const chunks: Buffer[] = [];
        let size = 0;
        up.on('data', (c: Buffer) => { size += c.length; if (size <= 65536) chunks.push(c); });
        up.on('error', () => { res.destroy(); finish(); });
        up.on('end', async () => {
          await runAfter();
          const text = Buffer.concat(chunks).toString('utf8').trim();
          writeRawError(res, new SwarmError('SWARM_ERR_ENGINE', text || `engine answered ${status}`, { statusCode: status }), apiVersion);
          finish();
        });
        return;
      }
      if ((opts.transformJson || opts.transformBody) && status < 300 && isJson) {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('error', () => res.destroy());
        up.on('end', async () => {
          try {
            const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
            const out = opts.transformBody
              ? opts.transformBody(body, up.headers)
              : Buffer.from(JSON.stringify(await opts.transformJson!(JSON.parse(body.toString('utf8')))));
            await runAfter();
            const h = backHeaders(up, own, true);
            h['content-length'] = out.length;
            res.writeHead(status, h);
            res.end(out);
          } catch (err) {
            writeRawError(res, err, apiVersion);
          }
          finish();
        });
        return;
      }
      res.writeHead(status, backHeaders(up, own, false));
      // Headers go out at once: `docker run` waits on `wait`'s headers before it starts the container.
      res.flushHeaders();
      up.on('data', (c: Buffer) => { res.write(c); });
      up.on('error', () => { res.destroy(); finish(); });
      up.on('end', async () => {
        // The refresh runs once the engine is done (after `wait` returns, `stop` has stopped…).
        if (opts.awaitAfter) await runAfter();
        else void runAfter();
        res.end();
        finish();
      });
    });

    if (opts.body !== undefined) upstream.end(opts.body ?? undefined);
    // No body announced (GET, HEAD, most POSTs of the CLI): send the request now, not once the
    // client's empty body stream has ended a few ticks later.
    else if (!hasBody(raw)) { upstream.end(); raw.resume(); }
    else raw.pipe(upstream);
  });
}
