// `etcd://h1:p,h2:p[/prefix]`: nodes and the replication lock in etcd (v3 API, etcd 3.4+).
//   nodes:  <prefix>/<kv.path>/<addr> = addr, each attached to a lease of `ttl`
//   leader: <prefix>/docker/swarm/leader = advertise address of the primary, attached to its lease
import { Etcd3, EtcdLeaseInvalidError, type IOptions, type Lease, type Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { SwarmPlugin } from '../../core/plugin.ts';
import type { DiscoveryBackend, DiscoveryOptions, DiscoveryUrl, LeadershipState } from '../../core/types.ts';
import {
  Backoff, callTimeout, discoveryError, electionTimeout, errText, kvPaths, parseKvUrl, readKvTls, sleep, watchLoop,
  type WatchSource, timedDiscoveryPlugin, type TimingOptions
} from '../discovery-common/index.ts';

export const NAME = 'discovery-etcd';
export const SCHEME = 'etcd';
export const DEFAULT_PORT = 2379;

/** A fault-handling policy that just runs the call (only `execute` is used by the etcd3 pool). */
const passThroughPolicy = {
  execute: <T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => T) => Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 })),
} as unknown as NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/** etcd leases are whole seconds. */
export function leaseSeconds(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

/** Resolve on the next event of any watcher in `watchers`, after `ms`, or on abort. */
function nextWake(watchers: Watcher[], ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      for (const w of watchers) {
        w.off('put', done); w.off('delete', done); w.off('disconnected', done); w.off('connected', done);
      }
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    for (const w of watchers) {
      // 'connected' after an outage: the watcher resumed; re-read so nothing missed is lost.
      w.on('put', done); w.on('delete', done); w.on('disconnected', done); w.on('connected', done);
    }
  });
}

export function createEtcdBackend(url: DiscoveryUrl, options: DiscoveryOptions, logger: Logger): DiscoveryBackend {
  const kv = parseKvUrl(url, DEFAULT_PORT);
  const paths = kvPaths(kv, options);
  const tls = readKvTls(options);
  const timeout = callTimeout(options.heartbeat);
  const what = `etcd ${kv.hosts.join(',')}`;
  const clientOptions = (deadline: number): IOptions => ({
    hosts: kv.hosts.map((h) => `${tls ? 'https' : 'http'}://${h}`),
    dialTimeout: deadline,
    // A stopped etcd makes calls hang rather than fail: a deadline turns that into an error.
    defaultCallOptions: () => ({ deadline: Date.now() + deadline }),
    // No per-host circuit breaker: it would hide the real error ("circuit breaker is open") and
    // delay recovery; our own loops back off. The client's global retry still rotates hosts.
    faultHandling: { host: () => passThroughPolicy },
    ...(tls ? { credentials: { rootCertificate: tls.ca, certChain: tls.cert, privateKey: tls.key } } : {}),
  });
  const client = new Etcd3(clientOptions(timeout));
  const nodesPrefix = `${paths.nodes}/`;
  /** The lease behind each address this process registered (one per addr: nothing duplicated). */
  const leases = new Map<string, Lease>();
  let closed = false;

  const fail = (action: string, err: unknown) => discoveryError(`${what}: ${action}: ${errText(err)}`, err);

  return {
    watch(signal) {
      let watcher: Watcher | undefined;
      const source: WatchSource = {
        async list() {
          // Created synchronously (create() would wait for the store forever); until it is
          // connected the heartbeat poll covers changes, and its 'connected' event forces a re-read.
          if (!watcher) watcher = client.watch().prefix(nodesPrefix).watcher();
          const values = await client.getAll().prefix(nodesPrefix).strings();
          return Object.values(values);
        },
        changed: (s) => nextWake(watcher ? [watcher] : [], options.heartbeat, s),
      };
      const inner = watchLoop(source, signal, { what, heartbeat: options.heartbeat, logger, failFast: options.failFast });
      return (async function* () {
        try {
          yield* inner;
        } finally {
          await watcher?.cancel().catch(() => undefined); // the client may be closed already; nothing to release then
        }
      })();
    },

    async register(addr) {
      // A fresh lease per registration, then the previous one is revoked: the key always has
      // exactly one live lease, and an expired lease (store was down longer than ttl) is replaced.
      const lease = client.lease(leaseSeconds(options.ttl), { autoKeepAlive: false });
      try {
        await lease.put(`${nodesPrefix}${addr}`).value(addr);
      } catch (err) {
        lease.release();
        throw fail(`register ${addr}`, err);
      }
      const previous = leases.get(addr);
      leases.set(addr, lease);
      if (previous) {
        // The key now belongs to the new lease, so revoking the old one deletes nothing. It may
        // already have expired; either way it is gone, which is all we want.
        await previous.revoke().catch(() => undefined);
      }
    },

    elect(candidate, signal) {
      // Its own client: election calls get a deadline below half the ttl, so a leader learns in
      // time that it cannot renew.
      const deadline = electionTimeout(candidate.ttl, options.heartbeat);
      const own = new Etcd3(clientOptions(deadline));
      const inner = elect(own, paths.leader, candidate, signal, { logger, what, timeout: deadline });
      return (async function* () {
        try { yield* inner; } finally { own.close(); }
      })();
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const l of leases.values()) l.release();
      client.close();
    },
  };
}

