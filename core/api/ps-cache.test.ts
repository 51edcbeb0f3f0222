/**
 * The API's caches and shortcuts give what the uncached code gives: ps rows and answers per cache
 * entry (and their time-dependent Status), the inspect splice, the version comparison, and the
 * settle barrier of background refreshes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiContext } from './context.ts';
import type { ClusterContainer, DockerJson, Engine, EngineContainer } from '../engine/cluster-api.ts';
import { decorateInspect, decorateInspectBody } from './containers.ts';
import { durationTextUntil, humanDuration, listContainersJson, psEntry, psRow, stateString, stateStringUntil } from './ps.ts';
import { settled, track } from './settle.ts';
import { compareVersions } from './versions.ts';

function engine(over: Partial<Engine> = {}): Engine {
  return {
    addr: '127.0.0.11:2375', id: 'ID1|127.0.0.11:2375', name: 'node-1', ip: '127.0.0.11', state: 'healthy',
    labels: { zone: 'a' }, cpus: 2, memory: 1 << 30, error: '', ...over,
  } as unknown as Engine;
}

function container(id: string, state: DockerJson, created = 1): EngineContainer {
  return {
    summary: { Id: id, Names: [`/c-${id}`], Image: 'busybox', State: state.Status, Status: 'x', Ports: [], Labels: {}, Created: created },
    inspect: { Id: id, State: state },
    view: { id, names: [`/c-${id}`], image: 'busybox', imageId: '', state: state.Status, labels: {}, portBindings: [], networkMode: 'default', exposedPorts: [], cpus: 0, memory: 0, created },
  } as unknown as EngineContainer;
}

test('durationTextUntil never skips a change of humanDuration', () => {
  const from = 1_000_000;
  // Walk through 3 days in uneven steps: wherever the text is said to hold, it holds.
  for (let now = from; now < from + 3 * 86_400_000; now += 7_777) {
    const until = durationTextUntil(from, now);
    assert.ok(until > now);
    const text = humanDuration(now - from);
    for (const t of [now + 1, Math.floor((now + until) / 2), until - 1]) {
      if (t >= until || t <= now) continue;
      assert.equal(humanDuration(t - from), text, `text changed at ${t - from} ms before ${until - from}`);
    }
  }
});

test('stateStringUntil covers running, paused, restarting and exited containers', () => {
  const now = Date.parse('2020-01-01T00:10:00.250Z');
  const states: DockerJson[] = [
    { Running: true, StartedAt: '2020-01-01T00:09:58.500Z' },
    { Running: true, Paused: true, StartedAt: '2020-01-01T00:05:00.100Z' },
    { Running: true, Restarting: true, ExitCode: 1, StartedAt: '2020-01-01T00:00:00Z', FinishedAt: '2020-01-01T00:09:59.900Z' },
    { Running: false, ExitCode: 3, StartedAt: '2020-01-01T00:00:00Z', FinishedAt: '2020-01-01T00:09:59.990Z' },
    { Running: false, StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' },
  ];
  for (const s of states) {
    const until = stateStringUntil(s, now);
    const text = stateString(s, now);
    if (until === Infinity) {
      assert.equal(stateString(s, now + 86_400_000), text);
      continue;
    }
    assert.equal(stateString(s, until - 1), text);
    // It does change at (or soon after) the bound, for the short durations used here.
    assert.notEqual(stateString(s, until + 1_000), text);
  }
});

test('psRow reuses a row only while entry, node and Status text are unchanged', () => {
  const e = engine();
  const t0 = Date.parse('2020-01-01T00:10:00.000Z');
  const c = container('a', { Status: 'running', Running: true, StartedAt: '2020-01-01T00:09:55.500Z' });
  const cc: ClusterContainer = { engine: e, container: c };
  const r1 = psRow(cc, t0);
  assert.deepEqual(r1, psEntry(cc, t0));
  assert.equal(r1.Status, 'Up 4 seconds');
  assert.equal(psRow(cc, t0 + 400), r1, 'same second of uptime: same row object');
  const r2 = psRow(cc, t0 + 600);
  assert.equal(r2.Status, 'Up 5 seconds', 'the Status text ticks');
  // A replaced cache entry (the engine layer's way of changing one) gives a new row.
  const c2 = container('a', { Status: 'exited', Running: false, ExitCode: 0, StartedAt: '2020-01-01T00:09:55.500Z', FinishedAt: '2020-01-01T00:10:00.100Z' });
  const r3 = psRow({ engine: e, container: c2 }, t0 + 700);
  assert.equal(r3.State, 'exited');
  assert.match(String(r3.Status), /^Exited \(0\)/);
  // An entry whose inspect object was swapped in place is not served from the old row either.
  const swapped = { ...c } as EngineContainer;
  const first = psRow({ engine: e, container: swapped }, t0 + 800);
  swapped.inspect = { Id: 'a', State: { Status: 'paused', Running: true, Paused: true, StartedAt: '2020-01-01T00:09:55.500Z' } };
  assert.notEqual(psRow({ engine: e, container: swapped }, t0 + 800), first);
  assert.equal(psRow({ engine: e, container: swapped }, t0 + 800).State, 'paused');
  // Node down: Host Down; node renamed: new names.
  assert.equal(psRow({ engine: engine({ state: 'unhealthy' }), container: c }, t0 + 900).Status, 'Host Down');
  assert.deepEqual(psRow({ engine: engine({ name: 'node-9' }), container: c }, t0 + 900).Names, ['/node-9/c-a']);
});

test('listContainersJson answers what the rows say, after every change', async () => {
  let entries: ClusterContainer[] = [];
  const ctx = {
    cluster: { containers: () => entries, engines: () => [], container: () => undefined },
    options: {},
    settling: new Set(),
  } as unknown as ApiContext;
  const e = engine();
  const created = (id: string, n: number) => container(id, { Status: 'created', Running: false, StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' }, n);
  entries = [{ engine: e, container: created('a', 1) }];
  const q = { all: '1' };
  const first = await listContainersJson(ctx, q);
  assert.deepEqual(JSON.parse(first).map((r: DockerJson) => r.Id), ['a']);
  assert.equal(await listContainersJson(ctx, q), first);
  entries = [...entries, { engine: e, container: created('b', 2) }];
  assert.deepEqual(JSON.parse(await listContainersJson(ctx, q)).map((r: DockerJson) => r.Id), ['b', 'a']);
  entries = [{ engine: e, container: created('b', 2) }];
  assert.deepEqual(JSON.parse(await listContainersJson(ctx, q)).map((r: DockerJson) => r.Id), ['b']);
  // Another query over the same rows has its own answer.
  assert.deepEqual(JSON.parse(await listContainersJson(ctx, {})), []);
  // A refresh still running after its route answered is waited for.
  let finish!: () => void;
  track(ctx, 'test refresh', new Promise<void>((r) => { finish = r; }).then(() => { entries = []; }));
  const pending = listContainersJson(ctx, q);
  setTimeout(() => finish(), 20);
  assert.deepEqual(JSON.parse(await pending), []);
  assert.equal(ctx.settling.size, 0);
});

test('settled is bounded and ignores failures', async () => {
  const ctx = { settling: new Set(), log: { warn() {} } } as unknown as ApiContext;
  assert.equal(settled(ctx), undefined);
  track(ctx, 'never', new Promise(() => {}));
  track(ctx, 'fails', Promise.reject(new Error('engine gone')));
  const t0 = Date.now();
  const alive = setInterval(() => {}, 1_000); // settled's own timer does not hold the process
  await settled(ctx, 50);
  clearInterval(alive);
  assert.ok(Date.now() - t0 < 5_000);
  assert.equal(ctx.settling.size, 1, 'the failed one is done, the stuck one is still tracked');
});

test('the inspect splice equals parse + decorate + stringify', () => {
  const owner = { engine: engine(), container: container('a', { Status: 'running' }) } as ClusterContainer;
  const bodies: DockerJson[] = [
    { Id: 'a', Name: '/x', HostConfig: { PortBindings: {} }, NetworkSettings: { Ports: {} }, Big: 12345678901234 },
    { Id: 'b', HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '' }] } }, NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '32768' }, { HostIp: '::', HostPort: '32768' }] } } },
    { Id: 'c', NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '10.0.0.1', HostPort: '1' }] } } },
    {},
  ];
  for (const b of bodies) {
    for (const text of [JSON.stringify(b), `${JSON.stringify(b)}\n`, JSON.stringify(b, null, 2)]) {
      const out = decorateInspectBody(Buffer.from(text), owner);
      assert.deepEqual(JSON.parse(out.toString()), decorateInspect(JSON.parse(text), owner));
    }
  }
  const rewritten = JSON.parse(decorateInspectBody(Buffer.from(JSON.stringify(bodies[1])), owner).toString());
  // 0.0.0.0 and :: of the same host port are one binding on the node IP.
  assert.deepEqual(rewritten.NetworkSettings.Ports['80/tcp'], [{ HostIp: '127.0.0.11', HostPort: '32768' }]);
  assert.equal(rewritten.Node.Name, 'node-1');
});

test('compareVersions orders dotted versions numerically', () => {
  assert.equal(compareVersions('1.9', '1.10'), -1);
  assert.equal(compareVersions('1.41', '1.41'), 0);
  assert.equal(compareVersions('1.41', '1.24'), 1);
  assert.equal(compareVersions('1', '1.0'), 0);
  assert.equal(compareVersions('1.0.1', '1'), 1);
  assert.equal(compareVersions('2.0', '1.99'), 1);
  assert.equal(compareVersions('1.x', '1.0'), 0);
});
