// What the three KV backends (etcd, consul, zookeeper) share: URL form, key layout, TLS options,
// and the watch loop that survives store outages.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { SwarmError } from '../../core/errors.ts';
import type { DiscoveryOptions, DiscoveryUrl } from '../../core/types.ts';
import { canonical, checkEntry, sameList, splitHostPort } from './entries.ts';
import { Backoff, errText, sleep } from './retry.ts';

/** Legacy default of `--discovery-opt kv.path` (swarm injects it; libkv's own default would be `docker/nodes`). */
export const DEFAULT_KV_PATH = 'docker/swarm/nodes';
/** Legacy leader key, below the URL prefix. */
export const LEADER_PATH = 'docker/swarm/leader';

export interface KvUrl {
  /** `host:port` of each server, in the order given. */
  hosts: string[];
  /** URL path without leading/trailing slashes ('' when none). */
  prefix: string;
}

export function discoveryError(message: string, cause?: unknown): SwarmError {
  return new SwarmError('SWARM_ERR_DISCOVERY', message, cause === undefined ? undefined : { cause });
}

/**
 * `scheme://h1:p,h2:p[/prefix]`: comma-separated servers, then an optional key prefix. A server
 * without a port gets the store's usual client port.
 */
export function parseKvUrl(url: DiscoveryUrl, defaultPort: number): KvUrl {
  const slash = url.rest.indexOf('/');
  const hostPart = slash < 0 ? url.rest : url.rest.slice(0, slash);
  const prefix = trimSlashes(slash < 0 ? '' : url.rest.slice(slash + 1));
  const hosts = hostPart.split(',').map((h) => h.trim()).filter((h) => h !== '');
  if (hosts.length === 0) throw discoveryError(`invalid discovery URL "${url.raw}": no ${url.scheme} server address`);
  return {
    prefix,
    hosts: hosts.map((h) => {
      const withPort = /:\d*$/.test(h) && !h.endsWith(']') ? h : `${h}:${defaultPort}`;
      try {
        const { port } = splitHostPort(withPort);
        if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new Error(`address ${h}: invalid port`);
      } catch (err) {
        throw discoveryError(`invalid discovery URL "${url.raw}": ${errText(err)}`);
      }
      return withPort;
    }),
  };
}

export function trimSlashes(p: string): string {
  return p.replace(/^\/+|\/+$/g, '');
}

export function joinKey(...parts: string[]): string {
  return parts.map(trimSlashes).filter((p) => p !== '').join('/');
}

/** Key layout: `<prefix>/<kv.path>/<addr>` for nodes, `<prefix>/docker/swarm/leader` for the lock. */
export function kvPaths(url: KvUrl, options: DiscoveryOptions): { nodes: string; leader: string } {
  return {
    nodes: joinKey(url.prefix, options.opts['kv.path'] ?? DEFAULT_KV_PATH),
    leader: joinKey(url.prefix, LEADER_PATH),
  };
}

export interface KvTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** TLS to the store from `kv.cacertfile`, `kv.certfile`, `kv.keyfile`: all three or none. */
export function readKvTls(options: DiscoveryOptions): KvTls | undefined {
  const names = ['kv.cacertfile', 'kv.certfile', 'kv.keyfile'] as const;
  const given = names.filter((n) => options.opts[n]);
  if (given.length === 0) return undefined;
  if (given.length !== names.length) {
    const missing = names.filter((n) => !options.opts[n]);
    throw discoveryError(`TLS to the discovery store needs kv.cacertfile, kv.certfile and kv.keyfile; missing ${missing.join(', ')}`);
  }
  const read = (n: (typeof names)[number]) => {
    try {
      return readFileSync(options.opts[n]);
    } catch (err) {
      throw discoveryError(`failed to read ${n} '${options.opts[n]}': ${errText(err)}`, err);
    }
  };
  return { ca: read('kv.cacertfile'), cert: read('kv.certfile'), key: read('kv.keyfile') };
}

/** What a KV backend gives the shared watch loop. */
export interface WatchSource {
  /** The current registered addresses; rejects when the store cannot be reached. */
  list(signal: AbortSignal): Promise<string[]>;
  /**
   * Resolve when the list may have changed, or after at most `heartbeat` (a safety poll);
   * reject when the store connection fails. Must return promptly when `signal` aborts.
   */
  changed(signal: AbortSignal): Promise<void>;
}

export interface WatchLoopOptions {
  /** `etcd 127.0.0.1:2379`: how log lines and errors name the store. */
  what: string;
  heartbeat: number;
  logger: Logger;
  /** Throw instead of retrying (for one-shot readers such as `swarm list`). */
  failFast?: boolean;
}

/**
 * Yield the full, sorted list each time it changes. While the store is unreachable the last list
 * stays valid (nothing is yielded, in particular no empty list); the outage is logged once and
 * retried with back-off up to `heartbeat`; on return the list is re-read and yielded if it moved.
 */
export async function* watchLoop(source: WatchSource, signal: AbortSignal, o: WatchLoopOptions): AsyncGenerator<string[]> {
  let last: string[] | undefined;
  let down = false;
  const warned = new Set<string>();
  const valid = (addrs: string[]) => addrs.filter((a) => {
    try {
      checkEntry(a);
      return true;
    } catch (err) {
      // A bad value written by someone else must not stop discovery of the good ones.
      if (!warned.has(a)) { warned.add(a); o.logger.warn(`discovery: ${o.what}: ignoring invalid entry: ${errText(err)}`); }
      return false;
    }
  });
  const backoff = new Backoff(Math.min(500, o.heartbeat), Math.max(o.heartbeat, 500));
  while (!signal.aborted) {
    try {
      const list = canonical(valid(await source.list(signal)));
      if (signal.aborted) return;
      if (down) {
        o.logger.info(`discovery: ${o.what} is reachable again (${list.length} entries)`);
        down = false;
      }
      backoff.reset();
      if (!sameList(last, list)) {
        last = list;
        yield list;
      }
      await source.changed(signal);
    } catch (err) {
      if (signal.aborted) return;
      if (o.failFast) throw discoveryError(`${o.what}: ${errText(err)}`, err);
      if (!down) {
        down = true;
        const kept = last === undefined ? 'no list yet' : `keeping the last list of ${last.length} entries`;
        o.logger.warn(`discovery: ${o.what} unreachable (${errText(err)}); ${kept}, retrying`);
      }
      await sleep(backoff.next(), signal);
    }
  }
}
