/**
 * The engine layer's HTTP client: one per engine, under dockerode's modem (modem.ts's LeanModem,
 * which replaces docker-modem's `dial`; `EngineImpl.dial` uses it directly for calls dockerode lacks).
 * docker-modem formats every request with `util.inspect(options, { showHidden: true, depth: null })`
 * (its debug line, computed even when debug is off), which walked the agent and its sockets and
 * took 70% of the manager's CPU at 1,000 engines. This client sends the same requests and gives the
 * same results: parsed JSON (the raw Buffer when the body is not JSON), the response stream for
 * streaming calls, and errors shaped like docker-modem's (`statusCode`, `json`, message
 * `(HTTP code N) <reason or "unexpected"> - <engine message> `), so errors.ts and health.ts read them unchanged.
 *
 * Connections are kept alive (a fresh TCP/TLS connection per call cost as much as the call), with
 * one guard: a dockerd shutting down keeps serving connections it already has while it refuses new
 * ones, so a success on such an old connection must not revive an engine that just failed. Each
 * socket remembers the connection "generation" it was opened in; a connection-class error starts a
 * new generation and drops the idle sockets of older ones, and an answer that arrives on an older
 * socket is returned to the caller but reported as `stale` (it does not count toward health).
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { isConnectionError } from './health.ts';

export interface TransportRequest {
  path: string;
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'HEAD';
  query?: Record<string, unknown>;
  body?: unknown;
  /** Base64 auth config (X-Registry-Auth). */
  auth?: string;
  /** Resolve with the response stream instead of the parsed body. */
  stream?: boolean;
  /** Status codes that count as success besides 200/201/204. */
  ok?: readonly number[];
  /**
   * docker-modem's status table (what dockerode methods pass): when set it replaces the default
   * (`true` = success, text = the error's `reason`, as in docker-modem's messages).
   */
  statusCodes?: Readonly<Record<number, true | string>>;
  /** Socket inactivity limit in ms; 0 = none (event streams). Defaults to the transport's. */
  timeout?: number;
}

/** `fresh` is false when the answer came on a connection older than the last connection failure. */
export type Outcome = { err: unknown; fresh: boolean };

export interface TransportOptions {
  host: string;
  port: number;
  tls?: ConnectionOptions;
  /** Default request timeout (socket inactivity), ms; 0 = none. */
  timeout: number;
  /** Engine name for timeout messages. */
  label: () => string;
  /** How long an idle kept-alive connection is kept, ms (default `FREE_SOCKET_TIMEOUT`). */
  idleTimeout?: number;
}

/**
 * Idle keep-alive sockets are closed after this long. A server may close an idle connection at the
 * moment we reuse it: that request is retried once on a new connection (see `request`).
 */
export const FREE_SOCKET_TIMEOUT = 30_000;

/** docker-modem's query string: objects JSON-encoded, undefined dropped, the rest as text. */
export function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    const text = v !== null && typeof v === 'object' && !Array.isArray(v) ? JSON.stringify(v) : String(v);
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(text)}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

function parseBody(buffer: Buffer): unknown {
  if (buffer.length === 0) return buffer;
  try {
    return JSON.parse(buffer.toString('utf8'));
  } catch {
    return buffer;
  }
}

/** The error docker-modem builds for an unexpected status. */
export function httpError(status: number, json: unknown, reason?: string): Error & { statusCode: number; json: unknown; reason: string | undefined } {
  const cause = json as { message?: unknown; error?: unknown } | string | Buffer | null | undefined;
  const text = cause && typeof cause === 'object' && !Buffer.isBuffer(cause)
    ? (cause.message ?? cause.error ?? JSON.stringify(cause))
    : String(cause ?? '');
  return Object.assign(new Error(`(HTTP code ${status}) ${reason || 'unexpected'} - ${String(text)} `), { reason, statusCode: status, json });
}

export class EngineTransport {
  private readonly agent: http.Agent;
  /** Agent without keep-alive for long-lived streams (events, pulls): they never go back to a pool. */
  private readonly streamAgent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private generation = 0;
  private readonly socketGeneration = new WeakMap<Socket, number>();

