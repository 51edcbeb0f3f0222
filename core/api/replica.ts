/**
 * The replica side of replicated managers (the original's api/replica.go).
 *
 * A replica answers requests whose path ends in `/_ping`, `/info` or `/debug` itself (suffix
 * match, as the original did) and forwards everything else to the primary over a raw TCP (or
 * TLS) connection: the request head is written as received, the body is copied, and the
 * primary's answer is copied back byte for byte. Streams (`logs -f`, `events`, `wait`) and
 * upgraded connections (`attach`, `exec -it`) pass through untouched because nothing in
 * between parses them. While no primary is known, a request waits until one is elected. If this
 * manager becomes the primary in the meantime, the request is served locally.
 *
 * One change from the original: a primary that refuses the connection (it died, and its lock has
 * not expired yet) never saw the request. Instead of failing at once, the request waits for the
 * next election (bounded by `unreachableWait`) and goes to the new primary.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';

export type ManagerRole = 'primary' | 'replica';

export interface RoleState {
  role: ManagerRole;
  /** The primary's advertise address (`host:port`); on a replica, undefined while none is elected. */
  primary?: string;
}

export interface ReplicaOptions {
  /** TLS client options to reach the primary (the manager's own cert, key and CA when `--tlsverify`). */
  tls?: tls.ConnectionOptions;
  /** This manager's advertise address: a replica told that the primary is itself serves locally. */
  self?: string;
  logger?: Logger;
}

/** Paths a replica answers itself. */
export function isLocalPath(url: string): boolean {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return path.endsWith('/_ping') || path.endsWith('/info') || path.endsWith('/debug');
}

export const noPrimaryMessage = (why: string) => `No elected primary cluster manager: ${why}`;
export const unreachableMessage = (err: unknown, primary: string) =>
  `Unable to reach primary cluster manager (${(err as Error)?.message ?? String(err)}): ${primary}`;

