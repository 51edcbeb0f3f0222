// A small Consul-compatible HTTP server (an emulator, not Consul): the KV store and sessions of the
// Consul 1.x HTTP API (/v1/kv, /v1/session), in memory, single node. It exists because no Consul
// server can be installed on the test machines; behaviour follows the documented API of Consul
// 1.0–1.20 (api-docs/kv, api-docs/session, api-docs/features/blocking). See README.md for the
// exact list of what is and is not emulated.
//
//   node --import tsx test/consul-compatible-server/index.ts --listen 127.0.0.1:8500 [--session-ttl-min 10s]
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Consul's hard-coded grace factor: a TTL session is invalidated only after 2 × TTL without renewal. */
export const SESSION_TTL_MULTIPLIER = 2;
/** Consul's limits. */
export const SESSION_TTL_MAX_MS = 24 * 3600_000;
export const DEFAULT_SESSION_TTL_MIN_MS = 10_000;
export const DEFAULT_LOCK_DELAY_MS = 15_000;
export const MAX_LOCK_DELAY_MS = 60_000;
export const MAX_VALUE_SIZE = 512 * 1024;
const DEFAULT_WAIT_MS = 5 * 60_000;
const MAX_WAIT_MS = 10 * 60_000;

export interface ConsulServerOptions {
  host?: string;
  port?: number;
  /** Agent/node name reported in sessions (Consul: the agent's node name). */
  nodeName?: string;
  /** Consul's `session_ttl_min` agent setting (default 10 s). Tests lower it to keep TTLs short. */
  sessionTtlMinMs?: number;
  /**
   * HTTPS with client certificates checked against `ca` (Consul's `verify_incoming` with
   * `ca_file`, `cert_file`, `key_file`): paths of PEM files.
   */
  tls?: { ca: string; cert: string; key: string };
}

interface KvEntry {
  key: string;
  value: Buffer | null;
  flags: number;
  createIndex: number;
  modifyIndex: number;
  lockIndex: number;
  session?: string;
}

interface Session {
  id: string;
  name: string;
  node: string;
  lockDelayNs: number;
  behavior: 'release' | 'delete';
  ttl: string;
  ttlMs: number;
  createIndex: number;
  modifyIndex: number;
  timer?: NodeJS.Timeout;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** Go `time.ParseDuration` text (`10s`, `1m30s`, `500ms`) to ms; a JSON number is nanoseconds. */
export function parseGoDuration(text: string | number): number {
  if (typeof text === 'number') return text / 1e6;
  const t = text.trim();
  if (t === '0') return 0; // Go accepts a bare 0 only
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(t)) !== null) {
    const f = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ns'];
    total += Number(m[1]) * f;
    end = re.lastIndex;
  }
  if (end === 0 || end !== t.length) throw new Error(`time: invalid duration "${t}"`);
  return total;
}

/** The state machine: KV entries, tombstones, sessions, one Raft-like index. */
export class ConsulState {
  index = 1;
  readonly kv = new Map<string, KvEntry>();
  /** key → index at which it was deleted (Consul keeps tombstones so blocking queries see deletes). */
  readonly tombstones = new Map<string, number>();
  /** key → time (ms) until which it cannot be acquired (lock-delay after session invalidation). */
  readonly lockDelays = new Map<string, number>();
  readonly sessions = new Map<string, Session>();
  private readonly waiters = new Set<() => void>();

  constructor(readonly nodeName: string, readonly sessionTtlMinMs: number) {}

  private bump(): number {
    this.index += 1;
    return this.index;
  }

  /** Wake blocking queries after a write. */
  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  onChange(fn: () => void): () => void {
    this.waiters.add(fn);
    return () => this.waiters.delete(fn);
  }

  /** Index for a read of `prefix` (exact key when !recurse): highest modify/delete index seen there. */
  queryIndex(key: string, prefix: boolean): number {
    let idx = 0;
    const match = (k: string) => (prefix ? k.startsWith(key) : k === key);
    for (const e of this.kv.values()) if (match(e.key)) idx = Math.max(idx, e.modifyIndex);
    for (const [k, i] of this.tombstones) if (match(k)) idx = Math.max(idx, i);
    // Nothing ever there: Consul answers with the table index (never 0, so clients can block).
    return idx === 0 ? this.index : idx;
  }

