// The hosted-discovery protocol (legacy `discovery/token/token.go`), client side.
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

async function request(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw discoveryError(`discovery service ${new URL(url).host} unreachable: ${errText(cause ?? err)}`, err);
  }
}

/** `GET <base>/clusters/<token>` → validated `host:port` list. */
export async function fetchEntries(t: TokenTarget, timeoutMs: number): Promise<string[]> {
  const res = await request(`${t.base}/clusters/${t.token}`, { method: 'GET' }, timeoutMs);
  if (res.status !== 200) {
    await res.body?.cancel();
    throw discoveryError(ERR_FETCH_STATUS(res.status));
  }
  let body: unknown;
  try {
    body = await res.json();
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
  const text = await res.text();
  if (res.status < 200 || res.status > 299) {
    throw discoveryError(`failed to register ${addr}: discovery service returned ${res.status} HTTP status code${text ? `: ${text.trim()}` : ''}`);
  }
}

/** `POST <base>/clusters` → a new token (what `swarm create` prints). */
export async function createCluster(base: string, timeoutMs = 10_000): Promise<string> {
  const url = `${base.replace(/\/+$/, '')}/clusters`;
  const res = await request(url, { method: 'POST' }, timeoutMs);
  const text = (await res.text()).trim();
  if (res.status < 200 || res.status > 299) {
    throw discoveryError(`failed to create a cluster: discovery service returned ${res.status} HTTP status code`);
  }
  return text;
}

/** `DELETE <base>/clusters/<token>`. */
export async function deleteCluster(t: TokenTarget, timeoutMs = 10_000): Promise<void> {
  const res = await request(`${t.base}/clusters/${t.token}`, { method: 'DELETE' }, timeoutMs);
  await res.body?.cancel();
  if (res.status < 200 || res.status > 299) {
    throw discoveryError(`failed to delete cluster ${t.token}: discovery service returned ${res.status} HTTP status code`);
  }
}
