/**
 * The inspect cache's rules on a fake engine and cluster: what may be stored, what drops an entry
 * (events about the container, network events naming it, another event stream, writes), which
 * answers are never kept, the size bound, and which requests count as writes to which containers.
 * The same rules against real engines: test/integration/api-inspect-cache.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster, ClusterContainer, DockerJson, Engine } from '../engine/cluster-api.ts';
import { INSPECT_CACHE_MAX, InspectCache, mutationTargets } from './inspect-cache.ts';

function fakeEngine() {
  let seq = 0;
  let since: number | undefined = ++seq;
  const taps = new Set<(e: DockerJson, s: number) => void>();
  const engine = {
    id: 'E1', ip: '10.0.0.1', addr: '10.0.0.1:2375', name: 'node-1', cpus: 2, memory: 1, labels: {}, state: 'healthy',
    nextSeq: () => ++seq,
    eventsConnectedSince: () => since,
    onEventArrival: (tap: (e: DockerJson, s: number) => void) => { taps.add(tap); return () => taps.delete(tap); },
  } as unknown as Engine;
  return {
    engine,
    event: (ev: DockerJson) => { const s = ++seq; for (const t of taps) t(ev, s); },
    reconnect: () => { since = ++seq; },
    disconnect: () => { since = undefined; },
  };
}

const owner = (engine: Engine, id: string): ClusterContainer => ({ engine, container: { summary: { Id: id }, view: { id, names: [`/${id}`] } as never } });
const BODY = Buffer.from('{"Id":"c1","State":{"Status":"running","Restarting":false},"ExecIDs":null}');

/** Proxy an inspect through the cache's ticket, as answerInspect does, with `during` running while it is in flight. */
function proxied(cache: InspectCache, o: ClusterContainer, body = BODY, during: () => void = () => {}): void {
  const t = cache.begin(o, '/v1.41');
  assert.ok(t);
  during();
  cache.store(t, body, { 'content-type': 'application/json', date: 'x', 'content-length': '1' });
  cache.end(t);
}

test('a clean answer is kept with its headers (without date and length) and served for the same version only', () => {
  const f = fakeEngine();
  const cache = new InspectCache();
  const o = owner(f.engine, 'c1');
  proxied(cache, o);
  const hit = cache.lookup(o, '/v1.41');
  assert.ok(hit);
  assert.deepEqual(hit.headers, { 'content-type': 'application/json' });
  assert.equal(cache.lookup(o, '/v1.40'), undefined);
  assert.equal(cache.lookup(owner(f.engine, 'c2'), '/v1.41'), undefined);
});

test('an event about the container, or naming it, drops the entry and spoils an inspect in flight', () => {
  const f = fakeEngine();
  const cache = new InspectCache();
  const o = owner(f.engine, 'c1');
  for (const ev of [
    { Type: 'container', Action: 'exec_die', Actor: { ID: 'c1' } },
    { status: 'pause', id: 'c1' }, // pre-1.22 shape
    { Type: 'network', Action: 'connect', Actor: { ID: 'net', Attributes: { container: 'c1' } } },
    { Type: 'volume', Action: 'mount', Actor: { ID: 'vol', Attributes: { container: 'c1' } } },
  ]) {
    proxied(cache, o);
    f.event({ Type: 'container', Action: 'start', Actor: { ID: 'other' } });
    assert.ok(cache.lookup(o, '/v1.41'), 'an event about another container changes nothing');
    f.event(ev);
    assert.equal(cache.lookup(o, '/v1.41'), undefined, JSON.stringify(ev));
    proxied(cache, o, BODY, () => f.event(ev));
    assert.equal(cache.lookup(o, '/v1.41'), undefined, `in flight: ${JSON.stringify(ev)}`);
  }
  proxied(cache, o);
  f.event({ Type: 'container', Action: 'die', Actor: {} }); // no ID: everything of that engine
  assert.equal(cache.lookup(o, '/v1.41'), undefined);
});

