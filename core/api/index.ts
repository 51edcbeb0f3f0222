/**
 * The Docker Remote API of the manager (fastify 5). One encapsulated plugin per resource group;
 * this file wires them, the version prefix, the error handler, the listeners (tcp, unix, TLS),
 * hijacked upgrades and the replica seam.
 *
 * `buildApp` gives the fastify instance without listening (for `app.inject()`); `startApi` also
 * listens on every host and answers upgrades.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { SwarmError } from '../errors.ts';
import type { ApiContext, ApiOptions, Role } from './context.ts';
import { NOT_FOUND_PAGE, writeRawError } from './errors.ts';
import { installErrorHandling, sendError } from './errors.ts';
import { writeSocketError } from './hijack.ts';
// Upgrades: `POST /session` (BuildKit) in session.ts, the rest (attach, exec) passed on to hijack.ts.
import session, { hijackUpgrade } from './session.ts';
import { requestedVersion, setAdvertisedFor, setRequestedVersion } from './proxy.ts';
import { defaultForwarder, NO_PRIMARY, ReplicaForwarder, servedByReplica, type Forwarder } from './replica.ts';
import { advertisedMinVersion, advertisedVersion, checkRequestedVersion, stripVersion } from './versions.ts';
import { DEFAULT_BODY_LIMIT } from './body.ts';
import { CORS_HEADERS, fastPath } from './fast.ts';
import { InspectCache, mutationTargets } from './inspect-cache.ts';
import containers from './containers.ts';
import exec from './exec.ts';
import images from './images.ts';
import networks from './networks.ts';
import volumes from './volumes.ts';
import system from './system.ts';
import events from './events.ts';
import swarm from './swarm.ts';
import build from './build.ts';

export type { ApiOptions, ApiTls, Role } from './context.ts';
export type { Forwarder } from './replica.ts';

export interface ApiServer {
  app: FastifyInstance;
  /** Where it listens: `tcp://ip:port` (actual port) and `unix:///path`. */
  addresses: string[];
  close(): Promise<void>;
  setRole(r: Role): void;
}

const CONTEXT = Symbol.for('swarm.apiContext');

export { CORS_HEADERS };

/** The API context of an app built by `buildApp`. */
export function apiContext(app: FastifyInstance): ApiContext {
  return (app as unknown as Record<symbol, ApiContext>)[CONTEXT];
}

/** The fastify app, routes registered, not listening. */
export function buildApp(options: ApiOptions): FastifyInstance {
  const log = options.logger ?? pino({ level: 'silent' });
  let role: Role = { role: 'primary' };
  const ctx: ApiContext = {
    core: options.core,
    cluster: options.cluster,
    options,
    log,
    advertised: () => advertisedVersion(options.cluster.engines()),
    role: () => role,
    eventListeners: 0,
    settling: new Set(),
    inspectCache: new InspectCache(),
  };
  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: !options.debug }),
    // Without --debug nothing logs per request: no child logger (with its request ID) per request.
    ...(options.debug ? {} : { childLoggerFactory: (logger: FastifyBaseLogger) => logger }),
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    // Errors fastify raises before routing (a path with a bad %-escape: FST_ERR_BAD_URL) are answered
    // like every other error: `{"message"}` and the status, not fastify's own error object.
    frameworkErrors: (err, _request, reply) => { sendError(reply, err); },
    // The original routed `/v<digits>.<digits>/…` and the bare paths alike: strip the prefix once,
    // remember it for proxied calls.
    rewriteUrl(req) {
      const { version, url } = stripVersion(req.url ?? '/');
      setRequestedVersion(req, version);
      return url;
    },
  }) as unknown as FastifyInstance;
  (app as unknown as Record<symbol, unknown>)[CONTEXT] = ctx;
  (app as unknown as { swarmRole: { get(): Role; set(r: Role): void } }).swarmRole = { get: () => role, set: (r) => { role = r; } };

  // No parsing content-type parser: bodies stay streams until a route reads them (see body.ts).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  // Callback style: an async hook costs a promise and a microtask turn on every request.
  app.addHook('onRequest', (request, reply, done) => {
    // A write through the manager drops the cached inspects it may change, when it starts and when it
    // ends (inspect-cache.ts); reads (GET/HEAD) change nothing. Every non-GET request comes this way.
    trackMutation(ctx, request.raw.method, request.url, reply.raw);
    const v = ctx.advertised();
    setAdvertisedFor(request.raw, v);
    reply.header('Api-Version', v);
    if (options.cors) for (const [k, val] of Object.entries(CORS_HEADERS)) reply.header(k, val);
    // A `/vX.Y` prefix outside the advertised range is refused as the engine refuses it.
    const requested = requestedVersion(request.raw);
    if (requested === undefined) return done();
    try {
      checkRequestedVersion(requested, v, advertisedMinVersion(options.cluster.engines()));
    } catch (err) {
      return done(err as Error);
    }
    done();
  });
  if (options.cors) {
    // With --cors every route also answers OPTIONS (preflight) with an empty 200.
    app.options('*', async (_request, reply) => reply.code(200).send(''));
  }
  installErrorHandling(app);
  app.addHook('onClose', (_app, done) => { ctx.inspectCache.close(); done(); });

  const plugin = { ctx, bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT };
  app.register(system, plugin);
  app.register(events, plugin);
  app.register(containers, plugin);
  app.register(exec, plugin);
  app.register(images, plugin);
  app.register(networks, plugin);
  app.register(volumes, plugin);
  app.register(build, plugin);
  app.register(session, plugin);
  app.register(swarm, plugin);
  return app;
}

