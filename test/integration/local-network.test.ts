/**
 * The automatic local-network constraint (§4.4) end to end: a `swarm manage` child process over
 * the shared engines, the real docker CLI 28. A bridge network created as `node-2/<net>` exists on
 * node-2 only; `docker run --net node-2/<net>` (and `--net <net>` when the name is unique) lands
 * there with NetworkMode rewritten to the bare name and `node/` stripped from the endpoint key
 * (its alias survives); a hard node constraint elsewhere wins over the automatic soft one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerCli, startEngines, startManager, type EngineGroup, type ManagerProcess, type TestEngine } from '../cluster/index.ts';

const NET = `lnet-${process.pid}`;
let group: EngineGroup | undefined;
let engines: TestEngine[] = [];
let manager: ManagerProcess | undefined;
const containers: string[] = [];
let networkCreated = false;

function cname(suffix: string): string {
  const n = `lnetc-${process.pid}-${suffix}`;
  containers.push(n);
  return n;
}

async function ok(host: string, ...args: string[]): Promise<string> {
  const r = await dockerCli(host, args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

const swarm = (...args: string[]) => ok(manager!.host, ...args);

before(async () => {
  group = await startEngines();
  engines = group.engines;
  assert.deepEqual(engines.map((e) => e.name), ['node-1', 'node-2', 'node-3']);
  manager = await startManager([
    '--engine-refresh-min-interval', '1s', '--engine-refresh-max-interval', '2s',
    `nodes://${engines.map((e) => e.addr).join(',')}`,
  ], { timeoutMs: 120_000 });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const info = await dockerCli(manager.host, ['info']);
    if ((info.stdout.match(/Status: Healthy/g) ?? []).length === 3) break;
    if (Date.now() > deadline) throw new Error(`engines not healthy through the manager:\n${info.stdout}\n${manager.logs()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
});

after(async () => {
  if (manager) {
    if (containers.length > 0) await dockerCli(manager.host, ['rm', '-f', ...containers]);
    if (networkCreated) await dockerCli(manager.host, ['network', 'rm', `node-2/${NET}`]);
    await manager.stop();
  }
  await group?.stop(); // shared engines: does nothing
});

test('network create -d bridge node-2/<net> creates it on node-2 only', async () => {
  const id = await swarm('network', 'create', '-d', 'bridge', `node-2/${NET}`);
  networkCreated = true;
  assert.match(id, /^[0-9a-f]{64}$/);
  for (const e of engines) {
    const names = await ok(e.host, 'network', 'ls', '--filter', `name=^${NET}$`, '--format', '{{.Name}} {{.ID}}');
    assert.equal(names, e.name === 'node-2' ? `${NET} ${id.slice(0, 12)}` : '', `networks of ${e.name}`);
  }
  assert.equal(await swarm('network', 'ls', '--filter', `name=${NET}`, '--format', '{{.Name}}'), `node-2/${NET}`);
});

test('run --net node-2/<net> lands on node-2 with the bare network name, a soft node constraint and the endpoint alias', async () => {
  const c = cname('prefixed');
  await swarm('run', '-d', '--name', c, '--net', `node-2/${NET}`, '--network-alias', `alias-${process.pid}`, 'busybox', 'sleep', '60');
  assert.equal(await swarm('inspect', '-f', '{{.Node.Name}}', c), 'node-2');
  assert.equal(await swarm('inspect', '-f', '{{.HostConfig.NetworkMode}}', c), NET);
  assert.equal(await swarm('inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', c), NET);
  const aliases = await swarm('inspect', '-f', `{{range (index .NetworkSettings.Networks "${NET}").Aliases}}{{.}} {{end}}`, c);
  assert.ok(aliases.split(' ').includes(`alias-${process.pid}`), `aliases: ${aliases}`);
  assert.equal(await swarm('inspect', '-f', '{{index .Config.Labels "com.docker.swarm.constraints"}}', c), '["node==~node-2"]');
});

test('run --net <net> (bare, unique in the cluster) and --net <network ID> also land on node-2', async () => {
  const bare = cname('bare');
  await swarm('run', '-d', '--name', bare, '--net', NET, 'busybox', 'sleep', '60');
  assert.equal(await swarm('inspect', '-f', '{{.Node.Name}}', bare), 'node-2');
  assert.equal(await swarm('inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}', bare), NET);

  const id = await swarm('network', 'inspect', '-f', '{{.Id}}', `node-2/${NET}`);
  const byId = cname('byid');
  await swarm('run', '-d', '--name', byId, '--net', id, 'busybox', 'sleep', '60');
  assert.equal(await swarm('inspect', '-f', '{{.Node.Name}}', byId), 'node-2');
  assert.equal(await swarm('inspect', '-f', '{{.HostConfig.NetworkMode}}', byId), NET);
});

test('a hard node constraint elsewhere wins: no automatic constraint, the engine there lacks the network', async () => {
  const c = cname('hard');
  const r = await dockerCli(manager!.host, ['run', '-d', '--name', c, '-e', 'constraint:node==node-3', '--net', `node-2/${NET}`, 'busybox', 'sleep', '60']);
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, new RegExp(`network ${NET} not found`));
});
