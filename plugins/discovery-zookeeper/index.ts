// `zk://h1:p,h2:p[/prefix]`: nodes and the replication lock in ZooKeeper (3.4+).
//   nodes:  /<prefix>/<kv.path>/<addr>  ephemeral znode, data = addr
//   leader: /<prefix>/docker/swarm/leader/lock-<seq>  ephemeral-sequential, data = addr; lowest wins
// TTL: ZooKeeper has no per-key TTL. An entry lives as long as the registering session, whose
// timeout is the registration ttl (the server clamps it to [2, 20] × tickTime); and a registration
// that is not refreshed within ttl is removed by its own process, as a TTL would.
import zookeeper, { type Client, type Stat } from 'node-zookeeper-client';
import type { Logger } from 'pino';
import type { SwarmPlugin } from '../../core/plugin.ts';
import type { DiscoveryBackend, DiscoveryOptions, DiscoveryUrl, LeadershipState } from '../../core/types.ts';
import {
  Backoff, callTimeout, discoveryError, electionTimeout, errText, kvPaths, parseKvUrl, sleep, watchLoop,
  type WatchSource, timedDiscoveryPlugin, type TimingOptions
} from '../discovery-common/index.ts';

export const NAME = 'discovery-zookeeper';
export const SCHEME = 'zk';
export const DEFAULT_PORT = 2181;

const { CreateMode, Exception, State } = zookeeper;

/** Error code of a ZooKeeper exception (NO_NODE, NODE_EXISTS…), or undefined for other errors. */
function zkCode(err: unknown): number | undefined {
  const e = err as { getCode?: () => number };
  return typeof e?.getCode === 'function' ? e.getCode() : undefined;
}

/**
 * One ZooKeeper session, re-created after expiry. Every call has a deadline: the client queues
 * requests while disconnected, which would otherwise hang for as long as the server is away.
 */
class ZkSession {
  private client: Client | undefined;
  private closed = false;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly connect: string,
    private readonly sessionTimeout: number,
    private readonly timeout: number,
  ) {}

  /** Called on every connection state change (so watches can re-read). */
  onStateChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  current(): Client {
    if (this.closed) throw new Error('closed');
    const c = this.client;
    if (c && c.getState() !== State.EXPIRED) return c;
    c?.close();
    const next = zookeeper.createClient(this.connect, { sessionTimeout: this.sessionTimeout, spinDelay: 500, retries: 0 });
    next.on('state', () => { for (const fn of this.listeners) fn(); });
    next.connect();
    this.client = next;
    return next;
  }

  connected(): boolean {
    return this.client?.getState() === State.SYNC_CONNECTED;
  }

  /** Session id as hex, to recognise our own ephemeral nodes. */
  sessionId(): string {
    return this.client?.getSessionId().toString('hex') ?? '';
  }

  call<T>(what: string, fn: (c: Client, cb: (err: unknown, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const t = setTimeout(() => {
        settled = true;
        reject(new Error(`${what}: no answer within ${this.timeout} ms (${this.connected() ? 'connected' : 'not connected'})`));
      }, this.timeout);
      try {
        fn(this.current(), (err, value) => {
          if (settled) return;
          settled = true;
          clearTimeout(t);
          if (err) reject(err as Error);
          else resolve(value as T);
        });
      } catch (err) {
        clearTimeout(t);
        reject(err);
      }
    });
  }

  close(): void {
    this.closed = true;
    this.client?.close();
    this.client = undefined;
  }
}

