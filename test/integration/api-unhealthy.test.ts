/**
 * A node that stops answering (own engines, one is stopped): calls on its containers answer 500
 * `Container <name> running on unhealthy node <node>`, `docker ps` hides them and `ps -a` shows
 * `Host Down`, `docker info` shows the node Unhealthy with its error before UpdatedAt; once the
 * engine is back everything works again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerCli, restartEngine, startEngines, stopEngine, type EngineGroup } from '../cluster/index.ts';
import { apiCall, startTestManager, uniqueName, type TestManager } from './api-manager.ts';

let group: EngineGroup;
let m: TestManager;
const docker = (...args: string[]) => dockerCli(m.host, args);

async function until(what: string, fn: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

before(async () => {
  group = await startEngines({ reuse: false, count: 2, ips: ['127.0.0.45', '127.0.0.46'], names: ['unh-1', 'unh-2'] });
  m = await startTestManager({ engines: group.engines });
});
after(async () => {
  await m?.stop();
  await group?.stop();
});

test('containers on an unhealthy node: 500 on calls, hidden from ps, Host Down with -a; back when it recovers', async () => {
  const [, down] = group.engines;
  const name = uniqueName('unh');
  const run = await docker('run', '-d', '--name', name, '-e', `constraint:node==${down.name}`, 'busybox', 'sleep', '600');
  assert.equal(run.code, 0, run.stderr);

  await stopEngine(down);
  await until('the node to be flagged unhealthy', async () => m.cluster.engine(down.addr)?.state === 'unhealthy');

  const logs = await docker('logs', name);
  assert.notEqual(logs.code, 0);
  assert.match(logs.stderr, new RegExp(`Container ${name} running on unhealthy node ${down.name}`));
  const api = await apiCall(m.host, 'GET', `/v1.41/containers/${name}/json`);
  assert.equal(api.status, 500);
  assert.deepEqual(api.json(), { message: `Container ${name} running on unhealthy node ${down.name}` });

  const ps = await docker('ps', '--filter', `name=${name}`, '--format', '{{.Names}}');
  assert.equal(ps.stdout.trim(), '');
  const psa = await docker('ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}} {{.Status}}');
  assert.equal(psa.stdout.trim(), `${down.name}/${name} Host Down`);

  const info = (await docker('info')).stdout.split('\n');
  const at = info.indexOf(`  ${down.name}: ${down.addr}`);
  assert.ok(at > 0, info.join('\n'));
  const block = info.slice(at + 1, at + 11);
  assert.equal(block[1], '   └ Status: Unhealthy');
  assert.match(block[2], /^   └ Containers: \d+$/, 'no running/paused/stopped detail when not healthy');
  const error = block.findIndex((l) => l.startsWith('   └ Error: '));
  const updated = block.findIndex((l) => l.startsWith('   └ UpdatedAt: '));
  assert.ok(error > 0 && updated === error + 1, block.join('\n'));

  await restartEngine(down);
  await until('the node to recover', async () => m.cluster.engine(down.addr)?.state === 'healthy');
  const again = await docker('inspect', '-f', '{{.Node.Name}}', name);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout.trim(), down.name);
  assert.equal((await docker('rm', '-f', name)).code, 0);
});