  put(key: string, value: Buffer, q: { flags?: number; cas?: number; acquire?: string; release?: string }, now: number): boolean {
    const existing = this.kv.get(key);
    if (q.cas !== undefined) {
      if (q.cas === 0 && existing) return false;
      if (q.cas !== 0 && (!existing || existing.modifyIndex !== q.cas)) return false;
    }
    if (q.acquire !== undefined) {
      const s = this.sessions.get(q.acquire);
      if (!s) throw new HttpError(500, `invalid session "${q.acquire}"`);
      if (existing?.session !== undefined && existing.session !== q.acquire) return false;
      if (existing?.session !== q.acquire && (this.lockDelays.get(key) ?? 0) > now) return false;
    }
    if (q.release !== undefined) {
      if (!this.sessions.has(q.release)) throw new HttpError(500, `invalid session "${q.release}"`);
      if (existing?.session !== q.release) return false;
    }
    const idx = this.bump();
    const entry: KvEntry = existing ?? { key, value: null, flags: 0, createIndex: idx, modifyIndex: idx, lockIndex: 0 };
    entry.value = value;
    entry.flags = q.flags ?? entry.flags;
    entry.modifyIndex = idx;
    if (q.acquire !== undefined && entry.session !== q.acquire) {
      entry.session = q.acquire;
      entry.lockIndex += 1;
    }
    if (q.release !== undefined) delete entry.session;
    this.kv.set(key, entry);
    this.tombstones.delete(key);
    this.notify();
    return true;
  }

  delete(key: string, recurse: boolean, cas?: number): boolean {
    if (cas !== undefined && !recurse) {
      const e = this.kv.get(key);
      // Consul (kvsDeleteCASTxn): a missing key is a successful no-op; an index mismatch fails.
      if (!e) return true;
      if (e.modifyIndex !== cas) return false;
    }
    const keys = recurse ? [...this.kv.keys()].filter((k) => k.startsWith(key)) : this.kv.has(key) ? [key] : [];
    if (keys.length === 0) return true;
    const idx = this.bump();
    for (const k of keys) {
      this.kv.delete(k);
      this.tombstones.set(k, idx);
    }
    this.notify();
    return true;
  }

  createSession(body: Record<string, unknown>, now: number): Session {
    const behavior = (body.Behavior ?? 'release') as string;
    if (behavior !== 'release' && behavior !== 'delete') throw new HttpError(500, `Invalid Behavior setting '${behavior}'`);
    let ttlMs = 0;
    const ttlText = typeof body.TTL === 'string' ? body.TTL : '';
    if (ttlText !== '') {
      try {
        ttlMs = parseGoDuration(ttlText);
      } catch {
        throw new HttpError(500, `Session TTL '${ttlText}' invalid: time: invalid duration "${ttlText}"`);
      }
      if (ttlMs !== 0 && (ttlMs < this.sessionTtlMinMs || ttlMs > SESSION_TTL_MAX_MS)) {
        throw new HttpError(500, `Invalid Session TTL '${Math.round(ttlMs * 1e6)}', must be between [${goDuration(this.sessionTtlMinMs)}=${goDuration(SESSION_TTL_MAX_MS)}]`);
      }
    }
    let lockDelayMs = DEFAULT_LOCK_DELAY_MS;
    if (body.LockDelay !== undefined) {
      const ld = body.LockDelay as string | number;
      try {
        // Consul (FixupLockDelay): a JSON number below 1000 (ns) is read as seconds.
        lockDelayMs = typeof ld === 'number' ? (ld < 1000 ? ld * 1000 : ld / 1e6) : parseGoDuration(ld);
      } catch (err) {
        throw new HttpError(400, `Request decode failed: ${(err as Error).message}`);
      }
      if (lockDelayMs > MAX_LOCK_DELAY_MS) lockDelayMs = MAX_LOCK_DELAY_MS;
    }
    const node = typeof body.Node === 'string' && body.Node !== '' ? body.Node : this.nodeName;
    if (node !== this.nodeName) throw new HttpError(500, `Missing node registration`);
    const idx = this.bump();
    const s: Session = {
      id: randomUUID(),
      name: typeof body.Name === 'string' ? body.Name : '',
      node,
      lockDelayNs: Math.round(lockDelayMs * 1e6),
      behavior,
      ttl: ttlText,
      ttlMs,
      createIndex: idx,
      modifyIndex: idx,
    };
    this.sessions.set(s.id, s);
    this.armTtl(s);
    void now;
    return s;
  }

