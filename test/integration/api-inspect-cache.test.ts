/**
 * Container inspect answered from the manager's inspect cache (core/api/inspect-cache.ts) on real
 * engines: a cached answer is byte for byte the proxied one (`?size=0` always goes to the engine
 * and gives the same bytes as no query) for containers in several states; a change made straight
 * on the engine (pause, unpause, rename, update, exec, network connect, stop, start) shows in the
 * next manager inspect once its event has reached the manager; health-checked containers are never
 * answered from memory; `?size=1` is always fresh; writes through the manager are read back at once;
 * no cached answer while the engine's event stream is down.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startEngines, type TestEngine } from '../cluster/index.ts';
import { apiContext } from '../../core/api/index.ts';
import type { DockerJson } from '../../core/engine/cluster-api.ts';
import { apiCall, startTestManager, uniqueName, type TestManager } from './api-manager.ts';

let m: TestManager;
let e: TestEngine;
const created: string[] = [];
const networks: string[] = [];

before(async () => {
  // Periodic refresh pushed out: only events (and the manager's own calls) keep anything current.
  // One engine is enough: every container here is made straight on it.
  const { engines } = await startEngines({ count: 1 });
  m = await startTestManager({ engines, cluster: { refreshMinInterval: 60_000, refreshMaxInterval: 120_000 } });
  e = m.engines[0];
});
after(async () => {
  if (!m) return;
  for (const id of created) await apiCall(e.host, 'DELETE', `/v1.41/containers/${id}?force=1`);
  for (const n of networks) await apiCall(e.host, 'DELETE', `/v1.41/networks/${n}`);
  await m.stop();
});

const cache = () => apiContext(m.api.app).inspectCache;

/** Straight to the engine, bypassing the manager. */
async function direct(method: string, path: string, body?: unknown, ok = [200, 201, 204, 304]): Promise<string> {
  const r = await apiCall(e.host, method, `/v1.41${path}`, body);
  assert.ok(ok.includes(r.status), `${method} ${path}: ${r.status} ${r.text}`);
  return r.text;
}

async function createDirect(cmd: string[], extra: Record<string, unknown> = {}, start = true): Promise<string> {
  const name = uniqueName('icache');
  const id = (JSON.parse(await direct('POST', `/containers/create?name=${name}`, { Image: 'busybox', Cmd: cmd, ...extra })) as { Id: string }).Id;
  created.push(id);
  if (start) await direct('POST', `/containers/${id}/start`);
  return id;
}

/** Resolves with the manager's event about `id` whose action starts with `action` (register before the change). */
function managerEvent(id: string, action: string): Promise<DockerJson> {
  return new Promise((resolve) => {
    const on = (ev: DockerJson) => {
      const about = ev.Actor?.ID === id || ev.Actor?.Attributes?.container === id;
      if (about && String(ev.Action ?? ev.status ?? '').startsWith(action)) {
        m.cluster.events.off('event', on);
        resolve(ev);
      }
    };
    m.cluster.events.on('event', on);
  });
}

/** One manager inspect, and whether it came from the cache. */
async function inspect(id: string, query = ''): Promise<{ text: string; hit: boolean; headers: Record<string, unknown> }> {
  const before = cache().hits;
  const r = await apiCall(m.host, 'GET', `/v1.41/containers/${id}/json${query}`);
  assert.equal(r.status, 200, r.text);
  return { text: r.text, hit: cache().hits > before, headers: r.headers };
}

/**
 * Inspect until an answer comes from the cache (the events of the last change have arrived; a
 * container made straight on the engine is unknown to the manager until its create event is in).
 */
async function cachedInspect(id: string): Promise<{ text: string; headers: Record<string, unknown> }> {
  for (let i = 0; i < 100; i++) {
    const known = (await apiCall(m.host, 'GET', `/v1.41/containers/${id}/json?size=0`)).status !== 404;
    if (known) {
      const r = await inspect(id);
      if (r.hit) return r;
    }
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`inspect of ${id} never answered from the cache`);
}

/** The proxied answer (`?size=0`: never cached, the same bytes as no query on dockerd 20.10). */
async function proxied(id: string): Promise<{ text: string; headers: Record<string, unknown> }> {
  const r = await inspect(id, '?size=0');
  assert.equal(r.hit, false);
  return r;
}

