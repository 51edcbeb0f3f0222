/**
 * What the manager answers from its cache (`ps`, `/info`) and its shortcuts (inspect and ps without
 * fastify) against real engines, with the periodic refresh pushed out to a minute so only the
 * manager's own bookkeeping and the engines' events keep the cache current: ps right after a
 * create, start and rm through the manager, ps after changes made straight on an engine, the Status
 * text following the clock, inspect equal to the engine's own plus `Node`, and the same answers
 * and errors as the fastify routes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { engineGet, type TestEngine } from '../cluster/index.ts';
import { apiCall, startTestManager, uniqueName, type TestManager } from './api-manager.ts';

let m: TestManager;
const label = `com.example.api-cache=${uniqueName('run')}`;
const [labelKey, labelValue] = label.split('=');
const mine = encodeURIComponent(JSON.stringify({ label: [label] }));

before(async () => {
  m = await startTestManager({ cluster: { refreshMinInterval: 60_000, refreshMaxInterval: 120_000 } });
});
after(async () => {
  if (!m) return;
  const list = await apiCall(m.host, 'GET', `/containers/json?all=1&filters=${mine}`);
  for (const c of list.json() as { Id: string }[]) await apiCall(m.host, 'DELETE', `/containers/${c.Id}?force=1`);
  await m.stop();
});

type Row = { Id: string; Names: string[]; State: string; Status: string };

async function ps(): Promise<Row[]> {
  const r = await apiCall(m.host, 'GET', `/v1.41/containers/json?all=1&filters=${mine}`);
  assert.equal(r.status, 200, r.text);
  return r.json();
}

async function create(cmd: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const r = await apiCall(m.host, 'POST', `/v1.41/containers/create?name=${uniqueName('cache')}`, { Image: 'busybox', Cmd: cmd, Labels: { [labelKey]: labelValue }, ...extra });
  assert.equal(r.status, 201, r.text);
  return r.json().Id;
}

/** Straight to an engine, bypassing the manager. */
function engineCall(e: TestEngine, method: string, path: string, body?: unknown) {
  return apiCall(e.host, method, path, body);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('ps right after create, start and rm through the manager', async () => {
  const id = await create(['sleep', '300']);
  assert.equal((await ps()).find((r) => r.Id === id)?.State, 'created');
  const s = await apiCall(m.host, 'POST', `/v1.41/containers/${id}/start`);
  assert.equal(s.status, 204, s.text);
  const row = (await ps()).find((r) => r.Id === id);
  assert.equal(row?.State, 'running');
  assert.match(row!.Status, /^Up /);
  const info = (await apiCall(m.host, 'GET', '/info')).json();
  assert.ok(info.ContainersRunning >= 1);
  // Starting it again: the engine's 304 is a success for the client, as before.
  assert.equal((await apiCall(m.host, 'POST', `/containers/${id}/start`)).status, 204);
  assert.equal((await apiCall(m.host, 'DELETE', `/containers/${id}?force=1`)).status, 204);
  assert.equal((await ps()).find((r) => r.Id === id), undefined);
});

test('ps right after a create lists what the engine says: the image ID and the image default command', async () => {
  // No Cmd: the command comes from the image, which only the engine's inspect tells.
  const r = await apiCall(m.host, 'POST', `/v1.41/containers/create?name=${uniqueName('cache')}`, { Image: 'busybox', Labels: { [labelKey]: labelValue } });
  assert.equal(r.status, 201, r.text);
  const id = r.json().Id as string;
  const row = (await ps()).find((x) => x.Id === id) as (Row & { ImageID: string; Command: string }) | undefined;
  assert.ok(row, 'listed');
  assert.match(row.ImageID, /^sha256:/);
  assert.equal(row.Command, 'sh');
});

test('a container that exits at once is never listed as created after its start answered', async () => {
  for (let i = 0; i < 3; i++) {
    const id = await create(['true']);
    assert.equal((await apiCall(m.host, 'POST', `/containers/${id}/start`)).status, 204);
    const state = (await ps()).find((r) => r.Id === id)?.State;
    assert.ok(state === 'running' || state === 'exited', `state after start: ${state}`);
    await until('exited in ps', async () => ((await ps()).find((r) => r.Id === id)?.State === 'exited' ? true : undefined));
  }
  // A start the engine refuses keeps the engine's status and message.
  const missing = await apiCall(m.host, 'POST', '/containers/no-such-container-here/start');
  assert.equal(missing.status, 404);
});

test('changes made straight on an engine reach ps through its events', async () => {
  const e = m.engines[1];
  const name = uniqueName('direct');
  const c = await engineCall(e, 'POST', `/v1.41/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['sleep', '300'], Labels: { [labelKey]: labelValue } });
  assert.equal(c.status, 201, c.text);
  const id = c.json().Id as string;
  // The cache was asked before (an answer for this query may be cached): it must not stick.
  await ps();
  await until('the direct create in ps', async () => ((await ps()).find((r) => r.Id === id) ? true : undefined));
  assert.equal((await engineCall(e, 'POST', `/v1.41/containers/${id}/start`)).status, 204);
  await until('running in ps', async () => ((await ps()).find((r) => r.Id === id)?.State === 'running' ? true : undefined));
  assert.equal((await engineCall(e, 'POST', `/v1.41/containers/${id}/stop?t=0`)).status, 204);
  await until('exited in ps', async () => ((await ps()).find((r) => r.Id === id)?.State === 'exited' ? true : undefined));
  assert.equal((await engineCall(e, 'DELETE', `/v1.41/containers/${id}?force=1`)).status, 204);
  await until('gone from ps', async () => ((await ps()).find((r) => r.Id === id) ? undefined : true));
});

test('the Status text of a cached row follows the clock', async () => {
  const id = await create(['sleep', '300']);
  assert.equal((await apiCall(m.host, 'POST', `/containers/${id}/start`)).status, 204);
  const first = (await ps()).find((r) => r.Id === id)!.Status;
  await new Promise((r) => setTimeout(r, 2_100));
  const later = (await ps()).find((r) => r.Id === id)!.Status;
  assert.notEqual(later, first);
  assert.match(later, /^Up \d+ seconds$/);
});

test('inspect through the manager is the engine inspect plus Node; unspecified HostIps become the node IP', async () => {
  const plain = await create(['true']);
  const ported = await create(['sleep', '300'], { ExposedPorts: { '80/tcp': {} }, HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '' }] } } });
  for (const id of [plain, ported]) assert.equal((await apiCall(m.host, 'POST', `/containers/${id}/start`)).status, 204);
  await until('plain exited', async () => ((await ps()).find((r) => r.Id === plain)?.State === 'exited' ? true : undefined));
  for (const id of [plain, ported]) {
    const viaManager = await apiCall(m.host, 'GET', `/v1.41/containers/${id}/json`);
    assert.equal(viaManager.status, 200);
    assert.match(String(viaManager.headers['content-type']), /^application\/json/);
    assert.ok(viaManager.headers['api-version']);
    const got = viaManager.json();
    const node = m.engines.find((e) => e.name === got.Node.Name)!;
    assert.equal(got.Node.IP, node.ip);
    const direct = JSON.parse((await engineGet(node, `/v1.41/containers/${id}/json`)).body);
    const { Node: _node, ...rest } = got;
    for (const bindings of Object.values((direct.NetworkSettings?.Ports ?? {}) as Record<string, { HostIp: string }[] | null>)) {
      for (const b of bindings ?? []) if (b.HostIp === '' || b.HostIp === '0.0.0.0' || b.HostIp === '::') b.HostIp = node.ip;
    }
    if (id === ported) assert.ok(JSON.stringify(got.NetworkSettings.Ports).includes(node.ip));
    // The ported one is running: its State (times) does not move, so the two answers are equal.
    assert.deepEqual(rest, direct);
  }
});

test('the shortcut routes answer as the fastify routes do, errors included', async () => {
  const id = await create(['true']);
  const viaShortcut = await apiCall(m.host, 'GET', `/v1.41/containers/json?all=1&filters=${mine}`);
  const viaFastify = await apiCall(m.host, 'GET', `/v1.41/containers/json/?all=1&filters=${mine}`); // trailing slash: the router
  // The two calls may fall on either side of a second: only the age in Status may differ.
  const stable = (t: string) => t.replace(/("Status":"[^"]*?)(Less than a second|About an? [a-z]+|\d+ [a-z]+)( ago)?"/g, '$1<age>$3"');
  assert.equal(stable(viaShortcut.text), stable(viaFastify.text));
  assert.match(viaShortcut.text, /"Status":"Exited \(0\) /);
  assert.equal(viaShortcut.headers['content-type'], viaFastify.headers['content-type']);
  assert.equal(viaShortcut.headers['api-version'], viaFastify.headers['api-version']);
  const insp1 = await apiCall(m.host, 'GET', `/containers/${id}/json`);
  const insp2 = await apiCall(m.host, "GET", `/containers/${id}/json/`); // trailing slash: the router
  assert.deepEqual(insp1.json(), insp2.json());

  const badFilter = await apiCall(m.host, 'GET', `/containers/json?filters=${encodeURIComponent(JSON.stringify({ status: ['bogus'] }))}`);
  assert.equal(badFilter.status, 400);
  assert.equal(badFilter.headers['content-type'], 'application/json');
  assert.equal(badFilter.json().message, 'Unrecognised filter value for status: bogus');
  const tooNew = await apiCall(m.host, 'GET', '/v9.99/containers/json');
  assert.equal(tooNew.status, 400);
  assert.match(tooNew.json().message, /client version 9.99 is too new/);
  const unknown = await apiCall(m.host, 'GET', '/v1.41/containers/no-such-one-here/json');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json().message, 'No such container: no-such-one-here');
});
