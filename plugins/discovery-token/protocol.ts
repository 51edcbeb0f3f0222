// The hosted-discovery protocol (legacy `discovery/token/token.go`), client side.
import http from 'node:http';
import https from 'node:https';
import { discoveryError, createEntries, errText } from '../discovery-common/index.ts';

/**
 * Default base URL: the project's own token service (`plugins/discovery-token/server.ts`) on
 * loopback port 8383. 8500 is avoided on purpose: it is Consul's port.
 */
export const DEFAULT_TOKEN_URL = 'http://127.0.0.1:8383/v1';
/** The legacy hosted service (shut down 2019-06-19), for reference only. */
export const LEGACY_HUB_URL = 'https://discovery.hub.docker.com/v1';

export const ERR_TOKEN_EMPTY = 'token is empty';
export const ERR_FETCH_STATUS = (status: number) =>
  `Failed to fetch entries, Discovery service returned ${status} HTTP status code`;

export interface TokenTarget {
  /** Base URL without trailing slash, e.g. `http://127.0.0.1:8383/v1`. */
  base: string;
  token: string;
}

/**
 * `token://<token>` uses `baseUrl`; `token://<host>[:port]/<path>/<token>` uses
 * `<scheme>://<host>[:port]/<path>` where the scheme is the one of `baseUrl` (legacy always used
 * https; our own service speaks http, so the configured URL decides).
 */
export function parseTokenUrl(rest: string, baseUrl: string): TokenTarget {
  const i = rest.lastIndexOf('/');
  const token = i < 0 ? rest : rest.slice(i + 1);
  if (token === '') throw discoveryError(ERR_TOKEN_EMPTY);
  if (i < 0) return { base: baseUrl.replace(/\/+$/, ''), token };
  const scheme = new URL(baseUrl).protocol; // 'http:' or 'https:'
  return { base: `${scheme}//${rest.slice(0, i)}`, token };
}

/** An answer of the token service, read whole (they are small; a larger one is refused). */
interface Answer { status: number; text: string }

/** Longest answer read from a token service (a list of some thousand entries fits easily). */
const MAX_ANSWER = 4 * 1024 * 1024;

/**
 * One HTTP exchange with the token service. node:http rather than fetch: fetch refuses the
 * WHATWG "bad ports" (6000, 5060, 10080, …) with a bare "bad port", which the original's Go
 * client never did; and a malformed or non-http(s) URL gets a line that names it.
 */
function request(url: string, init: { method: string; body?: string; headers?: Record<string, string> }, timeoutMs: number): Promise<Answer> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return Promise.reject(discoveryError(`invalid discovery service URL "${url}"`));
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return Promise.reject(discoveryError(`discovery service URL must be http:// or https://, got "${url}"`));
  }
  return new Promise((resolve, reject) => {
    const fail = (err: unknown) => reject(discoveryError(`discovery service ${u.host} unreachable: ${errText(err)}`, err));
    const req = (u.protocol === 'https:' ? https : http).request(u, { method: init.method, headers: init.headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER) req.destroy(new Error(`answer larger than ${MAX_ANSWER} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', fail);
    req.end(init.body);
  });
}

/** `GET <base>/clusters/<token>` → validated `host:port` list. */
export async function fetchEntries(t: TokenTarget, timeoutMs: number): Promise<string[]> {
  const res = await request(`${t.base}/clusters/${t.token}`, { method: 'GET' }, timeoutMs);
  if (res.status !== 200) throw discoveryError(ERR_FETCH_STATUS(res.status));
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch (err) {
    throw discoveryError(`discovery service returned invalid JSON: ${errText(err)}`, err);
  }
  if (!Array.isArray(body) || body.some((x) => typeof x !== 'string')) {
    throw discoveryError('discovery service returned something else than a JSON array of strings');
  }
  try {
    return createEntries(body as string[]);
  } catch (err) {
    throw discoveryError(errText(err), err);
  }
}

/** `POST <base>/clusters/<token>?ttl=<secs>` with the address as body. */
export async function registerEntry(t: TokenTarget, addr: string, ttlMs: number, timeoutMs: number): Promise<void> {
  const url = `${t.base}/clusters/${t.token}?ttl=${Math.floor(ttlMs / 1000)}`;
  const res = await request(url, { method: 'POST', body: addr, headers: { 'content-type': 'application/json' } }, timeoutMs);
  const text = res.text;
  if (res.status < 200 || res.status > 299) {
    throw discoveryError(`failed to register ${addr}: discovery service returned ${res.status} HTTP status code${text ? `: ${text.trim()}` : ''}`);
  }
}

/** `POST <base>/clusters` → a new token (what `swarm create` prints). */
export async function createCluster(base: string, timeoutMs = 10_000): Promise<string> {
  const url = `${base.replace(/\/+$/, '')}/clusters`;
  const res = await request(url, { method: 'POST' }, timeoutMs);
  const text = res.text.trim();
  if (res.status < 200 || res.status > 299) {
    throw discoveryError(`failed to create a cluster: discovery service returned ${res.status} HTTP status code`);
  }
  return text;
}

/** `DELETE <base>/clusters/<token>`. */
export async function deleteCluster(t: TokenTarget, timeoutMs = 10_000): Promise<void> {
  const res = await request(`${t.base}/clusters/${t.token}`, { method: 'DELETE' }, timeoutMs);
  if (res.status < 200 || res.status > 299) {
    throw discoveryError(`failed to delete cluster ${t.token}: discovery service returned ${res.status} HTTP status code`);
  }
}
