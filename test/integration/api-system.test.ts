/**
 * System routes through docker CLI 28: version negotiation, the `docker info` layout (SystemStatus
 * lines), merged events with node fields, and the `POST /swarm/plan` explain route.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dockerCli } from '../cluster/index.ts';
import { DOCKER_BIN } from '../cluster/busybox.ts';
import { apiCall, startTestManager, uniqueName, type TestManager } from './api-manager.ts';

let m: TestManager;
const docker = (...args: string[]) => dockerCli(m.host, args);
async function ok(...args: string[]): Promise<string> {
  const r = await docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

before(async () => { m = await startTestManager(); });
after(async () => { await m?.stop(); });

test('docker version negotiates down to the advertised API version', async () => {
  const out = await ok('version');
  assert.match(out, /API version:\s+1\.41 \(downgraded from 1\.\d+\)/);
  assert.match(out, /Server: Docker Swarm - Community/);
  assert.match(out, /Version:\s+swarm\/1\.2\.9/);
  assert.match(out, /API version:\s+1\.41 \(minimum version 1\.12\)/);
  const ping = await apiCall(m.host, 'HEAD', '/_ping');
  assert.equal(ping.status, 200);
  assert.equal(ping.headers['api-version'], '1.41');
});

test('docker info renders the SystemStatus block in the legacy layout', async () => {
  const out = await ok('info');
  const lines = out.split('\n');
  const at = (prefix: string) => lines.findIndex((l) => l === prefix || l.startsWith(prefix));
  assert.ok(at(' Server Version: swarm/1.2.9') >= 0, out);
  const role = at(' Role: primary');
  assert.ok(role > at(' Server Version: swarm/1.2.9'));
  assert.equal(lines[role + 1], ' Strategy: spread');
  assert.equal(lines[role + 2], ' Filters: health, port, containerslots, dependency, affinity, constraint, whitelist');
  assert.equal(lines[role + 3], ` Nodes: ${m.engines.length}`);
  let i = role + 4;
  const sorted = [...m.engines].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  for (const e of sorted) {
    assert.equal(lines[i++], `  ${e.name}: ${e.addr}`);
    assert.match(lines[i++], new RegExp(`^   └ ID: [A-Z0-9:]+\\|${e.addr.replace(/\./g, '\\.')}$`));
    assert.equal(lines[i++], '   └ Status: Healthy');
    assert.match(lines[i++], /^   └ Containers: \d+ \(\d+ Running, \d+ Paused, \d+ Stopped\)$/);
    assert.match(lines[i++], /^   └ Reserved CPUs: \d+ \/ \d+$/);
    assert.match(lines[i++], /^   └ Reserved Memory: [\d.]+ [KMGT]?i?B \/ [\d.]+ [KMGT]i?B$/);
    const labels = lines[i++];
    assert.match(labels, /^   └ Labels: /);
    for (const [k, v] of Object.entries(e.labels)) assert.ok(labels.includes(`${k}=${v}`), labels);
    assert.match(labels, /ostype=linux/);
    assert.match(lines[i++], /^   └ UpdatedAt: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(lines[i++], /^   └ ServerVersion: 20\./);
  }
  assert.ok(lines.includes(' Swarm: inactive'));
  assert.ok(lines.includes('  Volume: local'), 'plugins are the union of the engines\' plugins');
  assert.match(out, /\n  Network: .*bridge/);
  assert.ok(!out.includes('NodeID'), 'no swarm-mode details');
  assert.doesNotMatch(out, /WARNING|ERROR/);
});

test('events merge every engine\'s stream and carry node fields', async () => {
  const name = uniqueName('ev');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DOCKER_')) env[k] = v;
  const child = spawn(DOCKER_BIN, ['events', '--format', '{{json .}}'], { env: { ...env, DOCKER_HOST: m.host } });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  try {
    // Wait for the subscription (NEventsListener counts it), then cause events on one node.
    for (let i = 0; i < 100; i++) {
      const info = await apiCall(m.host, 'GET', '/v1.41/info');
      if (info.json().NEventsListener > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await ok('run', '--rm', '--name', name, 'busybox', 'true');
    for (let i = 0; i < 100 && !/"Action":"destroy"/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
  } finally {
    child.kill();
  }
  // The subscriber going away is noticed: NEventsListener drops back.
  let listeners = -1;
  for (let i = 0; i < 100 && listeners !== 0; i++) {
    listeners = (await apiCall(m.host, 'GET', '/v1.41/info')).json().NEventsListener;
    if (listeners !== 0) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(listeners, 0);
  const events = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>) // eslint-disable-line @typescript-eslint/no-explicit-any
    .filter((e) => e.Actor?.Attributes?.name === name);
  const actions = events.map((e) => e.Action);
  for (const a of ['create', 'start', 'die', 'destroy']) assert.ok(actions.includes(a), `${a} in ${actions.join(',')}`);
  const start = events.find((e) => e.Action === 'start')!;
  const node = m.engines.find((e) => e.name === start.Actor.Attributes['node.name']);
  assert.ok(node, 'node.name names a node');
  assert.equal(start.Actor.Attributes['node.addr'], node.addr);
  assert.equal(start.Actor.Attributes['node.ip'], node.ip);
  assert.match(start.from, new RegExp(` node:${node.name}$`));
});

test('events with until in the past end at once', async () => {
  const r = await docker('events', '--until', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
});

test('POST /swarm/plan explains a placement without creating anything', async () => {
  const target = m.engines[1];
  const name = uniqueName('plan');
  const plan = await apiCall(m.host, 'POST', `/v1.41/swarm/plan?name=${name}`, { Image: 'busybox', Env: [`constraint:node==${target.name}`] });
  assert.equal(plan.status, 200, plan.text);
  const body = plan.json();
  assert.equal(body.node.name, target.name);
  const rejected = new Set(body.rejected.map((r: { node: string }) => r.node));
  assert.equal(rejected.size, m.engines.length - 1);
  assert.equal((await docker('inspect', name)).code, 1, 'nothing was created');
  const none = await apiCall(m.host, 'POST', '/v1.41/swarm/plan', { Image: 'busybox', Env: ['constraint:node==no-such-node'] });
  assert.equal(none.status, 200);
  assert.equal(none.json().node, undefined);
  assert.match(none.json().error, /Unable to find a node that satisfies the following conditions/);
});

test('with --cors, proxied and streamed answers carry the CORS headers too', async () => {
  const { startApi } = await import('../../core/api/index.ts');
  const cors = await startApi({ core: m.core, cluster: m.cluster, hosts: ['tcp://127.0.0.1:0'], cors: true });
  try {
    const host = cors.addresses[0];
    const name = uniqueName('cors');
    const created = await apiCall(host, 'POST', `/v1.41/containers/create?name=${name}`, { Image: 'busybox', Cmd: ['true'] });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(Object.keys(created.json()).sort(), ['Id', 'Warnings']);
    const inspect = await apiCall(host, 'GET', `/v1.41/containers/${name}/json`);
    assert.equal(inspect.status, 200);
    assert.equal(inspect.headers['access-control-allow-origin'], '*');
    assert.equal(inspect.headers['api-version'], '1.41');
    const rm = await apiCall(host, 'DELETE', `/v1.41/containers/${name}?force=1`);
    assert.equal(rm.status, 204);
    const events = await apiCall(host, 'GET', '/v1.41/events?until=1');
    assert.equal(events.headers['access-control-allow-origin'], '*');
  } finally {
    await cors.close();
  }
});

test('reservations show up in docker info: -m and -c count memory and CPUs on the chosen node', async () => {
  const node = m.engines[0];
  const units: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };
  const reserved = async () => {
    const lines = (await ok('info')).split('\n');
    const at = lines.indexOf(`  ${node.name}: ${node.addr}`);
    const cpu = /^   └ Reserved CPUs: (\d+) \/ (\d+)$/.exec(lines[at + 4]);
    const mem = /^   └ Reserved Memory: ([\d.]+) (\w+) \/ ([\d.]+) (\w+)$/.exec(lines[at + 5]);
    assert.ok(cpu && mem, lines.slice(at, at + 7).join('\n'));
    return { cpus: Number(cpu[1]), memory: Number(mem[1]) * units[mem[2]] };
  };
  const before = await reserved();
  const name = uniqueName('resv');
  try {
    await ok('run', '-d', '--name', name, '-m', '64m', '-c', '1', '-e', `constraint:node==${node.name}`, 'busybox', 'sleep', '300');
    const after = await reserved();
    assert.equal(after.cpus, before.cpus + 1);
    // 4 significant digits: the difference is 64 MiB up to the rounding of the larger figure
    assert.ok(Math.abs(after.memory - before.memory - 64 * 1024 ** 2) <= Math.max(after.memory, 1) / 1000, `${before.memory} → ${after.memory}`);
  } finally {
    await docker('rm', '-f', name);
  }
});