  constructor(private readonly o: TransportOptions) {
    // One idle socket per engine is enough (a handful of creates are in flight across 1,000 engines);
    // the extra ones a refresh tick opens in parallel are closed, not kept (memory at 1,000 engines).
    const keep = { keepAlive: true, timeout: o.idleTimeout ?? FREE_SOCKET_TIMEOUT, maxFreeSockets: 1, scheduling: 'lifo' as const };
    if (o.tls) {
      this.mod = https;
      this.agent = new https.Agent({ ...keep, ...o.tls });
      this.streamAgent = new https.Agent({ keepAlive: false, ...o.tls });
    } else {
      this.mod = http;
      this.agent = new http.Agent(keep);
      this.streamAgent = new http.Agent({ keepAlive: false });
    }
  }

  /**
   * One engine call. `onOutcome` is told once, before the promise settles: the error (undefined on
   * success) and whether the answer is fresh (see the file comment).
   */
  request<T>(r: TransportRequest, onOutcome: (o: Outcome) => void, retried = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let socketGen = this.generation;
      const finish = (err: unknown, value?: unknown) => {
        if (settled) return;
        settled = true;
        if (err !== undefined && isConnectionError(err)) this.connectionFailed();
        onOutcome({ err, fresh: err !== undefined || socketGen >= this.generation });
        if (err !== undefined) reject(err);
        else resolve(value as T);
      };
      const headers: Record<string, string | number> = {};
      let payload: string | undefined;
      if (r.method === 'POST' && r.body !== undefined) {
        const text = JSON.stringify(r.body);
        // docker-modem sends no body for `{}` (start, pull): keep the requests identical.
        if (text !== '{}' && text !== '""') {
          payload = text;
          headers['Content-Type'] = 'application/json';
          headers['Content-Length'] = Buffer.byteLength(text);
        }
      }
      if (r.auth) headers['X-Registry-Auth'] = r.auth;
      const timeout = r.timeout ?? this.o.timeout;
      let req: http.ClientRequest;
      try {
        req = this.mod.request({
          host: this.o.host,
          port: this.o.port,
          method: r.method,
          path: `${r.path}${queryString(r.query)}`,
          headers,
          agent: r.stream ? this.streamAgent : this.agent,
        });
      } catch (err) {
        finish(err);
        return;
      }
      req.on('socket', (socket: Socket) => {
        const g = this.socketGeneration.get(socket);
        if (g === undefined) this.socketGeneration.set(socket, this.generation);
        socketGen = g ?? this.generation;
      });
      if (timeout > 0) {
        req.setTimeout(timeout, () => {
          req.destroy(Object.assign(new Error(`engine ${this.o.label()} did not answer within ${timeout / 1000}s (timed out)`), { code: 'ETIMEDOUT' }));
        });
      }
      let answered = false;
      req.on('error', (err) => {
        // The keep-alive race (Node's documented pattern): the server closed the idle connection we
        // picked before reading our request, so the request never reached it. Once, on a new connection.
        if (!answered && !retried && !settled && req.reusedSocket && (err as { code?: string }).code === 'ECONNRESET') {
          settled = true;
          this.request<T>(r, onOutcome, true).then(resolve, reject);
          return;
        }
        finish(err);
      });
      req.on('response', (res) => {
        answered = true;
        const status = res.statusCode ?? 0;
        const code = r.statusCodes?.[status];
        const ok = r.statusCodes
          ? code === true
          : status === 200 || status === 201 || status === 204 || (r.ok?.includes(status) ?? false);
        if (ok && r.stream) {
          finish(undefined, res);
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => finish(err));
        res.on('end', () => {
          const body = parseBody(Buffer.concat(chunks));
          if (ok) finish(undefined, body);
          else finish(httpError(status, body, typeof code === 'string' ? code : undefined));
        });
      });
      req.end(payload);
    });
  }

  /** Start a new connection generation: idle sockets opened before the failure are dropped. */
  private connectionFailed(): void {
    this.generation += 1;
    for (const list of Object.values(this.agent.freeSockets)) for (const s of list ?? []) s.destroy();
  }

  /** The keep-alive pool (for calls made outside this transport to the same engine, e.g. the API proxy). */
  get keepAliveAgent(): http.Agent {
    return this.agent;
  }

  destroy(): void {
    this.agent.destroy();
    this.streamAgent.destroy();
  }
}

export type { Readable };
