// `consul://h:p[/prefix]`: nodes and the replication lock in Consul's KV store (HTTP API v1).
//   nodes:  <prefix>/<kv.path>/<addr> = addr, acquired by a session (TTL ttl/2, behavior delete)
//   leader: <prefix>/docker/swarm/leader = addr, acquired by a session (TTL ttl/2, behavior release)
// Consul invalidates a session only after twice its TTL, hence ttl/2 (as legacy libkv did).
import { EventEmitter } from 'node:events';
import { Agent as HttpsAgent } from 'node:https';
import Consul from 'consul';
import type { Logger } from 'pino';
import type { SwarmPlugin } from '../../core/plugin.ts';
import type { DiscoveryBackend, DiscoveryOptions, DiscoveryUrl, LeadershipState } from '../../core/types.ts';
import {
  Backoff, callTimeout, discoveryError, electionTimeout, errText, kvPaths, parseKvUrl, readKvTls, sleep, watchLoop,
  type WatchSource, timedDiscoveryPlugin, type TimingOptions
} from '../discovery-common/index.ts';

export const NAME = 'discovery-consul';
export const SCHEME = 'consul';
export const DEFAULT_PORT = 8500;

/** Session TTL text for a registration/lock TTL: half of it, since Consul waits up to 2 × TTL. */
export function sessionTtl(ttlMs: number): string {
  return `${Math.max(1, Math.round(ttlMs / 2))}ms`;
}

/**
 * The part of the consul client we use, typed by hand: its overloaded declarations do not cover
 * `timeout` and `ctx` (request context) on every call, which we need for deadlines and aborts.
 */
interface ConsulApi {
  kv: {
    get(o: Record<string, unknown>): Promise<unknown>;
    set(o: Record<string, unknown>): Promise<boolean>;
  };
  session: {
    create(o: Record<string, unknown>): Promise<{ ID: string }>;
    renew(o: Record<string, unknown>): Promise<unknown>;
    destroy(o: Record<string, unknown>): Promise<unknown>;
  };
}

interface KvItem { Key: string; Value: string | null; Session?: string; ModifyIndex: number }
interface RawResponse { headers: Record<string, string | string[] | undefined>; statusCode: number }

/** A consul client bound to one of the URL's servers; rotates to the next one after a failure. */
class Clients {
  private readonly clients: ConsulApi[];
  private i = 0;
  constructor(hosts: string[], tls: ReturnType<typeof readKvTls>) {
    this.clients = hosts.map((h) => {
      const at = h.lastIndexOf(':');
      return new Consul({
        host: h.slice(0, at).replace(/^\[|\]$/g, ''),
        port: Number(h.slice(at + 1)),
        secure: tls !== undefined,
        ...(tls ? { agent: new HttpsAgent({ ca: tls.ca, cert: tls.cert, key: tls.key, keepAlive: true }) } : {}),
      }) as unknown as ConsulApi;
    });
  }
  get(): ConsulApi { return this.clients[this.i]; }
  get count(): number { return this.clients.length; }
  failed(): void { this.i = (this.i + 1) % this.clients.length; }
}

/** A cancellable request context: the consul client aborts the HTTP request on 'cancel'. */
function context(signal?: AbortSignal): EventEmitter & { includeResponse: boolean; done(): void } {
  const ctx = new EventEmitter() as EventEmitter & { includeResponse: boolean; done(): void };
  ctx.includeResponse = true;
  const cancel = () => ctx.emit('cancel');
  signal?.addEventListener('abort', cancel, { once: true });
  ctx.done = () => signal?.removeEventListener('abort', cancel);
  return ctx;
}

function indexOf(res: RawResponse): number {
  const h = res.headers['x-consul-index'];
  const n = Number(Array.isArray(h) ? h[0] : h);
  return Number.isFinite(n) ? n : 0;
}