function sameAnswer(a: { text: string; headers: Record<string, unknown> }, b: { text: string; headers: Record<string, unknown> }): void {
  assert.equal(a.text, b.text);
  for (const h of ['content-type', 'api-version', 'docker-experimental', 'ostype', 'server', 'content-length']) assert.equal(a.headers[h], b.headers[h], h);
}

test('a cached inspect is byte for byte the proxied one, in several states', async () => {
  const net = uniqueName('icnet');
  await direct('POST', '/networks/create', { Name: net, Driver: 'bridge' });
  networks.push(net);
  const states: Record<string, string> = {
    created: await createDirect(['sleep', '300'], {}, false),
    running: await createDirect(['sleep', '300']),
    exited: await createDirect(['true']),
    ported: await createDirect(['sleep', '300'], { ExposedPorts: { '80/tcp': {} }, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '' }] } } }),
    paused: await createDirect(['sleep', '300']),
    networked: await createDirect(['sleep', '300']),
    renamed: await createDirect(['sleep', '300']),
    labelled: await createDirect(['sh', '-c', 'echo "<a & b>" && sleep 300'], { Labels: { 'x.y': 'a<b>&c \u2028' } }),
  };
  await direct('POST', `/containers/${states.paused}/pause`);
  await direct('POST', `/networks/${net}/connect`, { Container: states.networked });
  await direct('POST', `/containers/${states.renamed}/rename?name=${uniqueName('icache-renamed')}`);
  for (const [state, id] of Object.entries(states)) {
    const cached = await cachedInspect(id);
    const fresh = await proxied(id);
    sameAnswer(cached, fresh);
    const j = JSON.parse(cached.text);
    assert.equal(j.Id, id, state);
    assert.equal(j.Node.Name, e.name, state);
    if (state === 'ported') assert.ok(JSON.stringify(j.NetworkSettings.Ports).includes(`"HostIp":"${e.ip}"`));
    if (state === 'paused') assert.equal(j.State.Paused, true);
    if (state === 'networked') assert.ok(j.NetworkSettings.Networks[net]);
  }
  // The fastify route (trailing slash) answers from the same cache, the same bytes.
  const viaRouter = await apiCall(m.host, 'GET', `/v1.41/containers/${states.running}/json/`);
  assert.equal(viaRouter.text, (await proxied(states.running)).text);
});

test('changes made straight on the engine show in the next manager inspect once their event arrived', async () => {
  const id = await createDirect(['sleep', '300']);
  const net = uniqueName('icnet');
  await direct('POST', '/networks/create', { Name: net, Driver: 'bridge' });
  networks.push(net);
  const newName = uniqueName('icache-new');
  const steps: { what: string; event: string; change: () => Promise<unknown>; check: (j: DockerJson) => void }[] = [
    { what: 'pause', event: 'pause', change: () => direct('POST', `/containers/${id}/pause`), check: (j) => assert.equal(j.State.Paused, true) },
    { what: 'unpause', event: 'unpause', change: () => direct('POST', `/containers/${id}/unpause`), check: (j) => assert.equal(j.State.Paused, false) },
    { what: 'rename', event: 'rename', change: () => direct('POST', `/containers/${id}/rename?name=${newName}`), check: (j) => assert.equal(j.Name, `/${newName}`) },
    { what: 'update', event: 'update', change: () => direct('POST', `/containers/${id}/update`, { CpuShares: 512 }), check: (j) => assert.equal(j.HostConfig.CpuShares, 512) },
    { what: 'network connect', event: 'connect', change: () => direct('POST', `/networks/${net}/connect`, { Container: id }), check: (j) => assert.ok(j.NetworkSettings.Networks[net], `connected to ${net}`) },
    { what: 'stop', event: 'stop', change: () => direct('POST', `/containers/${id}/stop?t=0`), check: (j) => assert.equal(j.State.Running, false) },
    { what: 'start', event: 'start', change: () => direct('POST', `/containers/${id}/start`), check: (j) => assert.equal(j.State.Running, true) },
    // Last: a running exec keeps the container out of the cache (its ExecIDs move on exec_die).
    {
      what: 'exec', event: 'exec_start',
      change: async () => {
        const ex = JSON.parse(await direct('POST', `/containers/${id}/exec`, { Cmd: ['sleep', '300'] })) as { Id: string };
        await direct('POST', `/exec/${ex.Id}/start`, { Detach: true });
      },
      check: (j) => assert.equal(j.ExecIDs?.length, 1),
    },
  ];
  // Every check has a message: a bare assert.ok that fails (as these must before the change) makes
  // Node re-parse this file's source with acorn to word its message, which on this tsx-loaded file
  // took over two minutes of CPU.
  for (const step of steps) {
    const old = await cachedInspect(id); // the cache holds the state before the change
    assert.throws(() => step.check(JSON.parse(old.text)), Error, `${step.what}: already visible before the change`);
    const seen = managerEvent(id, step.event);
    await step.change();
    await seen;
    const now = await inspect(id);
    assert.equal(now.hit, false, `${step.what}: answered from the cache after its event`);
    step.check(JSON.parse(now.text));
    if (step.what === 'exec') assert.equal((await inspect(id)).hit, false);
  }
});