/** See the onRequest hook: drop the cached inspects a write may change, now and once `until` closes. */
function trackMutation(ctx: ApiContext, method: string | undefined, url: string, until: { once(e: 'close', f: () => void): unknown }): void {
  if (method === 'GET' || method === 'HEAD') return;
  const targets = mutationTargets(ctx.cluster, method, url);
  if (targets !== 'all' && targets.length === 0) return;
  ctx.inspectCache.mutation(targets);
  until.once('close', () => ctx.inspectCache.mutation(targets));
}

/** A parsed `--host` value. */
export type Listen = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

export function parseHost(value: string): Listen {
  let v = value.trim();
  const scheme = /^([a-z0-9+.-]*):\/\//i.exec(v);
  if (scheme) {
    const proto = scheme[1].toLowerCase();
    v = v.slice(scheme[0].length);
    if (proto === 'unix') {
      if (!v.startsWith('/')) throw new SwarmError('SWARM_ERR_CONFIG', `invalid unix socket path: "${value}"`);
      return { kind: 'unix', path: v };
    }
    if (proto !== 'tcp') throw new SwarmError('SWARM_ERR_CONFIG', `unsupported protocol: "${proto}"`);
  }
  v = v.replace(/\/+$/, '');
  const i = v.lastIndexOf(':');
  if (i < 0) throw new SwarmError('SWARM_ERR_CONFIG', `invalid listen address: "${value}" (expected ip:port)`);
  const host = v.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const port = Number(v.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SwarmError('SWARM_ERR_CONFIG', `invalid listen address: "${value}" (bad port)`);
  }
  return { kind: 'tcp', host, port };
}

/** What Go's HTTPS servers (dockerd's, and the original's since Go 1.12) answer a plain-HTTP request. */
export const PLAIN_HTTP_TO_TLS = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

/**
 * A connection to a TLS listener whose first byte is not a TLS handshake record (0x16) is a
 * plain-HTTP client: it gets Go's 400 answer, which the docker CLI shows as "Client sent an HTTP
 * request to an HTTPS server." (Node's TLS server closed it silently: the CLI said only "EOF").
 * A TLS connection goes on to the https server with its first bytes put back.
 */
function sniffTls(socket: net.Socket, tlsServer: net.Server, pending: Set<net.Socket>): void {
  const drop = () => socket.destroy();
  pending.add(socket); // destroyed by close(): the listener's close waits for every connection
  socket.once('close', () => pending.delete(socket));
  socket.once('error', drop);
  socket.setTimeout(120_000, drop); // as tls.Server's handshakeTimeout, for a client that sends nothing
  socket.once('data', (chunk: Buffer) => {
    pending.delete(socket);
    socket.pause();
    socket.unshift(chunk);
    socket.setTimeout(0);
    socket.off('error', drop);
    if (chunk[0] === 0x16) {
      tlsServer.emit('connection', socket);
    } else {
      socket.on('error', () => {});
      socket.end(PLAIN_HTTP_TO_TLS);
    }
  });
}

/** PEM text, or a path to read it from. */
function pem(v: string): string {
  return v.includes('-----BEGIN') ? v : fs.readFileSync(v, 'utf8');
}

function listen(server: net.Server, where: Listen): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      let message = where.kind === 'tcp'
        ? `listen tcp ${where.host}:${where.port}: ${err.code === 'EADDRINUSE' ? 'bind: address already in use' : err.message}`
        : `listen unix ${where.path}: ${err.message}`;
      // The original's hint: the default port is Docker's own.
      if (where.kind === 'tcp' && where.port === 2375 && err.code === 'EADDRINUSE') {
        message += ': is Docker already running on this machine? Try using a different port';
      }
      reject(new SwarmError('SWARM_ERR_CONFIG', message, { cause: err }));
    };
    server.once('error', onError);
    const ok = () => {
      server.off('error', onError);
      if (where.kind === 'unix') {
        fs.chmodSync(where.path, 0o600);
        resolve(`unix://${where.path}`);
      } else {
        const a = server.address() as net.AddressInfo;
        resolve(`tcp://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`);
      }
    };
    if (where.kind === 'unix') {
      try { fs.unlinkSync(where.path); } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return reject(err);
      }
      server.listen(where.path, ok);
    } else {
      server.listen(where.port, where.host, ok);
    }
  });
}