export function createConsulBackend(url: DiscoveryUrl, options: DiscoveryOptions, logger: Logger): DiscoveryBackend {
  const kv = parseKvUrl(url, DEFAULT_PORT);
  const paths = kvPaths(kv, options);
  const tls = readKvTls(options);
  const clients = new Clients(kv.hosts, tls);
  const timeout = callTimeout(options.heartbeat);
  const what = `consul ${kv.hosts.join(',')}`;
  const nodesPrefix = `${paths.nodes}/`;
  /** Session behind each registered address. */
  const sessions = new Map<string, string>();
  const fail = (action: string, err: unknown) => discoveryError(`${what}: ${action}: ${errText(err)}`, err);

  /**
   * Run one call; when a server cannot be reached (no HTTP status), try the next one of the URL,
   * each once. An HTTP error answer is Consul's verdict and is not retried elsewhere.
   */
  async function call<T>(fn: (c: ConsulApi) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(clients.get());
      } catch (err) {
        const answered = typeof (err as { statusCode?: unknown }).statusCode === 'number';
        if (answered) throw err;
        clients.failed();
        if (attempt >= clients.count) throw err;
      }
    }
  }

  async function newSession(behavior: 'delete' | 'release', ttlMs: number, name: string, t = timeout): Promise<string> {
    const r = await call((c) => c.session.create({ name, behavior, ttl: sessionTtl(ttlMs), lockdelay: '0s', timeout: t }));
    return r.ID;
  }

  /** Renew; false when the session is gone (expired while the store was away, or destroyed). */
  async function renew(id: string, t = timeout): Promise<boolean> {
    try {
      await call((c) => c.session.renew({ id, timeout: t }));
      return true;
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404) return false;
      throw err;
    }
  }

  return {
    watch(signal) {
      let index = 0;
      const source: WatchSource = {
        async list(s) {
          // A blocking query: returns at once the first time, then when something under the
          // prefix changes (X-Consul-Index moves) or after `wait`.
          const wait = Math.max(1000, options.heartbeat);
          const ctx = context(s);
          try {
            const [res, items] = await call((c) => c.kv.get({
              key: nodesPrefix, recurse: true, index: String(index), wait: `${wait}ms`, timeout: wait + timeout, ctx,
            })) as unknown as [RawResponse, KvItem[] | undefined];
            const next = indexOf(res);
            // Consul's advice: an index that goes backwards (store reset) means start over.
            index = next < index ? 0 : next;
            return (items ?? []).map((i) => i.Value ?? '');
          } catch (err) {
            index = 0;
            throw err;
          } finally {
            ctx.done();
          }
        },
        changed: async () => undefined, // list() already blocked until a change
      };
      return watchLoop(source, signal, { what, heartbeat: options.heartbeat, logger, failFast: options.failFast });
    },

    async register(addr) {
      const key = `${nodesPrefix}${addr}`;
      try {
        let id = sessions.get(addr);
        if (id === undefined || !(await renew(id))) {
          id = await newSession('delete', options.ttl, `swarm-node-${addr}`);
          sessions.set(addr, id);
        }
        const acquired = await call((c) => c.kv.set({ key, value: addr, acquire: id, timeout }));
        if (!acquired) {
          // Held by another session (a previous process for the same engine): the entry exists
          // and disappears with that session; we take it over on a later heartbeat.
          logger.debug(`discovery: ${what}: ${key} is held by another session`);
        }
      } catch (err) {
        throw fail(`register ${addr}`, err);
      }
    },

    elect(candidate, signal) {
      return elect(candidate, signal);
    },

    async close() {
      // Registrations are left to expire by their TTL (legacy: a stopped join disappears after ttl).
      sessions.clear();
    },
  };

  async function* elect(candidate: { addr: string; ttl: number }, signal: AbortSignal): AsyncGenerator<LeadershipState> {
    const key = paths.leader;
    // A leader must learn that it cannot renew before its session runs out.
    const et = electionTimeout(candidate.ttl, options.heartbeat);
    const period = Math.max(200, Math.floor(candidate.ttl / 3));
    const backoff = new Backoff(Math.min(500, period), Math.max(period, 1000));
    let session: string | undefined;
    let state: LeadershipState | undefined;
    let index = 0;
    let down = false;
    let lastOk = Date.now();
    try {
      while (!signal.aborted) {
        let next: LeadershipState;
        try {
          if (session !== undefined && !(await renew(session, et))) session = undefined;
          if (session === undefined) session = await newSession('release', candidate.ttl, `swarm-leader-${candidate.addr}`, et);
          const sid = session;
          const ctx = context(signal);
          let res: RawResponse;
          let item: KvItem | undefined;
          try {
            // Blocks while nothing changes (at most one renewal period), so a release is seen at once.
            [res, item] = await call((c) => c.kv.get({
              key, index: String(index), wait: `${period}ms`, timeout: period + et, ctx,
            })) as unknown as [RawResponse, KvItem | undefined];
          } finally {
            ctx.done();
          }
          if (signal.aborted) break;
          const idx = indexOf(res);
          index = idx < index ? 0 : idx;
          if (!item?.Session) {
            await call((c) => c.kv.set({ key, value: candidate.addr, acquire: sid, timeout: et }));
            [, item] = await call((c) => c.kv.get({ key, timeout: et, ctx: context() })) as unknown as [RawResponse, KvItem | undefined];
          }
          next = item?.Session
            ? { leader: item.Value ?? undefined, isLeader: item.Session === sid }
            : { leader: undefined, isLeader: false };
          lastOk = Date.now();
          if (down) { logger.info(`leader election: ${what} is reachable again`); down = false; }
          backoff.reset();
        } catch (err) {
          if (signal.aborted) break;
          index = 0;
          if (!down) {
            down = true;
            // An HTTP error is Consul's answer (e.g. a session TTL under its session_ttl_min, which
            // --replication-ttl below 20 s gives), not an outage: calling it unreachable misled.
            const answered = typeof (err as { statusCode?: unknown }).statusCode === 'number';
            logger.warn(answered
              ? `leader election: ${what} refused the election (${errText(err)}), retrying`
              : `leader election: ${what} unreachable (${errText(err)}), retrying`);
          }
          if (state?.isLeader && Date.now() - lastOk >= candidate.ttl) {
            session = undefined; // invalidated by now: Consul waited out 2 × ttl/2
            state = { leader: undefined, isLeader: false };
            yield state;
          }
          await sleep(backoff.next(), signal);
          continue;
        }
        if (!state || state.leader !== next.leader || state.isLeader !== next.isLeader) {
          state = next;
          yield state;
        }
      }
    } finally {
      if (session !== undefined) {
        // Resign: release the key (a follower's blocking query returns at once), then drop the session.
        const sid = session;
        await call((c) => c.kv.set({ key, value: candidate.addr, release: sid, timeout: et }))
          .then(() => call((c) => c.session.destroy({ id: sid, timeout: et })))
          .catch((err: unknown) => logger.warn(`leader election: resign failed (${errText(err)}); the lock is released when the session expires`));
      }
    }
  }
}

/** Options: `heartbeat` and `ttl` (e.g. `consul({ heartbeat: '20s', ttl: '60s' })`), used where no flag or config section sets them. */
export default function consul(options?: Partial<TimingOptions>): SwarmPlugin {
  return timedDiscoveryPlugin(NAME, SCHEME, options, createConsulBackend);
}
