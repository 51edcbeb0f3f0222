/**
 * Faults, on engines of our own (reuse:false) behind a manager with short refresh intervals and a
 * short --engine-timeout:
 * (a) an engine that hangs (SIGSTOP): calls about its containers fail with a clear error instead
 *     of hanging, `docker info` flags it Unhealthy, new containers go elsewhere; SIGCONT → Healthy,
 *     its containers usable again;
 * (b) an engine whose dockerd is killed in the middle of a long request (`docker logs -f`): the
 *     client's stream ends at once, the manager keeps serving, the node turns Unhealthy, and a
 *     restarted engine comes back Healthy on its own.
 * Store outages are covered by the discovery tests (discovery-kv-scenarios.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { dockerCli, restartEngine, startEngines, startManager, type ManagerProcess, type TestEngine } from '../cluster/index.ts';

/** Generous bound for calls that must fail fast (the engine timeout is 8s): a hang would hit it. */
const PROMPT = 40_000;

let engines: TestEngine[] = [];
let stopEngines: () => Promise<void> = async () => {};
let manager: ManagerProcess;
const stopped = new Set<number>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cname = (s: string) => `faults-${s}-${process.pid}`;

before(async () => {
  const group = await startEngines({ count: 3, reuse: false, ips: ['127.0.0.240', '127.0.0.241', '127.0.0.242'] });
  engines = group.engines;
  stopEngines = group.stop;
  manager = await startManager([
    '--engine-refresh-min-interval', '1s', '--engine-refresh-max-interval', '1s', '--engine-failure-retry', '2',
    '--engine-timeout', '8s', '--api-body-limit', '64kb', `nodes://${engines.map((e) => e.addr).join(',')}`,
  ]);
  await waitStatus(engines.map((e) => [e.name, 'Healthy']));
});

after(async () => {
  for (const pid of stopped) { try { process.kill(pid, 'SIGCONT'); } catch { /* gone */ } }
  await manager?.stop();
  await stopEngines();
});

/** Each node's `Status` line from `docker info` (the SystemStatus block, by node name). */
async function nodeStatuses(): Promise<Map<string, string>> {
  const r = await dockerCli(manager.host, ['info'], { timeout: PROMPT });
  const out = new Map<string, string>();
  let node = '';
  for (const line of r.stdout.split('\n')) {
    const n = /^ {1,2}(\S+): \d+\.\d+\.\d+\.\d+:\d+$/.exec(line);
    if (n) node = n[1]!;
    const s = /└ Status: (\w+)/.exec(line);
    if (s && node) out.set(node, s[1]!);
  }
  return out;
}

async function waitStatus(wanted: [string, string][], tries = 90): Promise<void> {
  let last = new Map<string, string>();
  for (let i = 0; i < tries; i++) {
    last = await nodeStatuses();
    if (wanted.every(([name, status]) => last.get(name) === status)) return;
    await sleep(500);
  }
  assert.fail(`wanted ${JSON.stringify(wanted)}, docker info says ${JSON.stringify([...last])}`);
}

