// The project's own token discovery service: the protocol of the retired Docker Hub service
// (https://discovery.hub.docker.com/v1), in memory. Run on its own:
//   node --import tsx plugins/discovery-token/server.ts --listen 127.0.0.1:8383
//
//   POST   /v1/clusters                    → 200, body = new token (32 hex chars)
//   POST   /v1/clusters/<token>?ttl=<secs> → 200, body = "host:port" registers/refreshes it for ttl
//   GET    /v1/clusters/<token>            → 200, JSON array of the live "host:port" entries
//   DELETE /v1/clusters/<token>            → 204, forgets the cluster
// Unknown tokens answer 404 on GET/DELETE; a registration creates its cluster (the hosted service
// did the same). State is lost on restart: joins re-register every heartbeat, so it refills.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { splitHostPort } from '../discovery-common/entries.ts';

/** Used when a registration gives no `ttl`: the legacy `swarm join --ttl` default. */
export const DEFAULT_ENTRY_TTL_SECONDS = 180;
const TOKEN_RE = /^[A-Za-z0-9_-]{1,128}$/;
const MAX_BODY = 1024;

export interface TokenServerOptions {
  host?: string;
  port?: number;
  /** Clock, for tests of expiry without waiting (ms since epoch). */
  now?: () => number;
}

export interface TokenServer {
  server: Server;
  /** `http://host:port/v1`, the base URL clients are configured with. */
  url: string;
  close(): Promise<void>;
}

/** token → (addr → expiry time in ms). */
type Clusters = Map<string, Map<string, number>>;

function send(res: ServerResponse, status: number, body?: string, type = 'text/plain; charset=utf-8'): void {
  res.statusCode = status;
  if (body === undefined) { res.end(); return; }
  res.setHeader('content-type', type);
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { reject(new Error('body too large')); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function live(entries: Map<string, number>, now: number): string[] {
  for (const [addr, exp] of entries) if (exp <= now) entries.delete(addr);
  return [...entries.keys()];
}

export function createTokenHandler(clusters: Clusters, now: () => number) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    const parts = url.pathname.split('/').filter((p) => p !== '');
    if (parts[0] !== 'v1' || parts[1] !== 'clusters' || parts.length > 3) return send(res, 404, 'not found\n');
    const token = parts[2];
    if (token !== undefined && !TOKEN_RE.test(token)) return send(res, 400, 'invalid token\n');

    if (token === undefined) {
      if (req.method !== 'POST') return send(res, 405, 'method not allowed\n');
      const t = randomBytes(16).toString('hex');
      clusters.set(t, new Map());
      return send(res, 200, t);
    }
    switch (req.method) {
      case 'GET': {
        const entries = clusters.get(token);
        if (!entries) return send(res, 404, 'cluster not found\n');
        return send(res, 200, JSON.stringify(live(entries, now())), 'application/json');
      }
      case 'POST': {
        let addr: string;
        try {
          addr = (await readBody(req)).trim();
        } catch {
          return send(res, 413, 'body too large\n');
        }
        try {
          splitHostPort(addr);
        } catch (err) {
          return send(res, 400, `${(err as Error).message}\n`);
        }
        const ttlText = url.searchParams.get('ttl');
        const ttl = ttlText === null ? DEFAULT_ENTRY_TTL_SECONDS : Number(ttlText);
        if (!Number.isInteger(ttl) || ttl <= 0) return send(res, 400, 'ttl must be a positive number of seconds\n');
        let entries = clusters.get(token);
        if (!entries) clusters.set(token, (entries = new Map()));
        entries.set(addr, now() + ttl * 1000);
        return send(res, 200, '');
      }
      case 'DELETE':
        return clusters.delete(token) ? send(res, 204) : send(res, 404, 'cluster not found\n');
      default:
        return send(res, 405, 'method not allowed\n');
    }
  };
}

export async function startTokenServer(opts: TokenServerOptions = {}): Promise<TokenServer> {
  const clusters: Clusters = new Map();
  const now = opts.now ?? Date.now;
  const handler = createTokenHandler(clusters, now);
  const server = createServer((req, res) => {
    handler(req, res).catch((err: unknown) => send(res, 500, `${(err as Error).message}\n`));
  });
  // Expired entries are also dropped on read; this sweep only bounds memory.
  const sweep = setInterval(() => { for (const e of clusters.values()) live(e, now()); }, 10_000);
  sweep.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8383, opts.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host ?? '127.0.0.1';
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/v1`,
    close: () => new Promise<void>((resolve) => {
      clearInterval(sweep);
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function parseListen(value: string): { host: string; port: number } {
  const { host, port } = splitHostPort(value);
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port in --listen ${value}`);
  return { host: host || '0.0.0.0', port: n };
}

async function main(argv: string[]): Promise<void> {
  let listen = '127.0.0.1:8383';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--listen' || a === '-l') listen = argv[++i] ?? '';
    else if (a.startsWith('--listen=')) listen = a.slice('--listen='.length);
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: server.ts [--listen host:port]   (default 127.0.0.1:8383)\n');
      return;
    } else throw new Error(`unknown argument: ${a}`);
  }
  const srv = await startTokenServer(parseListen(listen));
  process.stdout.write(`token discovery service listening on ${srv.url}\n`);
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
