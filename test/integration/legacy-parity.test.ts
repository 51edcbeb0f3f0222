/**
 * Differences from legacy standalone Swarm found by driving a real `swarm manage` (started as
 * users start it, through the CLI) over real engines with the docker CLI and raw HTTP. Each test
 * names the legacy behaviour it pins (see /work/shared/LEGACY-SWARM.md) and failed before its fix.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerCli, startEngines, startManager, stopEngine, type ManagerProcess, type TestEngine } from '../cluster/index.ts';

let engines: TestEngine[] = [];
let stopEngines: () => Promise<void> = async () => {};
const managers: ManagerProcess[] = [];
const TAG = `parity${process.pid}`;

interface Answer { status: number; body: string; headers: Record<string, string | string[] | undefined> }

function send(host: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Promise((resolve, reject) => {
    const h: Record<string, string | number> = { ...headers };
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const req = httpRequest({ host: url.hostname, port: Number(url.port), method, path, headers: h, timeout: 30_000 });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function manage(args: string[]): Promise<ManagerProcess> {
  const m = await startManager([...args, '--engine-refresh-min-interval', '2s', '--engine-refresh-max-interval', '2s',
    `nodes://${engines.map((e) => e.addr).join(',')}`]);
  managers.push(m);
  for (let i = 0; i < 120; i++) {
    const info = await dockerCli(m.host, ['info']);
    if ((info.stdout.match(/Status: Healthy/g) ?? []).length === engines.length) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return m;
}

before(async () => {
  const group = await startEngines({ count: 2 });
  engines = group.engines;
  stopEngines = group.stop; // shared engines: does nothing
});

after(async () => {
  for (const m of managers) await m.stop();
  await stopEngines();
});

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-headers': 'Origin, X-Requested-With, Content-Type, Accept',
  'access-control-allow-methods': 'GET, POST, DELETE, PUT, OPTIONS, HEAD',
};

// Legacy: `--api-enable-cors, --cors` adds the CORS headers to every routed answer and answers
// OPTIONS on every route with an empty 200. Through the CLI both spellings did nothing here
// (commander stored the flag as `apiEnableCors`, the settings read `cors`).
for (const flag of ['--cors', '--api-enable-cors']) {
  test(`swarm manage ${flag}: CORS headers on answers, OPTIONS preflight answered`, async () => {
    const m = await manage([flag]);
    try {
      const name = `${TAG}-cors${flag.length}`;
      const run = await dockerCli(m.host, ['run', '-d', '--name', name, 'busybox', 'sleep', '60']);
      assert.equal(run.code, 0, run.stderr);
      for (const path of ['/_ping', '/v1.41/info', '/v1.41/containers/json', `/v1.41/containers/${name}/json`, '/v1.41/images/json']) {
        const a = await send(m.host, 'GET', path);
        assert.equal(a.status, 200, `${path}: ${a.body}`);
        for (const [k, v] of Object.entries(CORS)) assert.equal(a.headers[k], v, `${path}: ${k}`);
      }
      const pre = await send(m.host, 'OPTIONS', '/v1.41/containers/json', undefined, { origin: 'http://example.test', 'access-control-request-method': 'GET' });
      assert.equal(pre.status, 200, pre.body);
      assert.equal(pre.body, '');
      assert.equal(pre.headers['access-control-allow-origin'], '*');
      await dockerCli(m.host, ['rm', '-f', name]);
    } finally {
      await m.stop();
    }
  });
}

// Go's --flag=<bool> form (see core/cli/main.test.ts for the rejected forms): a running manager
// honours it; global flags may follow the command, as urfave/cli allowed.
test('swarm manage --api-enable-cors=true --experimental=1 --replication=false: each takes effect', async () => {
  const m = await manage(['--api-enable-cors=true', '--experimental=1', '--replication=false']);
  try {
    const a = await send(m.host, 'GET', '/v1.41/info');
    assert.equal(a.status, 200);
    assert.equal(a.headers['access-control-allow-origin'], '*');
    assert.equal(JSON.parse(a.body).ExperimentalBuild, true);
    assert.match(a.body, /"Role","primary"/);
  } finally {
    await m.stop();
  }
});

test('without --cors: no CORS headers, OPTIONS is not a route', async () => {
  const m = await manage([]);
  try {
    const a = await send(m.host, 'GET', '/v1.41/containers/json');
    assert.equal(a.status, 200);
    assert.equal(a.headers['access-control-allow-origin'], undefined);
    const pre = await send(m.host, 'OPTIONS', '/v1.41/containers/json');
    assert.equal(pre.status, 404);
  } finally {
    await m.stop();
  }
});

async function engineNames(e: TestEngine, kind: 'network' | 'volume'): Promise<string[]> {
  const r = await dockerCli(e.host, [kind, 'ls', '--format', '{{.Name}}']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

// Legacy: `node/name` of network and volume create is scheduled as `constraint:node==<node>`, so a
// prefix naming no node is the scheduler's 500; the network was created here under the whole name
// (`nosuchnode/x`, listed as `node-1/nosuchnode/x`) on the top-ranked node.
test('network and volume create node/name with an unknown node: the scheduler error, nothing created', async () => {
  const m = await manage([]);
  try {
    const net = `${TAG}-nosuchnode/n`;
    const r = await dockerCli(m.host, ['network', 'create', '-d', 'bridge', net]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`Unable to find a node that satisfies the following conditions \\n(\\[.*\\]\\n)*\\[node==${TAG}-nosuchnode\\]`));
    const vol = `${TAG}-nosuchnode/v`;
    const v = await send(m.host, 'POST', '/v1.41/volumes/create', JSON.stringify({ Name: vol }), { 'content-type': 'application/json' });
    assert.equal(v.status, 500, v.body);
    assert.match(JSON.parse(v.body).message, new RegExp(`^Unable to find a node that satisfies the following conditions \\n(\\[.*\\]\\n)*\\[node==${TAG}-nosuchnode\\]$`));
    for (const e of engines) {
      assert.ok(!(await engineNames(e, 'network')).some((n) => n.includes(TAG)), `no network on ${e.name}`);
    }
    // A glob prefix picks a matching node, as the constraint does.
    const target = engines[1];
    const glob = `${target.name.slice(0, -1)}*`;
    const made = await dockerCli(m.host, ['network', 'create', '-d', 'bridge', `${glob}/${TAG}-g`]);
    assert.equal(made.code, 0, made.stderr);
    const ls = await dockerCli(m.host, ['network', 'ls', '--filter', `name=${TAG}-g`, '--format', '{{.Name}}']);
    const [node] = ls.stdout.trim().split('/');
    assert.ok(engines.some((e) => e.name === node && e.name.startsWith(glob.slice(0, -1))), ls.stdout);
    assert.equal((await dockerCli(m.host, ['network', 'rm', ls.stdout.trim()])).code, 0);
    const ok = await dockerCli(m.host, ['network', 'create', '-d', 'bridge', `${target.name}/${TAG}-n`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok((await engineNames(target, 'network')).includes(`${TAG}-n`));
    assert.equal((await dockerCli(m.host, ['network', 'rm', `${target.name}/${TAG}-n`])).code, 0);
  } finally {
    await m.stop();
  }
});

// Legacy: `docker ps` and inspect show published ports on the node IP (unspecified IPs rewritten),
// one line per binding as the engines of its time listed them. dockerd 20.10 lists a port published
// on a user bridge twice (0.0.0.0 and ::), which became the same node-IP binding twice.
test('a port published on a user network is listed once, on the node IP, by ps, port and inspect', async () => {
  const m = await manage([]);
  const node = engines[0];
  const net = `${TAG}-pnet`;
  const name = `${TAG}-ports`;
  try {
    assert.equal((await dockerCli(m.host, ['network', 'create', '-d', 'bridge', `${node.name}/${net}`])).code, 0);
    const run = await dockerCli(m.host, ['run', '-d', '--name', name, '--net', net, '-p', '80', '-e', `constraint:node==${node.name}`, 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const direct = JSON.parse((await dockerCli(node.host, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', name])).stdout) as Record<string, { HostIp: string; HostPort: string }[]>;
    const hostPort = direct['80/tcp']![0]!.HostPort;
    // The engine's own answer has both wildcard bindings (what this test is about).
    assert.deepEqual(direct['80/tcp']!.map((b) => b.HostIp).sort(), ['0.0.0.0', '::'], JSON.stringify(direct));
    const ps = await dockerCli(m.host, ['ps', '--filter', `name=${name}`, '--format', '{{.Ports}}']);
    assert.equal(ps.stdout.trim(), `${node.ip}:${hostPort}->80/tcp`);
    const inspect = await dockerCli(m.host, ['inspect', '-f', '{{json .NetworkSettings.Ports}}', name]);
    assert.deepEqual(JSON.parse(inspect.stdout), { '80/tcp': [{ HostIp: node.ip, HostPort: hostPort }] });
    const port = await dockerCli(m.host, ['port', name, '80']);
    assert.equal(port.stdout.trim(), `${node.ip}:${hostPort}`);
  } finally {
    await dockerCli(m.host, ['rm', '-f', name]);
    await dockerCli(m.host, ['network', 'rm', `${node.name}/${net}`]);
    await m.stop();
  }
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

// Legacy: an engine removed from discovery emits engine_disconnect, and the watchdog reschedules
// its on-node-failure containers (cluster/watchdog.go); when it comes back, the stale copy is
// removed. Here the engine's cache was gone before the failover hook read it: 'Failed to read the
// configuration of container …: No such container …', nothing was rescheduled.
test('an engine removed from discovery: its on-node-failure container is rescheduled; re-added, the stale copy goes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parity-file-'));
  const path = join(dir, 'cluster');
  const [keep, gone] = [engines[0], engines[1]];
  const name = `${TAG}-resched`;
  writeFileSync(path, `${keep.addr}\n${gone.addr}\n`);
  const m = await startManager(['--heartbeat', '1s', '--engine-refresh-min-interval', '2s', '--engine-refresh-max-interval', '2s', `file://${path}`]);
  managers.push(m);
  try {
    await until('both engines healthy', async () => (((await dockerCli(m.host, ['info'])).stdout.match(/Status: Healthy/g) ?? []).length === 2 ? true : undefined));
    const run = await dockerCli(m.host, ['run', '-d', '--name', name, '-e', 'reschedule:on-node-failure', '-e', `constraint:node==~${gone.name}`, 'busybox', 'sleep', '600']);
    assert.equal(run.code, 0, run.stderr);
    const oldId = run.stdout.trim();
    assert.equal((await dockerCli(m.host, ['inspect', '-f', '{{.Node.Name}}', name])).stdout.trim(), gone.name);

    writeFileSync(path, `${keep.addr}\n`);
    const moved = await until('the container rescheduled', async () => {
      const r = await dockerCli(m.host, ['inspect', '-f', '{{.Id}} {{.Node.Name}} {{.State.Running}}', name]);
      return r.code === 0 && !r.stdout.startsWith(oldId) ? r.stdout.trim().split(' ') : undefined;
    });
    assert.equal(moved[1], keep.name);
    assert.equal(moved[2], 'true', 'it was running, so the copy is started');
    assert.match(m.logs(), new RegExp(`Rescheduled container ${oldId} from ${gone.name} to ${keep.name}`));

    writeFileSync(path, `${keep.addr}\n${gone.addr}\n`);
    await until('the stale copy removed from the engine that came back', async () => {
      const r = await dockerCli(gone.host, ['ps', '-aq', '--no-trunc', '--filter', `id=${oldId}`]);
      return r.code === 0 && r.stdout.trim() === '' ? true : undefined;
    });
    assert.equal((await dockerCli(m.host, ['inspect', '-f', '{{.Node.Name}}', name])).stdout.trim(), keep.name);
  } finally {
    await dockerCli(m.host, ['rm', '-f', name]);
    await dockerCli(gone.host, ['rm', '-f', name]);
    await m.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Legacy `docker info` for an engine that never validated: ` (unknown): <addr>`, an empty
// `└ ID` (the engine ID comes from its /info), `Status: Pending`, the error before UpdatedAt.
// The ID line showed the address.
test('docker info: a pending engine is (unknown) with an empty ID', async () => {
  const net = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const dead = `127.0.0.1:${port}`;
  const m = await startManager([`nodes://${engines[0].addr},${dead}`]);
  managers.push(m);
  try {
    const info = await until('the dead engine reported', async () => {
      const r = await dockerCli(m.host, ['info']);
      return /└ Error: /.test(r.stdout) && /Status: Healthy/.test(r.stdout) ? r.stdout : undefined;
    });
    const lines = info.split('\n');
    const at = lines.indexOf(`  (unknown): ${dead}`);
    assert.ok(at > 0, info);
    assert.equal(lines[at + 1], '   └ ID: ');
    assert.equal(lines[at + 2], '   └ Status: Pending');
    assert.match(lines.slice(at).find((l) => l.includes('└ Error')) ?? '', /ECONNREFUSED|refused/);
  } finally {
    await m.stop();
  }
});

// Legacy: the node of `node/name` passes the health filter like any placement, so a named node
// that is unhealthy is the scheduler's 500; the request went to the dead engine before.
test('network and volume create on an unhealthy node/: the scheduler error, as for any placement', { timeout: 180_000 }, async () => {
  const own = await startEngines({ count: 1, reuse: false, names: [`${TAG}-sick`] });
  const sick = own.engines[0];
  const m = await startManager(['--engine-refresh-min-interval', '1s', '--engine-refresh-max-interval', '1s', '--engine-failure-retry', '1',
    `nodes://${engines[0].addr},${sick.addr}`]);
  managers.push(m);
  try {
    await until('both healthy', async () => (((await dockerCli(m.host, ['info'])).stdout.match(/Status: Healthy/g) ?? []).length === 2 ? true : undefined));
    await stopEngine(sick);
    await until('the stopped engine unhealthy', async () => (/Status: Unhealthy/.test((await dockerCli(m.host, ['info'])).stdout) ? true : undefined));
    const net = await dockerCli(m.host, ['network', 'create', '-d', 'bridge', `${sick.name}/${TAG}-x`]);
    assert.equal(net.code, 1);
    assert.match(net.stderr, new RegExp(`Unable to find a node that satisfies the following conditions \\n(\\[.*\\]\\n)*\\[node==${sick.name}\\]`));
    const vol = await send(m.host, 'POST', '/v1.41/volumes/create', JSON.stringify({ Name: `${sick.name}/${TAG}-v` }), { 'content-type': 'application/json' });
    assert.equal(vol.status, 500, vol.body);
    assert.match(JSON.parse(vol.body).message, new RegExp(`^Unable to find a node that satisfies the following conditions \\n(\\[.*\\]\\n)*\\[node==${sick.name}\\]$`));
  } finally {
    await m.stop();
    await own.stop();
  }
});