async function ok(args: string[]): Promise<string> {
  const r = await dockerCli(manager.host, args, { timeout: 60_000 });
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}\nmanager log tail:\n${manager.logs().slice(-3000)}`);
  return r.stdout.trim();
}

/** The node a container runs on, from `docker ps` names (`node/name`). */
async function nodeOf(name: string): Promise<string> {
  const line = (await ok(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}}'])).split('\n').find((n) => n.endsWith(`/${name}`));
  assert.ok(line, `${name} not listed`);
  return line.split('/')[0]!;
}

test('an engine that hangs (SIGSTOP): clear errors in bounded time, Unhealthy, placement elsewhere, recovery on SIGCONT', { timeout: 240_000 }, async () => {
  const hung = engines[0]!;
  const name = cname('hang');
  await ok(['run', '-d', '--name', name, '-e', `constraint:node==${hung.name}`, 'busybox', 'sh', '-c', 'echo hello-from-hung; sleep 1000']);
  assert.equal(await nodeOf(name), hung.name);

  process.kill(hung.pid, 'SIGSTOP');
  stopped.add(hung.pid);
  try {
    // A hijacked attach (what `docker attach` / `run -it` send) to the hung engine is answered with
    // an error in bounded time too, not left waiting for an engine that never replies.
    const attach = await rawAttach(manager.host, name, PROMPT);
    assert.notEqual(attach, 'hang', 'a hijacked attach to a hung engine got no answer');
    assert.match(attach, /^HTTP\/1\.1 5\d\d /, attach);
    // Calls routed to the hung engine fail: neither a hang nor a silent success.
    for (const args of [['inspect', name], ['logs', name]]) {
      const r = await dockerCli(manager.host, args, { timeout: PROMPT });
      assert.notEqual(r.code, -1, `docker ${args.join(' ')} hung: ${r.stderr}`);
      assert.notEqual(r.code, 0, `docker ${args.join(' ')} succeeded against a hung engine`);
      assert.match(r.stderr, /did not answer within 8s|timed out|Cannot connect|unhealthy|Host Down/i, r.stderr);
    }
    await waitStatus([[hung.name, 'Unhealthy'], [engines[1]!.name, 'Healthy'], [engines[2]!.name, 'Healthy']]);

    // The manager keeps serving, and new containers land on the other nodes.
    const names = [0, 1, 2].map((i) => cname(`elsewhere${i}`));
    for (const n of names) {
      await ok(['run', '-d', '--name', n, 'busybox', 'sleep', '1000']);
      assert.notEqual(await nodeOf(n), hung.name);
    }
    await ok(['rm', '-f', ...names]);
  } finally {
    process.kill(hung.pid, 'SIGCONT');
    stopped.delete(hung.pid);
  }

  await waitStatus([[hung.name, 'Healthy']]);
  assert.match(await ok(['logs', name]), /hello-from-hung/);
  assert.equal(await ok(['inspect', '--format', '{{.State.Running}}', name]), 'true');
  await ok(['rm', '-f', name]);
});

test('an engine killed in the middle of `docker logs -f`: the stream ends, the manager serves on, the node recovers', { timeout: 240_000 }, async () => {
  const victim = engines[1]!;
  const name = cname('killed');
  await ok(['run', '-d', '--name', name, '-e', `constraint:node==${victim.name}`, 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.2; done']);

  const follow = dockerCli(manager.host, ['logs', '-f', name], { timeout: 90_000 });
  await sleep(2000); // let the stream start (if it has not, the call fails anyway: same assertions)
  process.kill(victim.pid, 'SIGKILL');

  const r = await follow;
  assert.notEqual(r.code, -1, `docker logs -f did not end when the engine died: ${r.stderr}`);
  assert.match(r.stdout, /tick/, 'the stream had started');

  // The manager keeps answering, the others still work, the dead node is flagged.
  assert.match(await ok(['version', '--format', '{{.Server.Version}}']), /swarm/);
  const other = cname('other');
  await ok(['run', '--rm', '--name', other, '-e', `constraint:node!=${victim.name}`, 'busybox', 'true']);
  await waitStatus([[victim.name, 'Unhealthy']]);
  const down = await dockerCli(manager.host, ['inspect', name], { timeout: PROMPT });
  assert.notEqual(down.code, 0);
  assert.notEqual(down.code, -1);

  await restartEngine(victim);
  await waitStatus([[victim.name, 'Healthy']]);
  // Its container is known again (dockerd restarted without live-restore: it is stopped now).
  assert.match(await ok(['inspect', '--format', '{{.Name}}', name]), new RegExp(name));
  await ok(['rm', '-f', name]);
});

test('--api-body-limit: a create body over the limit is a 413 JSON error and nothing is created', { timeout: 60_000 }, async () => {
  const u = new URL(manager.host.replace(/^tcp:/, 'http:'));
  const name = cname('huge');
  const body = JSON.stringify({ Image: 'busybox', Env: [`X=${'x'.repeat(70 * 1024)}`] });
  const res = await fetch(`http://${u.host}/v1.41/containers/create?name=${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  assert.equal(res.status, 413);
  assert.deepEqual(await res.json(), { message: `request body larger than ${64 * 1024} bytes` });
  const ps = await ok(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}}']);
  assert.equal(ps, '');
});

/** Sends a raw upgrade attach and returns the first response line, or 'hang' after `ms`. */
function rawAttach(host: string, container: string, ms: number): Promise<string> {
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Promise((resolve) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    let got = '';
    const timer = setTimeout(() => { socket.destroy(); resolve('hang'); }, ms);
    socket.on('connect', () => socket.write(
      `POST /v1.41/containers/${container}/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n`
      + `Host: ${url.host}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`));
    socket.on('data', (d: Buffer) => {
      got += d.toString('utf8');
      const line = got.split('\r\n')[0]!;
      if (got.includes('\r\n')) { clearTimeout(timer); socket.destroy(); resolve(line); }
    });
    socket.on('error', (err) => { clearTimeout(timer); resolve(`error ${err.message}`); });
  });
}
