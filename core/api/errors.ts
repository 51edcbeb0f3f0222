/**
 * One error handler for the whole API: every error becomes `{"message": "..."}` with the right
 * status. SwarmError carries its status; schema failures are 400; fastify's own errors keep theirs;
 * anything else is a 500 with the message only. Stacks never leave the process.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SwarmError } from '../errors.ts';

export const NOT_FOUND_PAGE = '404 page not found';

export const notFound = (message: string) => new SwarmError('SWARM_ERR_NOT_FOUND', message);
export const badRequest = (message: string) => new SwarmError('SWARM_ERR_BAD_REQUEST', message);
export const conflict = (message: string) => new SwarmError('SWARM_ERR_CONFLICT', message);
export const internal = (message: string, cause?: unknown) => new SwarmError('SWARM_ERR_INTERNAL', message, { cause });
export const notImplemented = (message: string) => new SwarmError('SWARM_ERR_NOT_IMPLEMENTED', message);

/** Status for any thrown value. */
export function errorStatus(err: unknown): number {
  if (err instanceof SwarmError) return err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  const e = err as Partial<FastifyError> | undefined;
  if (e?.validation) return 400;
  const s = e?.statusCode;
  if (typeof s === 'number' && s >= 400 && s < 600) return s;
  return 500;
}

/**
 * Status of a fan-out (rmi, tag, volume rm on several engines) that failed somewhere: the engines'
 * own status when every failure has the same client-error status (a volume in use is a 409 on
 * each node: the answer is a 409, not a 500), else 500.
 */
export function fanOutStatus(failures: readonly (number | undefined)[]): number {
  const first = failures[0];
  if (first !== undefined && first >= 400 && first < 500 && failures.every((s) => s === first)) return first;
  return 500;
}

/** Message for any thrown value: the text only, never a stack. */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  // An engine's JSON error body carried as a message is unwrapped: clients show `message` only.
  if (text.startsWith('{')) {
    try {
      const j = JSON.parse(text) as { message?: unknown };
      if (typeof j?.message === 'string') return j.message;
    } catch { /* not JSON after all: keep the text */ }
  }
  return text;
}

/**
 * The docker CLI unwraps `message` only when Content-Type is exactly `application/json` (as dockerd
 * sends it); fastify appends `; charset=utf-8` to string and object payloads, so send a Buffer.
 */
export function jsonBody(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').send(Buffer.from(JSON.stringify(value)));
}

export function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  return jsonBody(reply, errorStatus(err), { message: errorMessage(err) });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // A client that hung up (mid-body: the body read fails with "aborted") has nobody left to
    // answer, and it is not the manager's failure: no error-level line with a stack per hang-up.
    if (request.raw.socket?.destroyed) {
      request.log.debug({ err: err.message, url: request.url }, 'client gone');
      reply.raw.destroy();
      return;
    }
    const status = errorStatus(err);
    if (status >= 500) request.log.error({ err, url: request.url }, 'request failed');
    else request.log.debug({ err: err.message, url: request.url }, 'request refused');
    // A reply already streaming (proxied, hijacked) cannot carry a JSON error any more.
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    sendError(reply, err);
  });
  // Unknown routes and methods answer like the original's router (gorilla): 404 `404 page not found`.
  app.setNotFoundHandler((_request, reply) => {
    jsonBody(reply, 404, { message: NOT_FOUND_PAGE });
  });
}

/** Raw-response variant for code paths that hijacked the reply (proxy, hijack). */
export function writeRawError(res: import('node:http').ServerResponse, err: unknown, apiVersion?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ message: errorMessage(err) });
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  };
  if (apiVersion) headers['Api-Version'] = apiVersion;
  res.writeHead(errorStatus(err), headers);
  res.end(body);
}
