// The two loops of `swarm manage` that glue discovery to the cluster and to the API: the
// discovery diff and the leadership campaign, on a real core with in-process backends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createCore } from '../core.ts';
import type { DiscoveryBackend, FailoverEvent, LeadershipState } from '../types.ts';
import { watchDiscovery } from './manage.ts';
import { checkElection, ERR_NO_ELECTION, startReplication, type Role } from './replication.ts';

function capture() {
  const lines: { msg: string; level: number }[] = [];
  const stream = new Writable({ write(chunk, _e, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

/** A pushable async queue: the test decides what the backend yields, and when. */
function channel<T>() {
  const items: (T | Error)[] = [];
  let wake: (() => void) | undefined;
  return {
    push(item: T | Error) { items.push(item); wake?.(); },
    async *iterate(signal: AbortSignal): AsyncGenerator<T> {
      const onAbort = () => wake?.();
      signal.addEventListener('abort', onAbort);
      try {
        while (!signal.aborted) {
          if (items.length === 0) await new Promise<void>((r) => { wake = r; });
          wake = undefined;
          const next = items.shift();
          if (next === undefined) continue;
          if (next instanceof Error) throw next;
          yield next;
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    },
  };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

test('discovery lists are diffed: removals first, then additions, only changes', async () => {
  const lists = channel<string[]>();
  const calls: string[] = [];
  const cluster = { addEngine: (a: string) => calls.push(`+${a}`), removeEngine: (a: string) => calls.push(`-${a}`) };
  const backend: DiscoveryBackend = { watch: (s) => lists.iterate(s), register: async () => {} };
  const controller = new AbortController();
  const { logger } = capture();
  const done = watchDiscovery(backend, cluster, 1, logger, controller.signal);
  lists.push(['a:1', 'b:1']);
  await until(() => calls.length === 2);
  lists.push(['b:1', 'c:1', 'd:1']);
  await until(() => calls.length === 5);
  lists.push(['b:1', 'c:1', 'd:1']); // unchanged: nothing to do
  lists.push(['d:1']);
  await until(() => calls.length === 7);
  controller.abort();
  await done;
  assert.deepEqual(calls, ['+a:1', '+b:1', '-a:1', '+c:1', '+d:1', '-b:1', '-c:1']);
});

test('a discovery watch that fails is logged and restarted, keeping what the cluster has', async () => {
  let round = 0;
  const calls: string[] = [];
  const cluster = { addEngine: (a: string) => calls.push(`+${a}`), removeEngine: (a: string) => calls.push(`-${a}`) };
  const backend: DiscoveryBackend = {
    async *watch() {
      round++;
      if (round === 1) { yield ['a:1']; throw new Error('store went away'); }
      yield ['a:1', 'b:1'];
    },
    register: async () => {},
  };
  const { logger, lines } = capture();
  const controller = new AbortController();
  await watchDiscovery(backend, cluster, 1, logger, controller.signal);
  assert.deepEqual(calls, ['+a:1', '+b:1']);
  assert.ok(lines.some((l) => l.msg === 'Discovery error: store went away'));
});

test('replication needs a backend that can elect', () => {
  assert.throws(() => checkElection({ watch: async function* () {}, register: async () => {} }), new RegExp(`^ConfigError: ${ERR_NO_ELECTION.replace(/\./g, '\\.')}$`));
});

test('leadership changes set the role of the API and the cluster, reach failover taps, and are logged as the original did', async () => {
  const states = channel<LeadershipState>();
  const roles: Role[] = [];
  const events: FailoverEvent[] = [];
  const core = createCore({ plugins: [{ name: 'failover-spy', apply(c) { c.hooks.failover.tap('failover-spy', (e) => { events.push(e); }); } }] });
  let campaigns = 0;
  const backend: DiscoveryBackend = {
    watch: async function* () {},
    register: async () => {},
    elect(candidate, signal) {
      campaigns++;
      assert.deepEqual(candidate, { addr: '127.0.0.70:4000', ttl: 20_000 });
      return states.iterate(signal);
    },
  };
  const { logger, lines } = capture();
  const controller = new AbortController();
  const running = startReplication({
    backend, core, addr: '127.0.0.70:4000', ttl: 20_000, targets: [{ setRole: (r) => roles.push(r) }], logger, signal: controller.signal, recoveryDelay: 1,
  });
  states.push({ leader: '127.0.0.71:4000', isLeader: false });
  states.push({ leader: '127.0.0.71:4000', isLeader: false }); // no change: nothing happens
  states.push({ leader: '127.0.0.70:4000', isLeader: true });
  await until(() => events.length === 3);
  states.push(new Error('etcd unreachable')); // the campaign fails and restarts, the role stays
  await until(() => campaigns === 2);
  states.push({ leader: '127.0.0.72:4000', isLeader: false });
  await until(() => events.length === 4);
  controller.abort();
  await running;

  assert.deepEqual(roles, [
    { role: 'replica' },
    { role: 'replica', primary: '127.0.0.71:4000' },
    { role: 'primary' },
    { role: 'replica', primary: '127.0.0.72:4000' },
  ]);
  assert.deepEqual(events, [
    // Before the first election answer: not primary (so no replica acts in its first moments).
    { kind: 'primary-changed', primary: undefined, self: '127.0.0.70:4000', isPrimary: false },
    { kind: 'primary-changed', primary: '127.0.0.71:4000', self: '127.0.0.70:4000', isPrimary: false },
    { kind: 'primary-changed', primary: '127.0.0.70:4000', self: '127.0.0.70:4000', isPrimary: true },
    { kind: 'primary-changed', primary: '127.0.0.72:4000', self: '127.0.0.70:4000', isPrimary: false },
  ]);
  assert.deepEqual(lines.map((l) => l.msg), [
    'New leader elected: 127.0.0.71:4000',
    'Leader Election: Cluster leadership acquired',
    'Leader Election: etcd unreachable',
    'Leader Election: Cluster leadership lost',
    'New leader elected: 127.0.0.72:4000',
  ]);
});