export function createZookeeperBackend(url: DiscoveryUrl, options: DiscoveryOptions, logger: Logger): DiscoveryBackend {
  const kv = parseKvUrl(url, DEFAULT_PORT);
  if (options.opts['kv.cacertfile'] || options.opts['kv.certfile'] || options.opts['kv.keyfile']) {
    throw discoveryError('TLS options (kv.cacertfile, kv.certfile, kv.keyfile) are not supported with zk:// discovery');
  }
  const paths = kvPaths(kv, options);
  const nodesDir = `/${paths.nodes}`;
  const leaderDir = `/${paths.leader}`;
  const what = `zookeeper ${kv.hosts.join(',')}`;
  const session = new ZkSession(kv.hosts.join(','), Math.max(1000, options.ttl), callTimeout(options.heartbeat));
  /** Per registered address: the timer that removes it when it is not refreshed within ttl. */
  const expiries = new Map<string, NodeJS.Timeout>();
  const fail = (action: string, err: unknown) => discoveryError(`${what}: ${action}: ${errText(err)}`, err);

  const mkdirp = (dir: string) => session.call<string>(`mkdirp ${dir}`, (c, cb) => c.mkdirp(dir, cb));

  return {
    watch(signal) {
      let wake: (() => void) | undefined;
      const off = session.onStateChange(() => wake?.());
      // ZooKeeper watches fire once; arm one per session at a time (re-arming on every poll would
      // pile up listeners). The client re-registers it after a reconnect within the same session.
      let armedOn: Client | undefined;
      const onChildren = () => { armedOn = undefined; wake?.(); };
      const source: WatchSource = {
        async list() {
          await mkdirp(nodesDir); // legacy: the manager creates the directory if missing
          return session.call<string[]>(`list ${nodesDir}`, (c, cb) => {
            if (armedOn === c) return c.getChildren(nodesDir, (err, children) => cb(err, children));
            armedOn = c;
            c.getChildren(nodesDir, onChildren, (err, children) => {
              if (err) armedOn = undefined;
              cb(err, children);
            });
          });
        },
        changed: (s) => new Promise<void>((resolve) => {
          const done = () => { clearTimeout(t); s.removeEventListener('abort', done); wake = undefined; resolve(); };
          const t = setTimeout(done, options.heartbeat);
          s.addEventListener('abort', done, { once: true });
          wake = done;
        }),
      };
      const inner = watchLoop(source, signal, { what, heartbeat: options.heartbeat, logger, failFast: options.failFast });
      return (async function* () {
        try { yield* inner; } finally { off(); }
      })();
    },

    async register(addr) {
      const path = `${nodesDir}/${addr}`;
      const data = Buffer.from(addr);
      try {
        await mkdirp(nodesDir);
        try {
          await session.call<string>(`create ${path}`, (c, cb) => c.create(path, data, CreateMode.EPHEMERAL, cb));
        } catch (err) {
          if (zkCode(err) !== Exception.NODE_EXISTS) throw err;
          // Already there (our previous registration, or another process for the same engine):
          // refresh its data; the key is the address, so nothing is ever duplicated.
          await session.call<Stat>(`set ${path}`, (c, cb) => c.setData(path, data, -1, cb));
        }
      } catch (err) {
        throw fail(`register ${addr}`, err);
      }
      clearTimeout(expiries.get(addr));
      expiries.set(addr, setTimeout(() => {
        expiries.delete(addr);
        session.call<void>(`remove ${path}`, (c, cb) => c.remove(path, -1, (e) => cb(e)))
          .catch((err: unknown) => {
            // Already gone is fine; anything else: the session timeout removes it eventually.
            if (zkCode(err) !== Exception.NO_NODE) logger.warn(`discovery: ${what}: could not remove expired ${addr}: ${errText(err)}`);
          });
      }, options.ttl).unref());
    },

    elect(candidate, signal) {
      // Its own session, whose timeout is the replication ttl: a crashed primary's lock node
      // goes when that session expires.
      const own = new ZkSession(kv.hosts.join(','), Math.max(1000, candidate.ttl), electionTimeout(candidate.ttl, options.heartbeat));
      const inner = elect(own, leaderDir, candidate, signal, { logger, what });
      return (async function* () {
        try { yield* inner; } finally { own.close(); }
      })();
    },

    async close() {
      for (const t of expiries.values()) clearTimeout(t);
      expiries.clear();
      session.close();
    },
  };
}