/**
 * Campaign for `<prefix>/docker/swarm/leader`: create the key (only if absent) with our address,
 * attached to a lease of `ttl`, kept alive every ttl/3. Followers watch the key and campaign when
 * it disappears (resign revokes the lease; a dead primary's lease expires after ttl).
 */
async function* elect(
  client: Etcd3, key: string, candidate: { addr: string; ttl: number }, signal: AbortSignal,
  o: { logger: Logger; what: string; timeout: number },
): AsyncGenerator<LeadershipState> {
  const ttlSec = leaseSeconds(candidate.ttl);
  const period = Math.max(200, Math.floor(candidate.ttl / 3));
  const backoff = new Backoff(Math.min(500, period), Math.max(period, 1000));
  let state: LeadershipState | undefined;
  let lease: Lease | undefined;
  let leaseId: string | undefined;
  let lastRenew = 0;
  let down = false;
  let watcher: Watcher | undefined;
  const changed = (next: LeadershipState) =>
    state === undefined || state.leader !== next.leader || state.isLeader !== next.isLeader;
  const dropLease = () => { lease?.release(); lease = undefined; leaseId = undefined; };

  try {
    while (!signal.aborted) {
      let next: LeadershipState;
      try {
        if (!watcher) watcher = client.watch().key(key).watcher();
        // Keep our lease alive whenever we hold one: also after stepping down during an outage,
        // so that if it survived we are simply leader again instead of leaving an orphan lock.
        if (lease) {
          try {
            await lease.keepaliveOnce();
            lastRenew = Date.now();
          } catch (err) {
            // Expired meanwhile (store outage longer than ttl): the key went with it; campaign again.
            if (!(err instanceof EtcdLeaseInvalidError)) throw err;
            dropLease();
          }
        }
        let kv = (await client.get(key).exec()).kvs[0];
        if (!kv) {
          if (!lease) {
            lease = client.lease(ttlSec, { autoKeepAlive: false });
            leaseId = await lease.grant();
            lastRenew = Date.now();
          }
          // Only if nobody created the key meanwhile: the lock itself.
          await client.if(key, 'Create', '==', 0).then(client.put(key).value(candidate.addr).lease(leaseId!)).commit();
          kv = (await client.get(key).exec()).kvs[0];
        }
        const holder = kv ? String(kv.lease) : undefined;
        next = { leader: kv ? kv.value.toString() : undefined, isLeader: holder !== undefined && holder === leaseId };
        if (down) { o.logger.info(`leader election: ${o.what} is reachable again`); down = false; }
        backoff.reset();
      } catch (err) {
        if (signal.aborted) break;
        if (!down) { down = true; o.logger.warn(`leader election: ${o.what} unreachable (${errText(err)}), retrying`); }
        // A leader that could not renew for a whole ttl has lost its lease: step down.
        if (state?.isLeader && Date.now() - lastRenew >= candidate.ttl) {
          state = { leader: undefined, isLeader: false };
          yield state;
        }
        await sleep(backoff.next(), signal);
        continue;
      }
      if (!next.isLeader && lease) {
        // Lost the race (or the lock): this lease holds nothing; let it go rather than keep it alive.
        const unused = lease;
        dropLease();
        void unused.revoke({ deadline: Date.now() + o.timeout }).catch(() => undefined); // expires by itself anyway
      }
      if (changed(next)) {
        state = next;
        yield state;
      }
      await nextWake(watcher ? [watcher] : [], period, signal);
    }
  } finally {
    // Resign: revoking the lease deletes the key at once if we held it, so a follower takes over
    // without waiting for the ttl.
    const l = lease;
    lease = undefined;
    if (l) await l.revoke({ deadline: Date.now() + o.timeout }).catch((err: unknown) =>
      o.logger.warn(`leader election: resign failed (${errText(err)}); the lock expires after its ttl`));
    await watcher?.cancel().catch(() => undefined); // closed client: nothing left to cancel
  }
}

/** Options: `heartbeat` and `ttl` (e.g. `etcd({ heartbeat: '20s', ttl: '60s' })`), used where no flag or config section sets them. */
export default function etcd(options?: Partial<TimingOptions>): SwarmPlugin {
  return timedDiscoveryPlugin(NAME, SCHEME, options, createEtcdBackend);
}
