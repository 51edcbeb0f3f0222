/**
 * Hijacked connections: `docker attach`, `docker run -it`, `docker exec -it` send an HTTP
 * Upgrade (`Connection: Upgrade`, `Upgrade: tcp`; `websocket` for `attach/ws`). A fastify route
 * never sees those: the server's 'upgrade' event hands us the raw socket, and we splice it to a
 * raw TCP (or TLS) connection to the engine after writing the original request (path rewritten:
 * container name → full ID, version prefix adapted to the engine). Bytes then flow both ways;
 * a half-close (stdin EOF) is passed on without closing the other direction.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Cluster, Engine, EngineEndpoint } from '../engine/cluster-api.ts';
import { SwarmError } from '../errors.ts';
import { badRequest, errorMessage, errorStatus, NOT_FOUND_PAGE, notFound } from './errors.ts';
import { engineVersionPrefix, stripVersion } from './versions.ts';
import { containerId, execOwnerOf, ownerOf } from './lookup.ts';

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error' };

/** Answer an upgrade request with a JSON error and close the socket. */
export function writeSocketError(socket: Duplex, err: unknown, apiVersion?: string): void {
  const status = errorStatus(err);
  const body = JSON.stringify({ message: errorMessage(err) });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  if (apiVersion) lines.push(`Api-Version: ${apiVersion}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** Raw connection to an endpoint, half-open allowed both ways. */
export function connectRaw(ep: EngineEndpoint): Duplex {
  if (ep.socketPath) return net.connect({ path: ep.socketPath, allowHalfOpen: true });
  if (ep.tls) {
    const s = tls.connect({ host: ep.host, port: ep.port, ...ep.tls, allowHalfOpen: true } as tls.ConnectionOptions);
    s.setKeepAlive(true, 30_000); // as the original's TLS hijack dialer
    return s;
  }
  const s = net.connect({ host: ep.host, port: ep.port, allowHalfOpen: true });
  s.setNoDelay(true);
  return s;
}

/**
 * Write `req` (with `pathAndQuery` instead of its URL) to `ep` and splice the sockets.
 * `onOutcome` gets the connect error, or nothing once connected.
 */
export function splice(
  ep: EngineEndpoint, req: IncomingMessage, socket: Duplex, head: Buffer, pathAndQuery: string,
  onOutcome: (err?: unknown) => void, log?: Logger, errorFor: (err: Error) => unknown = (err) => new SwarmError('SWARM_ERR_ENGINE', errorMessage(err)),
): void {
  // A client that half-closes (stdin done: TCP FIN, or a TLS close_notify) must still get the
  // output: TLS server sockets are not half-open by default.
  (socket as Duplex & { allowHalfOpen?: boolean }).allowHalfOpen = true;
  const upstream = connectRaw(ep);
  let connected = false;
  const lines = [`${req.method} ${pathAndQuery} HTTP/1.1`];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === 'host') continue;
    lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  lines.push(`Host: ${ep.socketPath ? 'docker' : `${ep.host}:${ep.port}`}`);
  const preamble = `${lines.join('\r\n')}\r\n\r\n`;

  // An engine that accepts the connection but never answers (a frozen dockerd) must not hold the
  // client forever: without a first byte within the engine timeout, the client gets an error.
  const timeoutMs = ep.answerTimeout ?? 0;
  let answered = false;
  const timer = timeoutMs > 0 ? setTimeout(() => {
    if (answered) return;
    const err = new Error(`the engine did not answer within ${Math.round(timeoutMs / 1000)}s`);
    onOutcome(Object.assign(err, { code: 'ETIMEDOUT' }));
    upstream.destroy();
    writeSocketError(socket, errorFor(err));
  }, timeoutMs) : undefined;
  timer?.unref();
  upstream.once('data', () => { answered = true; if (timer) clearTimeout(timer); });
  upstream.once('close', () => { if (timer) clearTimeout(timer); });

  const onConnect = () => {
    connected = true;
    onOutcome();
    upstream.write(preamble);
    if (head.length > 0) upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
  };
  upstream.once(ep.tls && !ep.socketPath ? 'secureConnect' : 'connect', onConnect);
  upstream.on('error', (err) => {
    if (!connected) {
      if (timer) clearTimeout(timer);
      onOutcome(err);
      writeSocketError(socket, errorFor(err));
      return;
    }
    log?.debug({ err: err.message }, 'hijacked engine connection error');
    socket.destroy();
  });
  socket.on('error', (err) => {
    log?.debug({ err: err.message }, 'hijacked client connection error');
    upstream.destroy();
  });
  // pipe() ends the other side on 'end' (half-close) and keeps the reverse direction open.
  // A client gone for good has nobody left to read: drop the engine side.
  socket.on('close', () => upstream.destroy());
  // The engine closing normally must not cut output still queued for the client (pipe ends the
  // client side once it is written); only a broken engine connection is torn down at once.
  upstream.on('close', (hadError: boolean) => {
    if (hadError) socket.destroy();
    else if (!socket.writableEnded) socket.end();
  });
}

/** What the upgrade router needs from the app. */
export interface HijackContext {
  cluster: Cluster;
  log: Logger;
  advertised(): string;
}

/** A path segment's %-escapes decoded; a bad escape is the client's 400 (as fastify answers it on other routes). */
function decodeSegment(segment: string, path: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`'${path}' is not a valid url component`);
  }
}

/** Resolve an upgrade request to its engine and the path to send there. */
function route(ctx: HijackContext, method: string, url: string): { engine: Engine; path: string } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);
  let m: RegExpExecArray | null;
  if (method === 'POST' && (m = /^\/containers\/(.+)\/attach$/.exec(path))) {
    const { engine, container } = ownerOf(ctx.cluster, decodeSegment(m[1], path));
    return { engine, path: `/containers/${containerId({ engine, container })}/attach${query}` };
  }
  if (method === 'GET' && (m = /^\/containers\/(.+)\/attach\/ws$/.exec(path))) {
    const { engine, container } = ownerOf(ctx.cluster, decodeSegment(m[1], path));
    return { engine, path: `/containers/${containerId({ engine, container })}/attach/ws${query}` };
  }
  if (method === 'POST' && (m = /^\/exec\/([^/]+)\/start$/.exec(path))) {
    const { engine } = execOwnerOf(ctx.cluster, decodeSegment(m[1], path));
    return { engine, path: `/exec/${m[1]}/start${query}` };
  }
  throw notFound(NOT_FOUND_PAGE);
}

/** The server's 'upgrade' listener for the primary role. */
export function hijackUpgrade(ctx: HijackContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const { version, url } = stripVersion(req.url ?? '/');
  let target: { engine: Engine; path: string };
  try {
    target = route(ctx, req.method ?? 'GET', url);
  } catch (err) {
    writeSocketError(socket, err, ctx.advertised());
    return;
  }
  const { engine } = target;
  const full = `${engineVersionPrefix(version, engine)}${target.path}`;
  ctx.log.debug({ engine: engine.name, path: full }, 'hijack');
  splice(engine.endpoint, req, socket, head, full, (err) => engine.recordOutcome(err), ctx.log);
}