/** Lowest sequence number first. */
function bySequence(a: string, b: string): number {
  return Number(a.slice(a.lastIndexOf('-') + 1)) - Number(b.slice(b.lastIndexOf('-') + 1));
}

async function* elect(
  session: ZkSession, dir: string, candidate: { addr: string; ttl: number }, signal: AbortSignal,
  o: { logger: Logger; what: string },
): AsyncGenerator<LeadershipState> {
  const period = Math.max(200, Math.floor(candidate.ttl / 3));
  const backoff = new Backoff(Math.min(500, period), Math.max(period, 1000));
  let own: string | undefined; // our lock-<seq> node name
  let state: LeadershipState | undefined;
  let down = false;
  let lastOk = Date.now();
  let wake: (() => void) | undefined;
  const off = session.onStateChange(() => wake?.());
  try {
    while (!signal.aborted) {
      let next: LeadershipState;
      try {
        await session.call<string>(`mkdirp ${dir}`, (c, cb) => c.mkdirp(dir, cb));
        let children = await session.call<string[]>(`list ${dir}`, (c, cb) =>
          c.getChildren(dir, () => wake?.(), (err, ch) => cb(err, ch)));
        if (own === undefined || !children.includes(own)) {
          // First campaign, or our node went with an expired session: (re)enter the queue.
          const created = await session.call<string>(`create ${dir}/lock-`, (c, cb) =>
            c.create(`${dir}/lock-`, Buffer.from(candidate.addr), CreateMode.EPHEMERAL_SEQUENTIAL, cb));
          own = created.slice(created.lastIndexOf('/') + 1);
          children = await session.call<string[]>(`list ${dir}`, (c, cb) =>
            c.getChildren(dir, () => wake?.(), (err, ch) => cb(err, ch)));
        }
        const first = children.filter((c) => c.startsWith('lock-')).sort(bySequence)[0];
        let leader: string | undefined;
        if (first) {
          try {
            leader = (await session.call<Buffer>(`get ${dir}/${first}`, (c, cb) =>
              c.getData(`${dir}/${first}`, () => wake?.(), (err, data) => cb(err, data)))).toString();
          } catch (err) {
            if (zkCode(err) !== Exception.NO_NODE) throw err;
            continue; // the leader just left; look again
          }
        }
        next = { leader, isLeader: first !== undefined && first === own };
        lastOk = Date.now();
        if (down) { o.logger.info(`leader election: ${o.what} is reachable again`); down = false; }
        backoff.reset();
      } catch (err) {
        if (signal.aborted) break;
        if (!down) { down = true; o.logger.warn(`leader election: ${o.what} unreachable (${errText(err)}), retrying`); }
        // Out of touch for a whole ttl: our session (and lock node) is as good as gone.
        if (state?.isLeader && Date.now() - lastOk >= candidate.ttl) {
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
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(t); signal.removeEventListener('abort', done); wake = undefined; resolve(); };
        const t = setTimeout(done, period);
        signal.addEventListener('abort', done, { once: true });
        wake = done;
      });
    }
  } finally {
    off();
    // Resign: delete our node so the next candidate takes over at once.
    if (own) {
      const path = `${dir}/${own}`;
      await session.call<void>(`remove ${path}`, (c, cb) => c.remove(path, -1, (e) => cb(e))).catch((err: unknown) => {
        if (zkCode(err) !== Exception.NO_NODE) o.logger.warn(`leader election: resign failed (${errText(err)}); the node goes with the session`);
      });
    }
  }
}

/** Options: `heartbeat` and `ttl` (e.g. `zk({ heartbeat: '20s', ttl: '60s' })`), used where no flag or config section sets them. */
export default function zk(options?: Partial<TimingOptions>): SwarmPlugin {
  return timedDiscoveryPlugin(NAME, SCHEME, options, createZookeeperBackend);
}
