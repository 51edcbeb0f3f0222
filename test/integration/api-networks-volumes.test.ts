/**
 * Networks and volumes through docker CLI 28: local networks shown as `node/name`, create on one
 * node with `node/name`, connect/disconnect on the container's engine, the legacy `overlay`
 * default refused by engines without a cluster store; volumes created on every node, on one
 * (`node/name`) or on the whitelisted ones, listed per node and removed everywhere.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerCli } from '../cluster/index.ts';
import { apiCall, startTestManager, uniqueName, type TestManager } from './api-manager.ts';

let m: TestManager;
const cleanup: string[][] = [];
const docker = (...args: string[]) => dockerCli(m.host, args);

async function ok(...args: string[]): Promise<string> {
  const r = await docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}
const lines = (s: string) => s.trim().split('\n').filter(Boolean).sort();

before(async () => { m = await startTestManager(); });
after(async () => {
  for (const c of cleanup.reverse()) await docker(...c);
  await m?.stop();
});

test('network ls shows every node\'s local networks as node/name', async () => {
  const names = lines(await ok('network', 'ls', '--format', '{{.Name}} {{.Driver}}'));
  for (const e of m.engines) {
    assert.ok(names.includes(`${e.name}/bridge bridge`), names.join('\n'));
    assert.ok(names.includes(`${e.name}/host host`));
  }
  const one = lines(await ok('network', 'ls', '--filter', `node=${m.engines[0].name}`, '--filter', 'type=builtin', '--format', '{{.Name}}'));
  assert.deepEqual(one, [`${m.engines[0].name}/bridge`, `${m.engines[0].name}/host`, `${m.engines[0].name}/none`]);
});

test('network create node/name, connect, disconnect and rm', async () => {
  const node = m.engines[1].name;
  const net = uniqueName('net');
  cleanup.push(['network', 'rm', `${node}/${net}`]);
  const id = (await ok('network', 'create', '-d', 'bridge', `${node}/${net}`)).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.deepEqual(lines(await ok('network', 'ls', '--filter', `name=${net}`, '--format', '{{.Name}}')), [`${node}/${net}`]);
  assert.equal((await ok('network', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Id}}', `${node}/${net}`)).trim(), `${net} bridge ${id}`);

  const c = uniqueName('netc');
  cleanup.push(['rm', '-f', c]);
  await ok('run', '-d', '--name', c, '-e', `constraint:node==${node}`, 'busybox', 'sleep', '300');
  await ok('network', 'connect', `${node}/${net}`, c);
  const nets = await ok('inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', c);
  assert.deepEqual(nets.trim().split(' ').sort(), ['bridge', net].sort());
  await ok('network', 'disconnect', `${node}/${net}`, c);
  assert.equal((await ok('inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', c)).trim(), 'bridge');

  await ok('network', 'rm', `${node}/${net}`);
  assert.deepEqual(lines(await ok('network', 'ls', '--filter', `name=${net}`, '--format', '{{.Name}}')), []);
  const again = await docker('network', 'rm', `${node}/${net}`);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /No such network/);
});

test('the default driver is overlay, as in the original, which these engines refuse', async () => {
  const r = await apiCall(m.host, 'POST', '/v1.41/networks/create', { Name: uniqueName('ovl') });
  assert.ok(r.status >= 400, r.text);
  assert.match(r.json().message, /swarm/);
});

test('volume create on every node, on one node, on whitelisted nodes; ls, inspect, rm', async () => {
  const everywhere = uniqueName('vol');
  cleanup.push(['volume', 'rm', everywhere]);
  assert.equal((await ok('volume', 'create', everywhere)).trim(), everywhere);
  assert.deepEqual(lines(await ok('volume', 'ls', '--filter', `name=${everywhere}`, '--format', '{{.Name}}')),
    m.engines.map((e) => `${e.name}/${everywhere}`).sort());
  const first = m.engines[0].name;
  assert.equal((await ok('volume', 'inspect', '-f', '{{.Name}} {{.Driver}}', `${first}/${everywhere}`)).trim(), `${everywhere} local`);
  assert.deepEqual(lines(await ok('volume', 'ls', '--filter', `name=${everywhere}`, '--filter', `node=${first}`, '--format', '{{.Name}}')),
    [`${first}/${everywhere}`]);

  const single = uniqueName('vol1');
  cleanup.push(['volume', 'rm', `${first}/${single}`]);
  await ok('volume', 'create', `${first}/${single}`);
  assert.deepEqual(lines(await ok('volume', 'ls', '--filter', `name=${single}`, '--format', '{{.Name}}')), [`${first}/${single}`]);

  const picked = [m.engines[0].name, m.engines[m.engines.length - 1].name];
  const white = uniqueName('volw');
  cleanup.push(['volume', 'rm', white]);
  await ok('volume', 'create', '--label', `com.docker.swarm.whitelists=["node==${picked.join('|')}"]`, white);
  assert.deepEqual(lines(await ok('volume', 'ls', '--filter', `name=${white}`, '--format', '{{.Name}}')), picked.map((n) => `${n}/${white}`).sort());

  await ok('volume', 'rm', everywhere, `${first}/${single}`, white);
  for (const v of [everywhere, single, white]) {
    assert.deepEqual(lines(await ok('volume', 'ls', '--filter', `name=${v}`, '--format', '{{.Name}}')), []);
  }
  const missing = await docker('volume', 'rm', everywhere);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /No such volume/);
});

test('a volume without a name gets one random name on every node', async () => {
  const name = (await ok('volume', 'create')).trim();
  cleanup.push(['volume', 'rm', name]);
  assert.match(name, /^[0-9a-f]{64}$/);
  assert.deepEqual(lines(await ok('volume', 'ls', '--filter', `name=${name}`, '--format', '{{.Name}}')),
    m.engines.map((e) => `${e.name}/${name}`).sort());
});