  private armTtl(s: Session): void {
    clearTimeout(s.timer);
    if (s.ttlMs > 0) {
      s.timer = setTimeout(() => this.invalidate(s.id, Date.now()), s.ttlMs * SESSION_TTL_MULTIPLIER);
      s.timer.unref();
    }
  }

  renew(id: string): Session | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    this.armTtl(s);
    return s;
  }

  /** Destroy or expiry: release or delete the held keys, and start their lock-delay. */
  invalidate(id: string, now: number): void {
    const s = this.sessions.get(id);
    if (!s) return;
    clearTimeout(s.timer);
    this.sessions.delete(id);
    const held = [...this.kv.values()].filter((e) => e.session === id);
    const idx = this.bump();
    for (const e of held) {
      if (s.lockDelayNs > 0) this.lockDelays.set(e.key, now + s.lockDelayNs / 1e6);
      if (s.behavior === 'delete') {
        this.kv.delete(e.key);
        this.tombstones.set(e.key, idx);
      } else {
        delete e.session;
        e.modifyIndex = idx;
      }
    }
    this.notify();
  }

  /** Pause TTL timers while the server is down (Consul keeps its state in Raft). */
  suspend(): void {
    for (const s of this.sessions.values()) clearTimeout(s.timer);
  }

  /** A newly elected Consul leader restarts every session TTL timer; so does a restarted emulator. */
  resume(): void {
    for (const s of this.sessions.values()) this.armTtl(s);
  }

  close(): void {
    this.suspend();
  }
}

function goDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h0m0s`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m0s`;
  return `${ms / 1000}s`;
}

function sessionJson(s: Session) {
  return {
    ID: s.id, Name: s.name, Node: s.node, LockDelay: s.lockDelayNs, Behavior: s.behavior, TTL: s.ttl,
    NodeChecks: ['serfHealth'], ServiceChecks: null, CreateIndex: s.createIndex, ModifyIndex: s.modifyIndex,
  };
}

function entryJson(e: KvEntry) {
  return {
    LockIndex: e.lockIndex, Key: e.key, Flags: e.flags, Value: e.value === null ? null : e.value.toString('base64'),
    ...(e.session !== undefined ? { Session: e.session } : {}),
    CreateIndex: e.createIndex, ModifyIndex: e.modifyIndex,
  };
}