test('a container with a health check is never answered from the cache (its Health.Log moves without events)', async () => {
  const id = await createDirect(['sleep', '300'], { Healthcheck: { Test: ['CMD', 'true'], Interval: 300_000_000, Timeout: 1_000_000_000, Retries: 1 } }, false);
  const healthy = managerEvent(id, 'health_status');
  await direct('POST', `/containers/${id}/start`);
  await healthy;
  const hits = cache().hits;
  const first = JSON.parse((await inspect(id)).text);
  // Two more probes: the first one's result is logged before the second one runs.
  await managerEvent(id, 'exec_die');
  await managerEvent(id, 'exec_die');
  const later = JSON.parse((await inspect(id)).text);
  assert.equal(cache().hits, hits);
  const last = (j: DockerJson) => j.State.Health.Log.at(-1).Start;
  assert.notEqual(last(later), last(first));
});

test('?size=1 always goes to the engine', async () => {
  const id = await createDirect(['sleep', '300']);
  const cached = JSON.parse((await cachedInspect(id)).text);
  assert.equal(cached.SizeRw, undefined);
  const sized = await inspect(id, '?size=1');
  assert.equal(sized.hit, false);
  assert.equal(typeof JSON.parse(sized.text).SizeRw, 'number');
});

test('writes through the manager are read back at once, before their events arrive', async () => {
  const id = await createDirect(['sleep', '300']);
  await cachedInspect(id);
  assert.equal((await apiCall(m.host, 'POST', `/containers/${id}/pause`)).status, 204);
  assert.equal(JSON.parse((await inspect(id)).text).State.Paused, true);
  await cachedInspect(id);
  assert.equal((await apiCall(m.host, 'POST', `/containers/${id}/unpause`)).status, 204);
  assert.equal(JSON.parse((await inspect(id)).text).State.Paused, false);
  // A network connect names its container in the body: every cached inspect is dropped.
  const net = uniqueName('icnet');
  await direct('POST', '/networks/create', { Name: net, Driver: 'bridge' });
  networks.push(net);
  const deadline = Date.now() + 20_000;
  while ((await apiCall(m.host, 'GET', `/networks/${net}`)).status !== 200) {
    assert.ok(Date.now() < deadline, 'the manager never saw the new network');
    await new Promise((res) => setTimeout(res, 50));
  }
  await cachedInspect(id);
  const r = await apiCall(m.host, 'POST', `/networks/${net}/connect`, { Container: id });
  assert.equal(r.status, 200, r.text);
  const j = JSON.parse((await inspect(id)).text);
  assert.ok(j.NetworkSettings.Networks[net]);
});

test('no cached answer while the engine event stream is down', async () => {
  const id = await createDirect(['sleep', '300']);
  await cachedInspect(id);
  const engine = m.cluster.engines().find((x) => x.name === e.name) as unknown as { stopEvents(): void; startEvents(): void; eventsConnectedSince(): number | undefined };
  engine.stopEvents();
  try {
    for (let i = 0; i < 3; i++) assert.equal((await inspect(id)).hit, false);
  } finally {
    engine.startEvents();
  }
  const deadline = Date.now() + 10_000;
  while (engine.eventsConnectedSince() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await cachedInspect(id); // cached again under the new stream
});