/** Split `host:port` (IPv6 in brackets allowed). */
export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  if (i <= 0) throw new Error(`invalid primary address: ${addr}`);
  const host = addr.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid primary address: ${addr}`);
  return { host, port };
}

// Hop-by-hop headers of the forwarded request: the replica's leg to the primary is its own
// connection, closed after one exchange so the end of the answer is the end of the stream.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'expect']);

/** Same as `isLocalPath`: the request is served by the replica's own routes. */
export const servedByReplica = isLocalPath;

/** Message of a request refused because no primary is known (shutdown while waiting). */
export const NO_PRIMARY = noPrimaryMessage('no primary cluster manager elected');

/**
 * How a request reaches the primary once its address is known. The default is raw forwarding
 * (`defaultForwarder`); `ApiOptions.forward` may replace it.
 */
export interface Forwarder {
  request(req: IncomingMessage, res: ServerResponse, primary: string): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, primary: string): void;
}

/** Raw TCP/TLS forwarding to the primary, with the manager's TLS client options if any. */
export function defaultForwarder(tlsOptions?: tls.ConnectionOptions, logger?: Logger): Forwarder {
  return new RawForwarder(tlsOptions, logger?.child({ component: 'replica' }));
}

interface Waiter {
  /** Whether this target ends the wait (undefined = serve locally, null = no primary known). */
  accepts(target: string | undefined | null): boolean;
  resolve(primary: string | undefined): void;
  reject(err: Error): void;
}

/** Errors that prove the request never reached the primary: it is safe to send it elsewhere. */
const NOT_REACHED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EADDRNOTAVAIL']);

/**
 * The replica's state: the current role and primary, and the requests waiting for a primary.
 * `handle`/`handleUpgrade` decide per request: serve locally, wait, or forward.
 */
export class ReplicaForwarder {
  private state: RoleState = { role: 'primary' };
  private waiters = new Set<Waiter>();
  private readonly log: Logger | undefined;
  readonly transport: Forwarder;
  private readonly unreachableWait: number;

  constructor(private readonly options: ReplicaOptions & {
    transport?: Forwarder;
    /**
     * A primary that refuses the connection is usually dead, and its lock has not expired yet.
     * The request then never reached it, so it waits (at most this long, ms) for another primary
     * to be elected and goes there, or is served here if this manager won. After that the client
     * gets the legacy `Unable to reach primary cluster manager` error. Default 30 s; 0 answers at
     * once, as the original did.
     */
    unreachableWait?: number;
  } = {}) {
    this.log = options.logger?.child({ component: 'replica' });
    this.transport = options.transport ?? new RawForwarder(options.tls, this.log);
    this.unreachableWait = options.unreachableWait ?? 30_000;
  }

  get role(): RoleState {
    return { ...this.state };
  }

  /** Requests currently waiting for a primary. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Called on every election outcome; wakes the requests waiting for a primary. */
  setRole(next: RoleState): void {
    this.state = { role: next.role, primary: next.primary };
    const target = this.currentTarget();
    for (const w of [...this.waiters]) {
      if (!w.accepts(target)) continue;
      this.waiters.delete(w);
      w.resolve(target ?? undefined);
    }
  }

  /** undefined: serve locally; a string: forward there; null: wait. */
  private currentTarget(): string | undefined | null {
    if (this.state.role === 'primary') return undefined;
    if (!this.state.primary) return null;
    if (this.options.self && this.state.primary === this.options.self) return undefined;
    return this.state.primary;
  }

  /**
   * Where `req` must go: undefined to serve it locally, else the primary's address. Waits while
   * this manager is a replica without a known primary; rejects when the client goes away first.
   */
  target(req: IncomingMessage): Promise<string | undefined> {
    if (isLocalPath(req.url ?? '/')) return Promise.resolve(undefined);
    return this.waitUntil(req, (t) => t !== null);
  }

  /** Wait for a target `accepts` takes; rejects when the client goes away or at `deadline`. */
  private waitUntil(req: IncomingMessage, accepts: Waiter['accepts'], deadline?: { at: number; error(): Error }): Promise<string | undefined> {
    const now = this.currentTarget();
    if (accepts(now)) return Promise.resolve(now ?? undefined);
    return new Promise((resolve, reject) => {
      const socket = req.socket;
      let timer: NodeJS.Timeout | undefined;
      const settle = () => {
        this.waiters.delete(waiter);
        socket.off('close', onClose);
        clearTimeout(timer);
      };
      const onClose = () => {
        settle();
        reject(new Error(noPrimaryMessage('context canceled')));
      };
      const waiter: Waiter = {
        accepts,
        resolve: (primary) => { settle(); resolve(primary); },
        reject: (err) => { settle(); reject(err); },
      };
      this.waiters.add(waiter);
      socket.once('close', onClose);
      if (deadline) timer = setTimeout(() => waiter.reject(deadline.error()), Math.max(0, deadline.at - Date.now()));
      this.log?.debug({ url: req.url }, 'waiting for an elected primary');
    });
  }

  /**
   * Forward to `primary`; if it refuses the connection, wait for another primary (or for this
   * manager to become it: resolves false) and try there, until `unreachableWait` has passed.
   */
  private async forwardWithRetry(
    req: IncomingMessage,
    first: string,
    send: (primary: string, onConnect: (err?: Error) => boolean) => void,
    fail: (message: string) => void,
  ): Promise<boolean> {
    const retrying = this.transport instanceof RawForwarder && this.unreachableWait > 0;
    if (!retrying) {
      send(first, () => false);
      return true;
    }
    const deadline = Date.now() + this.unreachableWait;
    let primary: string | undefined = first;
    while (primary !== undefined) {
      const target: string = primary;
      const refused = await new Promise<Error | undefined>((resolve) => {
        send(target, (err) => {
          // Connected (or an error after which the request may have reached it): the transport answers.
          if (!err || !NOT_REACHED.has((err as NodeJS.ErrnoException).code ?? '') || Date.now() >= deadline) {
            resolve(undefined);
            return false;
          }
          resolve(err);
          return true; // we answer: with another primary, locally, or with the error below
        });
      });
      if (!refused) return true;
      this.log?.info({ primary: target, err: refused.message }, 'primary unreachable, waiting for a new one');
      try {
        primary = await this.waitUntil(req, (t) => t !== null && t !== target,
          { at: deadline, error: () => new Error(unreachableMessage(refused, target)) });
      } catch (err) {
        fail((err as Error).message);
        return true;
      }
    }
    return false; // this manager is the primary now
  }

  /**
   * The whole replica decision for a plain request: true when it was answered here (forwarded,
   * or an error), false when the local routes must serve it.
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    let primary: string | undefined;
    try {
      primary = await this.target(req);
    } catch (err) {
      writeJsonError(res, (err as Error).message);
      return true;
    }
    if (primary === undefined) return false;
    return this.forwardWithRetry(req, primary,
      (p, onConnect) => (this.transport as RawForwarder).request(req, res, p, onConnect),
      (message) => writeJsonError(res, message));
  }

  /** Same for an upgrade request. */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<boolean> {
    let primary: string | undefined;
    try {
      primary = await this.target(req);
    } catch (err) {
      writeSocketJsonError(socket, (err as Error).message);
      return true;
    }
    if (primary === undefined) return false;
    return this.forwardWithRetry(req, primary,
      (p, onConnect) => (this.transport as RawForwarder).upgrade(req, socket, head, p, onConnect),
      (message) => writeSocketJsonError(socket, message));
  }

  /** Waiting requests are answered with an error (shutdown). */
  close(): void {
    for (const w of [...this.waiters]) w.reject(new Error(noPrimaryMessage('manager shutting down')));
    this.waiters.clear();
  }
}

/** Byte-for-byte forwarding over a fresh TCP (or TLS) connection per request. */
class RawForwarder implements Forwarder {
  constructor(private readonly tlsOptions?: tls.ConnectionOptions, private readonly log?: Logger) {}

  /** Forward a plain (non-upgrade) request; the answer is written raw to the client's socket. */
  request(req: IncomingMessage, res: ServerResponse, primary: string, onConnect?: (err?: Error) => boolean): void {
    const client = req.socket;
    let upstream: Duplex;
    try {
      upstream = this.connect(primary);
    } catch (err) {
      if (!onConnect?.(err as Error)) writeJsonError(res, unreachableMessage(err, primary));
      return;
    }
    let connected = false;
    let answered = 0; // bytes of the primary's answer already given to the client
    let finished = false;

    const fail = (err: unknown) => {
      if (finished) return;
      finished = true;
      upstream.destroy();
      if (!connected && onConnect?.(err as Error)) return; // the caller sends it elsewhere
      // Nothing reached the client yet: it gets a proper error answer, never a silent drop.
      if (answered === 0 && !client.destroyed) writeJsonError(res, unreachableMessage(err, primary));
      else client.destroy();
    };

    upstream.once(this.tlsOptions ? 'secureConnect' : 'connect', () => {
      connected = true;
      onConnect?.();
      upstream.write(requestHead(req, { close: true }));
      copyBody(req, upstream);
    });
    upstream.on('data', (chunk: Buffer) => {
      answered += chunk.length;
      if (!client.write(chunk)) upstream.pause();
    });
    const onDrain = () => upstream.resume();
    client.on('drain', onDrain);
    upstream.on('end', () => {
      if (finished) return;
      if (answered === 0) {
        fail(new Error(connected ? 'connection closed before an answer' : 'connection closed'));
        return;
      }
      finished = true;
      client.end();
    });
    upstream.on('error', (err) => {
      this.log?.debug({ err: err.message, primary }, 'forward to primary failed');
      fail(err);
    });
    upstream.on('close', () => {
      client.off('drain', onDrain);
      fail(new Error('connection closed'));
    });
    // The client went away (Ctrl-C on `docker logs -f`): stop the primary's side too.
    client.once('close', () => {
      finished = true;
      upstream.destroy();
    });
  }

  /** Forward an upgrade request (attach, exec start, session): splice the sockets after the head. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, primary: string, onConnect?: (err?: Error) => boolean): void {
    let upstream: Duplex;
    try {
      upstream = this.connect(primary);
    } catch (err) {
      if (!onConnect?.(err as Error)) writeSocketJsonError(socket, unreachableMessage(err, primary));
      return;
    }
    let connected = false;
    let gaveUp = false;
    upstream.once(this.tlsOptions ? 'secureConnect' : 'connect', () => {
      connected = true;
      onConnect?.();
      upstream.write(requestHead(req, { close: false }));
      if (head.length > 0) upstream.write(head);
      // pipe() passes a half-close (stdin EOF) on and keeps the other direction open.
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
    upstream.on('error', (err) => {
      if (connected) socket.destroy();
      else if (!gaveUp) {
        gaveUp = true;
        if (!onConnect?.(err)) writeSocketJsonError(socket, unreachableMessage(err, primary));
      }
    });
    const onSocketClose = () => upstream.destroy();
    socket.on('error', onSocketClose); // the client's side broke; nothing to answer
    socket.on('close', onSocketClose);
    upstream.on('close', () => {
      if (connected) socket.destroy();
      else { socket.off('error', onSocketClose); socket.off('close', onSocketClose); } // a retry owns the socket now
    });
  }

  private connect(primary: string): Duplex {
    const { host, port } = splitHostPort(primary);
    if (this.tlsOptions) {
      // allowHalfOpen reaches the TLSSocket (Node passes it on) though the typings omit it.
      const opts = { ...this.tlsOptions, host, port, allowHalfOpen: true } as tls.ConnectionOptions;
      if (!net.isIP(host)) opts.servername = host; // SNI takes names only
      const s = tls.connect(opts);
      s.setKeepAlive(true, 30_000); // as the original's TLS hijack dialer
      return s;
    }
    const s = net.connect({ host, port, allowHalfOpen: true });
    s.setNoDelay(true);
    return s;
  }
}

/** The request head as received, for the primary. */
function requestHead(req: IncomingMessage, opts: { close: boolean }): string {
  const lines = [`${req.method} ${req.url} HTTP/1.1`];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (opts.close && HOP_BY_HOP.has(raw[i].toLowerCase())) continue;
    lines.push(`${raw[i]}: ${raw[i + 1]}`);
  }
  if (opts.close) lines.push('Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Copy the body. Node's parser has already removed chunked framing, so a chunked request is
 * framed again; a sized body is copied as is. The upstream is never half-closed: a server may
 * read EOF as "the client went away" and cancel a long request (Go's net/http does).
 */
function copyBody(req: IncomingMessage, upstream: Duplex): void {
  const chunked = /\bchunked\b/i.test(String(req.headers['transfer-encoding'] ?? ''));
  req.on('data', (chunk: Buffer) => {
    const ok = chunked
      ? upstream.write(`${chunk.length.toString(16)}\r\n`) && upstream.write(chunk) && upstream.write('\r\n')
      : upstream.write(chunk);
    if (!ok) {
      req.pause();
      upstream.once('drain', () => req.resume());
    }
  });
  req.on('end', () => {
    if (chunked) upstream.write('0\r\n\r\n');
  });
}

function writeJsonError(res: ServerResponse, message: string): void {
  if (res.headersSent || res.writableEnded) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ message });
  res.writeHead(500, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function writeSocketJsonError(socket: Duplex, message: string): void {
  const body = JSON.stringify({ message });
  socket.end(`HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