/** `?recurse` and `?recurse=true` both count (Consul checks presence). */
function flag(q: URLSearchParams, name: string): boolean {
  return q.has(name) && q.get(name) !== 'false';
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) { reject(new HttpError(413, `Request body(${size} bytes) too large, max size: ${limit} bytes.`)); req.resume(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function createConsulHandler(state: ConsulState) {
  const headers = (res: ServerResponse, index: number) => {
    res.setHeader('X-Consul-Index', String(index));
    res.setHeader('X-Consul-KnownLeader', 'true');
    res.setHeader('X-Consul-LastContact', '0');
  };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(body));
  };

  /** Blocking query: wait until the index of what was read moves past `index`, or `wait` elapses. */
  async function block(req: IncomingMessage, q: URLSearchParams, current: () => number): Promise<void> {
    const index = Number(q.get('index') ?? '0');
    if (!Number.isFinite(index) || index <= 0 || current() > index) return;
    let wait = DEFAULT_WAIT_MS;
    if (q.has('wait')) {
      try { wait = Math.min(parseGoDuration(q.get('wait')!), MAX_WAIT_MS); } catch (err) {
        throw new HttpError(400, `Invalid wait time: ${(err as Error).message}`);
      }
    }
    wait += Math.random() * (wait / 16); // Consul adds up to wait/16 of jitter
    await new Promise<void>((resolve) => {
      const done = () => { clearTimeout(t); off(); req.off('close', done); resolve(); };
      const t = setTimeout(done, wait);
      const off = state.onChange(() => { if (current() > index) done(); });
      req.on('close', done);
    });
  }

  async function kv(req: IncomingMessage, res: ServerResponse, key: string, q: URLSearchParams): Promise<void> {
    switch (req.method) {
      case 'GET': {
        const recurse = flag(q, 'recurse');
        const keysOnly = flag(q, 'keys');
        const prefix = recurse || keysOnly;
        const current = () => state.queryIndex(key, prefix);
        await block(req, q, current);
        const index = current();
        headers(res, index);
        const matches = [...state.kv.values()].filter((e) => (prefix ? e.key.startsWith(key) : e.key === key))
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        if (keysOnly) {
          const sep = q.get('separator') ?? '';
          const out: string[] = [];
          for (const e of matches) {
            const i = sep ? e.key.indexOf(sep, key.length) : -1;
            const k = i >= 0 ? e.key.slice(0, i + sep.length) : e.key;
            if (out[out.length - 1] !== k) out.push(k);
          }
          if (out.length === 0) { res.statusCode = 404; res.end(); return; }
          return json(res, 200, out);
        }
        if (matches.length === 0) { res.statusCode = 404; res.end(); return; }
        if (flag(q, 'raw') && !recurse) {
          res.statusCode = 200;
          res.end(matches[0].value ?? Buffer.alloc(0));
          return;
        }
        return json(res, 200, matches.map(entryJson));
      }
      case 'PUT': {
        if (key === '') throw new HttpError(400, 'Missing key name');
        const body = await readBody(req, MAX_VALUE_SIZE);
        const num = (name: string): number | undefined => {
          if (!q.has(name)) return undefined;
          const v = Number(q.get(name));
          if (!Number.isInteger(v) || v < 0) throw new HttpError(400, `Invalid ${name === 'cas' ? 'CAS index' : 'flag format'}`);
          return v;
        };
        const ok = state.put(key, body, {
          flags: num('flags'),
          cas: num('cas'),
          acquire: q.get('acquire') ?? undefined,
          release: q.get('release') ?? undefined,
        }, Date.now());
        headers(res, state.index);
        return json(res, 200, ok);
      }
      case 'DELETE': {
        const cas = q.has('cas') ? Number(q.get('cas')) : undefined;
        if (cas !== undefined && (!Number.isInteger(cas) || cas < 0)) throw new HttpError(400, 'Invalid CAS index');
        const ok = state.delete(key, flag(q, 'recurse'), cas);
        headers(res, state.index);
        return json(res, 200, ok);
      }
      default:
        throw new HttpError(405, `method ${req.method} not allowed`);
    }
  }

  async function session(req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> {
    const [op, id] = parts;
    const put = req.method === 'PUT';
    if (op === 'create' && put) {
      const raw = (await readBody(req, 64 * 1024)).toString('utf8');
      let body: Record<string, unknown> = {};
      if (raw.trim() !== '') {
        try { body = JSON.parse(raw) as Record<string, unknown>; } catch (err) {
          throw new HttpError(400, `Request decode failed: ${(err as Error).message}`);
        }
      }
      const s = state.createSession(body, Date.now());
      headers(res, state.index);
      return json(res, 200, { ID: s.id });
    }
    if (op === 'destroy' && put && id) {
      state.invalidate(id, Date.now());
      headers(res, state.index);
      return json(res, 200, true);
    }
    if (op === 'renew' && put && id) {
      const s = state.renew(id);
      headers(res, state.index);
      if (!s) { res.statusCode = 404; res.end(`Session id '${id}' not found`); return; }
      return json(res, 200, [sessionJson(s)]);
    }
    if (op === 'info' && req.method === 'GET' && id) {
      headers(res, state.index);
      const s = state.sessions.get(id);
      return json(res, 200, s ? [sessionJson(s)] : []);
    }
    if (op === 'list' && req.method === 'GET') {
      headers(res, state.index);
      return json(res, 200, [...state.sessions.values()].map(sessionJson));
    }
    if (op === 'node' && req.method === 'GET' && id) {
      headers(res, state.index);
      return json(res, 200, [...state.sessions.values()].filter((s) => s.node === id).map(sessionJson));
    }
    if (['create', 'destroy', 'renew'].includes(op) && !put) throw new HttpError(405, `method ${req.method} not allowed`);
    throw new HttpError(404, `no such session endpoint`);
  }

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://consul.invalid');
    const path = decodeURIComponent(url.pathname);
    try {
      if (path.startsWith('/v1/kv/') || path === '/v1/kv') {
        return await kv(req, res, path.slice('/v1/kv/'.length).replace(/^\/+/, ''), url.searchParams);
      }
      if (path.startsWith('/v1/session/')) {
        return await session(req, res, path.slice('/v1/session/'.length).split('/'));
      }
      if (path === '/v1/status/leader' && req.method === 'GET') return json(res, 200, '127.0.0.1:8300');
      if (path === '/v1/status/peers' && req.method === 'GET') return json(res, 200, ['127.0.0.1:8300']);
      res.statusCode = 404;
      res.end();
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      res.statusCode = status;
      res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end((err as Error).message);
    }
  };
}