/** Build the app and listen on every host. */
export async function startApi(options: ApiOptions): Promise<ApiServer> {
  const app = buildApp(options);
  await app.ready();
  const ctx = apiContext(app);
  const roleBox = (app as unknown as { swarmRole: { get(): Role; set(r: Role): void } }).swarmRole;
  const wheres = (options.hosts.length > 0 ? options.hosts : ['tcp://127.0.0.1:2375']).map(parseHost);

  let tlsOptions: https.ServerOptions | undefined;
  let forwardTls: import('node:tls').ConnectionOptions | undefined;
  if (options.tls) {
    const t = options.tls;
    const ca = t.ca ? pem(t.ca) : undefined;
    tlsOptions = {
      cert: pem(t.cert), key: pem(t.key), ca,
      requestCert: t.verify, rejectUnauthorized: t.verify,
      minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'],
      // As plain http.Server does: hijacked connections (attach, exec) are half-closed by clients.
      allowHalfOpen: true,
    };
    // The same certificate serves as client certificate towards the primary (as the original).
    forwardTls = { cert: tlsOptions.cert, key: tlsOptions.key, ca, rejectUnauthorized: t.verify };
  }
  const forwarder: Forwarder = options.forward ?? defaultForwarder(forwardTls);
  // Replica decisions (wait for a primary, forward, or serve locally once primary): core/api/replica.ts.
  const replica = new ReplicaForwarder({ transport: forwarder, logger: ctx.log });

  // Inspect and ps without fastify's per-request machinery (fast.ts); the rest, and anything odd, via fastify.
  const fast = fastPath(ctx);
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const r = roleBox.get();
    if (r.role === 'replica' && !servedByReplica(req.url ?? '/')) {
      void replica.handle(req, res).then((taken) => { if (!taken) app.routing(req, res); });
      return;
    }
    if (fast && fast(req, res, () => app.routing(req, res))) return;
    app.routing(req, res);
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const r = roleBox.get();
    // Hijacked attach / exec start do not pass fastify's onRequest hook.
    if (r.role !== 'replica') trackMutation(ctx, req.method, req.url ?? '/', socket);
    if (r.role === 'replica') {
      void replica.handleUpgrade(req, socket, head).then((taken) => {
        if (!taken) hijackUpgrade({ cluster: options.cluster, log: ctx.log, advertised: ctx.advertised }, req, socket, head);
      });
      return;
    }
    hijackUpgrade({ cluster: options.cluster, log: ctx.log, advertised: ctx.advertised }, req, socket, head);
  };

  const servers: net.Server[] = [];
  const sockets = new Set<Duplex>();
  const sniffing = new Set<net.Socket>();
  // A TLS listener's plain front: the connections it hands over are closed through the https
  // server, and their raw sockets may never report it, so its close() is not waited for.
  const fronts = new WeakSet<net.Server>();
  const addresses: string[] = [];
  try {
    for (const where of wheres) {
      const server = tlsOptions ? https.createServer(tlsOptions, onRequest) : http.createServer(onRequest);
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        onUpgrade(req, socket, head);
      });
      server.on('clientError', (_err, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'); else socket.destroy(); });
      // Long streams (events, logs -f, attach) must not be cut by server timeouts.
      server.requestTimeout = 0;
      server.headersTimeout = 60_000;
      // Node closes idle keep-alive connections after 5 s; a client reusing one at that moment gets
      // ECONNRESET on a request that may not be retried (a create). dockerd never closes idle
      // connections; a long bound keeps that race away from real clients without leaking sockets.
      server.keepAliveTimeout = 120_000;
      servers.push(server);
      if (tlsOptions) {
        // The listener is a plain one that hands TLS connections to the https server (see sniffTls).
        // allowHalfOpen as the https server's, so the raw socket never ends a half-closed stream itself
        // (a half-closing TLS client was answered with either setting when tried: TLS takes the socket over).
        const front = net.createServer({ allowHalfOpen: true }, (socket) => sniffTls(socket, server, sniffing));
        fronts.add(front);
        servers.push(front);
        addresses.push(await listen(front, where));
      } else {
        addresses.push(await listen(server, where));
      }
    }
  } catch (err) {
    for (const s of servers) s.close();
    await app.close();
    throw err;
  }
  ctx.log.info({ addresses }, 'API listening');

  let closed = false;
  return {
    app,
    addresses,
    // Writes made through another manager meanwhile were not seen here: start the inspect cache afresh.
    setRole(r) { roleBox.set({ ...r }); replica.setRole(r); ctx.inspectCache.clear(); },
    async close() {
      if (closed) return;
      closed = true;
      replica.close(); // requests still waiting for a primary get their error
      for (const s of sockets) s.destroy();
      for (const s of sniffing) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => {
        if (fronts.has(s)) {
          s.close(); // stops listening at once
          resolve();
          return;
        }
        s.close(() => resolve());
        (s as http.Server).closeAllConnections?.();
      })));
      await app.close();
    },
  };
}

export { NOT_FOUND_PAGE };