test('nothing is kept or served unless the same event stream was connected throughout', () => {
  const f = fakeEngine();
  const cache = new InspectCache();
  const o = owner(f.engine, 'c1');
  proxied(cache, o);
  f.reconnect();
  assert.equal(cache.lookup(o, '/v1.41'), undefined, 'stored under the previous stream');
  proxied(cache, o, BODY, () => f.reconnect());
  assert.equal(cache.lookup(o, '/v1.41'), undefined, 'the stream changed while in flight');
  f.disconnect();
  assert.equal(cache.begin(o, '/v1.41'), undefined, 'no stream: no ticket');
  f.reconnect();
  proxied(cache, o);
  assert.ok(cache.lookup(o, '/v1.41'));
});

test('answers that can change without an event are never kept', () => {
  const f = fakeEngine();
  const cache = new InspectCache();
  const o = owner(f.engine, 'c1');
  for (const body of [
    '{"Id":"c1","State":{"Health":{"Status":"healthy","Log":[]}},"ExecIDs":null}',
    '{"Id":"c1","State":{"Restarting":true},"ExecIDs":null}',
    '{"Id":"c1","State":{"Restarting":false},"ExecIDs":["e1"]}',
  ]) {
    proxied(cache, o, Buffer.from(body));
    assert.equal(cache.lookup(o, '/v1.41'), undefined, body);
  }
  assert.equal(cache.stores, 0);
});

test('a write drops its containers (or everything) when it starts, and spoils inspects in flight', () => {
  const f = fakeEngine();
  const cache = new InspectCache();
  const a = owner(f.engine, 'a');
  const b = owner(f.engine, 'b');
  proxied(cache, a);
  proxied(cache, b);
  cache.mutation(['a']);
  assert.equal(cache.lookup(a, '/v1.41'), undefined);
  assert.ok(cache.lookup(b, '/v1.41'));
  proxied(cache, a, BODY, () => cache.mutation(['a']));
  assert.equal(cache.lookup(a, '/v1.41'), undefined);
  proxied(cache, a);
  cache.mutation('all');
  assert.equal(cache.size, 0);
});

test(`at most ${INSPECT_CACHE_MAX} containers are kept, the least recently stored dropped first`, () => {
  const f = fakeEngine();
  const cache = new InspectCache();
  for (let i = 0; i <= INSPECT_CACHE_MAX; i++) proxied(cache, owner(f.engine, `c${i}`));
  assert.equal(cache.size, INSPECT_CACHE_MAX);
  assert.equal(cache.lookup(owner(f.engine, 'c0'), '/v1.41'), undefined);
  assert.ok(cache.lookup(owner(f.engine, `c${INSPECT_CACHE_MAX}`), '/v1.41'));
});

test('which requests are writes to which containers', () => {
  const f = fakeEngine();
  const web = owner(f.engine, 'WEBID');
  const cluster = {
    container: (ref: string) => (ref === 'web' || ref === 'node-1/web' ? web : undefined),
    execOwner: (id: string) => (id === 'ex1' ? web : undefined),
  } as unknown as Cluster;
  const cases: [string, string, ReturnType<typeof mutationTargets>][] = [
    ['GET', '/containers/web/json', []],
    ['HEAD', '/containers/web/archive', []],
    ['POST', '/containers/create?name=x', []],
    ['POST', '/v1.41/containers/create', []],
    ['POST', '/v1.41/containers/web/stop?t=1', ['WEBID']],
    ['POST', '/containers/node-1/web/rename?name=y', ['WEBID']],
    ['DELETE', '/containers/web?force=1', ['WEBID']],
    ['PUT', '/containers/web/archive?path=/', ['WEBID']],
    ['POST', '/containers/unknown/kill', 'all'],
    ['POST', '/containers/prune', 'all'],
    ['POST', '/exec/ex1/start', ['WEBID']],
    ['POST', '/exec/nope/start', 'all'],
    ['POST', '/commit?container=web&repo=r', ['WEBID']],
    ['POST', '/networks/n1/connect', 'all'],
    ['POST', '/images/create?fromImage=busybox', []],
    ['POST', '/build', []],
    ['DELETE', '/volumes/v1', []],
    ['POST', '/something/new', 'all'],
    ['POST', '/containers/%zz/stop', 'all'],
  ];
  for (const [method, url, want] of cases) assert.deepEqual(mutationTargets(cluster, method, url), want, `${method} ${url}`);
});
