// Scenarios every KV discovery backend (etcd, ZooKeeper, Consul emulator) must pass. Each test
// file provides the store (start/stop) and the plugin; the behaviour checked is the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { createCore } from '../../core/core.ts';
import type { SwarmPlugin } from '../../core/plugin.ts';
import type { DiscoveryBackend, DiscoveryOptions, LeadershipState } from '../../core/types.ts';

export interface StoreHandle {
  /** `host:port` for the discovery URL. */
  endpoint: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface KvSuite {
  scheme: string;
  plugin: () => SwarmPlugin;
  store: () => StoreHandle;
  /** Registration TTL for the expiry scenario (the store may impose a minimum). */
  ttl: number;
  heartbeat: number;
  /** Address of a server that is not listening, for the unreachable-store scenario. */
  deadEndpoint: string;
}

export function captureLogs(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({
    write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk)).msg); cb(); },
  }));
  return { logger, lines };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Consume a watch in the background, recording every list it yields. */
export function record(backend: DiscoveryBackend) {
  const ac = new AbortController();
  const lists: string[][] = [];
  let error: unknown;
  const done = (async () => {
    try {
      for await (const list of backend.watch(ac.signal)) lists.push(list);
    } catch (err) {
      error = err;
    }
  })();
  return {
    lists,
    get error() { return error; },
    last: () => lists[lists.length - 1],
    async until(what: string, ok: (l: string[]) => boolean, timeoutMs: number): Promise<string[]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const l = lists[lists.length - 1];
        if (l && ok(l)) return l;
        if (error) throw error;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; lists seen: ${JSON.stringify(lists)}`);
        await pause(50);
      }
    },
    async stop() { ac.abort(); await done; },
  };
}

/** What `swarm join` does: register every heartbeat, errors only counted. */
export function joinLoop(backend: DiscoveryBackend, addr: string, heartbeat: number) {
  let stopped = false;
  let failures = 0;
  let successes = 0;
  const loop = (async () => {
    while (!stopped) {
      try {
        await backend.register(addr);
        successes++;
      } catch {
        failures++;
      }
      await pause(heartbeat);
    }
  })();
  return {
    get failures() { return failures; },
    get successes() { return successes; },
    async stop() { stopped = true; await loop; },
  };
}

/** Runs `backend.elect()` for `addr` until aborted, keeping every state it yields. */
function followElection(backend: DiscoveryBackend, addr: string, ttl: number) {
  const ac = new AbortController();
  const states: LeadershipState[] = [];
  const done = (async () => { for await (const st of backend.elect!({ addr, ttl }, ac.signal)) states.push(st); })();
  return { ac, states, done, last: () => states[states.length - 1] };
}

const sameSet = (want: string[]) => (l: string[]) => l.length === want.length && want.every((a) => l.includes(a));

export function kvScenarios(s: KvSuite): void {
  const url = (prefix: string, endpoint = s.store().endpoint) => `${s.scheme}://${endpoint}/${prefix}`;
  const opts = (extra: Partial<DiscoveryOptions> = {}): DiscoveryOptions =>
    ({ heartbeat: s.heartbeat, ttl: s.ttl, opts: {}, ...extra });
  let n = 0;
  const uniquePrefix = () => `swarm-test-${process.pid}-${++n}`;

  test(`${s.scheme}: three registrations are watched; one that stops refreshing expires after its ttl; a new one appears`, { timeout: 120_000 }, async (t) => {
    const core = createCore({ plugins: [s.plugin()] });
    t.after(() => core.close());
    const prefix = uniquePrefix();
    const joiners = await Promise.all(['10.0.1.1:2375', '10.0.1.2:2375', '10.0.1.3:2375'].map(async (addr) => {
      const b = await core.discovery(url(prefix), opts());
      return { b, addr, loop: joinLoop(b, addr, s.heartbeat) };
    }));
    const manager = await core.discovery(url(prefix), opts());
    const rec = record(manager);
    t.after(async () => {
      await rec.stop();
      for (const j of joiners) { await j.loop.stop(); await j.b.close?.(); }
      await manager.close?.();
    });
    await rec.until('3 entries', sameSet(['10.0.1.1:2375', '10.0.1.2:2375', '10.0.1.3:2375']), 30_000);
    const before = rec.lists.length;
    await joiners[1].loop.stop(); // this "join" stops refreshing; its backend (session) stays open
    const stoppedAt = Date.now();
    await rec.until('10.0.1.2 expired', sameSet(['10.0.1.1:2375', '10.0.1.3:2375']), s.ttl * 3 + 10_000);
    // It must not vanish before its ttl ran out (it was last refreshed at most one heartbeat before stop).
    assert.ok(Date.now() - stoppedAt >= s.ttl - s.heartbeat - 500, 'entry expired before its ttl');
    const extra = await core.discovery(url(prefix), opts());
    const extraLoop = joinLoop(extra, '10.0.1.4:2375', s.heartbeat);
    t.after(async () => { await extraLoop.stop(); await extra.close?.(); });
    await rec.until('10.0.1.4 added', sameSet(['10.0.1.1:2375', '10.0.1.3:2375', '10.0.1.4:2375']), 30_000);
    // Every list after the first full one is a real change and never contains duplicates.
    for (const l of rec.lists) assert.equal(new Set(l).size, l.length, `duplicate entries in ${JSON.stringify(l)}`);
    for (let i = Math.max(1, before); i < rec.lists.length; i++) {
      assert.notDeepEqual(rec.lists[i], rec.lists[i - 1], 'the watch yielded an unchanged list');
    }
  });

  test(`${s.scheme}: store outage (stopped 10 s): watch keeps its list, logs once, register rejects, then catches up`, { timeout: 180_000 }, async (t) => {
    const store = s.store();
    const { logger, lines } = captureLogs();
    const core = createCore({ plugins: [s.plugin()], logger });
    t.after(() => core.close());
    const prefix = uniquePrefix();
    // Long ttl: entries must survive the outage; a short heartbeat: the watch notices quickly.
    const o = opts({ ttl: 60_000 });
    const joinA = await core.discovery(url(prefix), o);
    const joinB = await core.discovery(url(prefix), o);
    const loopA = joinLoop(joinA, '10.0.2.1:2375', s.heartbeat);
    const loopB = joinLoop(joinB, '10.0.2.2:2375', s.heartbeat);
    const manager = await core.discovery(url(prefix), o);
    const rec = record(manager);
    t.after(async () => {
      await rec.stop(); await loopA.stop(); await loopB.stop();
      await joinA.close?.(); await joinB.close?.(); await manager.close?.();
      if (!stoppedForGood) await store.start().catch(() => undefined); // leave the store running for the next test
    });
    let stoppedForGood = false;
    await rec.until('both registered', sameSet(['10.0.2.1:2375', '10.0.2.2:2375']), 30_000);
    const yieldedBefore = rec.lists.length;

    await store.stop();
    stoppedForGood = true;
    const registerDuringOutage = joinB.register('10.0.2.9:2375');
    await assert.rejects(registerDuringOutage, (err: Error) => !err.message.includes('\n'), 'register must reject while the store is down');
    await pause(10_000);
    assert.equal(rec.lists.length, yieldedBefore, `the watch yielded during the outage: ${JSON.stringify(rec.lists.slice(yieldedBefore))}`);
    await loopB.stop(); // 10.0.2.2 stops refreshing; with ttl 60 s it must still be there afterwards
    await store.start();
    stoppedForGood = false;

    const newcomer = await core.discovery(url(prefix), o);
    const loopC = joinLoop(newcomer, '10.0.2.3:2375', s.heartbeat);
    t.after(async () => { await loopC.stop(); await newcomer.close?.(); });
    await rec.until('caught up with the newcomer', sameSet(['10.0.2.1:2375', '10.0.2.2:2375', '10.0.2.3:2375']), 60_000);
    assert.ok(loopA.failures > 0, 'the join loop should have seen failures during the outage');
    for (const l of rec.lists.slice(yieldedBefore - 1)) {
      assert.ok(l.length >= 2, `a list lost entries across the outage: ${JSON.stringify(l)}`);
      assert.equal(new Set(l).size, l.length, `duplicates in ${JSON.stringify(l)}`);
    }
    const outageLines = lines.filter((l) => l.includes('unreachable'));
    assert.equal(outageLines.length, 1, `outage logged ${outageLines.length} times: ${JSON.stringify(outageLines)}`);
    assert.ok(lines.some((l) => l.includes('reachable again')), 'recovery not logged');
  });

  test(`${s.scheme}: bad URLs and an unreachable store give one-line errors`, { timeout: 60_000 }, async (t) => {
    const core = createCore({ plugins: [s.plugin()] });
    t.after(() => core.close());
    await assert.rejects(core.discovery(`${s.scheme}://`, opts()), /no .* server address/);
    await assert.rejects(core.discovery(`${s.scheme}://127.0.0.1:notaport/x`, opts()), /invalid/);
    const dead = await core.discovery(url('x', s.deadEndpoint), opts({ failFast: true }));
    t.after(() => dead.close?.());
    await assert.rejects(dead.register('10.0.3.1:2375'), (err: Error) => {
      assert.ok(!err.message.includes('\n'), `multi-line: ${err.message}`);
      assert.ok(err.message.includes(s.deadEndpoint), `does not name the store: ${err.message}`);
      return true;
    });
    const ac = new AbortController();
    await assert.rejects(async () => { for await (const _ of dead.watch(ac.signal)) break; }, (err: Error) => {
      assert.ok(!err.message.includes('\n'), `multi-line: ${err.message}`);
      return true;
    });
  });

  test(`${s.scheme}: several servers in the URL: an unreachable one listed first is skipped`, { timeout: 60_000 }, async (t) => {
    const core = createCore({ plugins: [s.plugin()] });
    t.after(() => core.close());
    const prefix = uniquePrefix();
    const multi = `${s.scheme}://${s.deadEndpoint},${s.store().endpoint}/${prefix}`;
    const joiner = await core.discovery(multi, opts());
    const loop = joinLoop(joiner, '10.0.4.1:2375', s.heartbeat);
    const manager = await core.discovery(multi, opts());
    const rec = record(manager);
    t.after(async () => { await rec.stop(); await loop.stop(); await joiner.close?.(); await manager.close?.(); });
    await rec.until('the entry, through the live server', sameSet(['10.0.4.1:2375']), 30_000);
  });

  test(`${s.scheme}: election: two candidates, one leader; the leader resigns and the other takes over within ttl`, { timeout: 120_000 }, async (t) => {
    const core = createCore({ plugins: [s.plugin()] });
    t.after(() => core.close());
    const prefix = uniquePrefix();
    const ttl = Math.max(s.ttl, 3000);
    const a = await core.discovery(url(prefix), opts());
    const b = await core.discovery(url(prefix), opts());
    t.after(async () => { await a.close?.(); await b.close?.(); });
    assert.ok(a.elect && b.elect, 'KV backends implement elect');
    const follow = (backend: DiscoveryBackend, addr: string) => followElection(backend, addr, ttl);
    const ea = follow(a, '127.0.0.61:4000');
    await waitUntil('a is leader', () => ea.last()?.isLeader === true, 30_000);
    const eb = follow(b, '127.0.0.62:4000');
    t.after(async () => { ea.ac.abort(); eb.ac.abort(); await ea.done; await eb.done; });
    await waitUntil('b sees a as leader', () => eb.last()?.leader === '127.0.0.61:4000', 30_000);
    assert.equal(eb.last()?.isLeader, false);
    const resignedAt = Date.now();
    ea.ac.abort();
    await ea.done;
    await waitUntil('b takes over', () => eb.last()?.isLeader === true, ttl * 2);
    assert.ok(Date.now() - resignedAt <= ttl, `takeover took ${Date.now() - resignedAt} ms, ttl is ${ttl} ms`);
    assert.equal(eb.last()?.leader, '127.0.0.62:4000');
    assert.ok(!ea.states.some((st, i) => i > 0 && st.isLeader && ea.states[i - 1].isLeader), 'a yielded an unchanged state');
  });

  test(`${s.scheme}: election across a store outage longer than ttl: the leader steps down, then exactly one leader again`, { timeout: 180_000 }, async (t) => {
    const store = s.store();
    const core = createCore({ plugins: [s.plugin()] });
    t.after(() => core.close());
    const prefix = uniquePrefix();
    const ttl = Math.max(s.ttl, 3000);
    const a = await core.discovery(url(prefix), opts());
    const b = await core.discovery(url(prefix), opts());
    const run = (backend: DiscoveryBackend, addr: string) => followElection(backend, addr, ttl);
    const ea = run(a, '127.0.0.63:4000');
    const eb = run(b, '127.0.0.64:4000');
    let stopped = false;
    t.after(async () => {
      ea.ac.abort(); eb.ac.abort(); await ea.done; await eb.done; await a.close?.(); await b.close?.();
      if (stopped) await store.start().catch(() => undefined);
    });
    const oneLeader = () => [ea.last(), eb.last()].filter((st) => st?.isLeader).length === 1
      && ea.last()?.leader !== undefined && ea.last()?.leader === eb.last()?.leader;
    await waitUntil('one agreed leader', oneLeader, 30_000);
    const leader = ea.last()!.isLeader ? ea : eb;
    await store.stop();
    stopped = true;
    // Out of touch for a whole ttl, a leader must stop believing it leads.
    await waitUntil('the leader steps down during the outage', () => leader.last()?.isLeader === false, ttl * 3 + 5000);
    await pause(Math.max(0, 10_000 - ttl));
    await store.start();
    stopped = false;
    await waitUntil('exactly one agreed leader after the outage', oneLeader, ttl * 4 + 30_000);
  });
}

export async function waitUntil(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(50);
  }
}