export interface ConsulServer {
  server: Server;
  state: ConsulState;
  /** `127.0.0.1:port`, what `consul://` URLs take. */
  endpoint: string;
  host: string;
  port: number;
  /** Stop listening (connections dropped) but keep the data, as a Consul server keeps its Raft log. */
  stop(): Promise<void>;
  /** Listen again on the same port; session TTL timers restart (as after a leader election). */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startConsulServer(opts: ConsulServerOptions = {}): Promise<ConsulServer> {
  const state = new ConsulState(opts.nodeName ?? 'swarm-consul-emulator', opts.sessionTtlMinMs ?? DEFAULT_SESSION_TTL_MIN_MS);
  const handler = createConsulHandler(state);
  const host = opts.host ?? '127.0.0.1';
  const listener: RequestListener = (req, res) => { void handler(req, res); };
  const make = (): Server => (opts.tls
    ? createHttpsServer({
      ca: readFileSync(opts.tls.ca), cert: readFileSync(opts.tls.cert), key: readFileSync(opts.tls.key),
      requestCert: true, rejectUnauthorized: true,
    }, listener)
    : createServer(listener));
  let server = make();
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  const shut = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  await listen(opts.port ?? 8500);
  const port = (server.address() as { port: number }).port;
  let running = true;
  const srv: ConsulServer = {
    server,
    state,
    host,
    port,
    endpoint: `${host}:${port}`,
    async stop() {
      if (!running) return;
      running = false;
      state.suspend();
      await shut();
    },
    async start() {
      if (running) return;
      server = make();
      srv.server = server;
      await listen(port);
      running = true;
      state.resume();
    },
    async close() {
      state.close();
      if (running) await shut();
      running = false;
    },
  };
  return srv;
}

async function main(argv: string[]): Promise<void> {
  let listen = '127.0.0.1:8500';
  let ttlMin = DEFAULT_SESSION_TTL_MIN_MS;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--listen') listen = argv[++i] ?? '';
    else if (a === '--session-ttl-min') ttlMin = parseGoDuration(argv[++i] ?? '');
    else throw new Error(`unknown argument: ${a} (usage: index.ts [--listen host:port] [--session-ttl-min 10s])`);
  }
  const i = listen.lastIndexOf(':');
  const srv = await startConsulServer({ host: listen.slice(0, i) || '127.0.0.1', port: Number(listen.slice(i + 1)), sessionTtlMinMs: ttlMin });
  process.stdout.write(`consul-compatible emulator listening on http://${srv.endpoint}\n`);
  const stop = () => { void srv.close().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
