// Hostile input: at least 10,000 generated bad requests across every route group, seeded so a
// failure reproduces (FUZZ_SEED=<n>), sent to a real manager on real engines. Afterwards the manager
// must still serve correctly, its memory must not have grown without bound, and no container may
// have been created by any of them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, Agent } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { startEngines, startManager, dockerCli, type ManagerProcess, type TestEngine } from '../cluster/index.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000);
const CONCURRENCY = 16;

/** mulberry32: small, fast, seeded. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface FuzzRequest { method: string; path: string; headers: Record<string, string>; body?: Buffer | string }

const MARK = 'fuzzmark';

function generator(seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const junk = (n = 1 + Math.floor(r() * 40)) =>
    Array.from({ length: n }, () => String.fromCharCode(32 + Math.floor(r() * 95))).join('');
  const ref = () => pick([
    'does-not-exist', 'a', '', '..', '../../etc/passwd', '%2e%2e%2f', 'x'.repeat(300), 'node-9/x', '/',
    '0123456789ab', 'sha256:', 'sha256:zzz', encodeURIComponent(junk()), '%00', 'ab', '*', 'nope:latest',
  ]);
  const versions = ['', '', '', '/v1.41', '/v1.24', '/v1.12', '/v9.99', '/v1', '/vX.Y', '/v1.41.2'];
  const badJson = () => pick<string>([
    '{', '[]', 'null', '"text"', '123', '{"Image": 5}', '{"Image": ["busybox"]}', '{"Env": "constraint:x"}',
    `{"Image":"busybox","Env":["constraint:${pick(['x', 'a==b', 'storage==', '==x', 'k!=a,b', 'k~x'])}"],"Labels":{"${MARK}":"1"}}`,
    `{"Image":"busybox","Labels":{"com.docker.swarm.constraints":"[\\"node==nowhere\\"]","${MARK}":"1"}}`,
    `{"Image":"busybox","Labels":{"com.docker.swarm.reschedule-policies":"[\\"sometimes\\"]","${MARK}":"1"}}`,
    `{"Image":"busybox","HostConfig":{"Memory":-5},"Labels":{"${MARK}":"1"}}`,
    `{"Image":"busybox","HostConfig":{"Memory":1e300},"Labels":{"${MARK}":"1"}}`,
    `{"Image":"busybox","HostConfig":{"CpuShares":"two"},"Labels":{"${MARK}":"1"}}`,
    `{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":"x"}},"Labels":{"${MARK}":"1"}}`,
    `{"Image":"busybox","HostConfig":{"VolumesFrom":["missing-container-xyz"]},"Labels":{"${MARK}":"1"}}`,
    `{"Image":"no-such-image-${Math.floor(r() * 1e6)}:none","Labels":{"${MARK}":"1"}}`,
    `{"Image":"","Labels":{"${MARK}":"1"}}`,
    `{"Image":"busybox","Cmd":"notalist","Labels":{"${MARK}":"1"}}`,
    JSON.stringify({ Image: 'busybox', Labels: { [MARK]: '1' }, Env: Array.from({ length: 50 }, () => junk()) })
      .replace('"Image"', '"Image":"busybox","Bogus"'),
    '{"Name":' + '['.repeat(200) + ']'.repeat(200) + '}',
    '\u0000\u0001\u0002',
    junk(200),
  ]);
  const query = () => pick([
    '', '?all=1', '?all=maybe', '?limit=-1', '?limit=abc', '?filters=notjson', '?filters={"status":["bogus"]}',
    '?filters={"dangling":["maybe"]}', '?filters={"node":["["]}', '?filters=' + encodeURIComponent('{"name":[5]}'),
    '?name=' + encodeURIComponent('bad name!'), '?name=' + encodeURIComponent('../x'), '?name=' + 'n'.repeat(300),
    '?t=abc', '?signal=NOPE', '?path=' + encodeURIComponent('../../../../etc/shadow'), '?path=', '?tail=-x',
    '?fromImage=', '?fromImage=' + encodeURIComponent('UPPER/Case:bad tag'), '?force=2', '?until=notanumber',
    '?h=abc&w=-1', '?ps_args=' + encodeURIComponent('; rm -rf /'), '?repo=' + encodeURIComponent('Bad Repo'),
  ]);
  const routes: (() => FuzzRequest)[] = [
    () => ({ method: 'POST', path: `/containers/create${pick(['', '?name=' + encodeURIComponent(junk(8)), '?name=%2F%2F', '?name=a/b'])}`, headers: { 'content-type': pick(['application/json', 'text/plain', '']) }, body: badJson() }),
    () => ({ method: 'POST', path: '/containers/create', headers: {}, body: '{"Image":"busybox","Labels":{"' + MARK + '":"1"}}' }),
    () => ({ method: pick(['GET', 'POST', 'DELETE', 'HEAD', 'PUT']), path: `/containers/${ref()}/${pick(['json', 'start', 'stop', 'kill', 'restart', 'pause', 'unpause', 'rename', 'update', 'wait', 'top', 'changes', 'export', 'resize', 'exec', 'archive', 'attach', 'logs'])}${query()}`, headers: { 'content-type': 'application/json' }, body: pick(['', badJson()]) }),
    () => ({ method: 'DELETE', path: `/containers/${ref()}${query()}`, headers: {} }),
    () => ({ method: 'GET', path: `/containers/json${query()}`, headers: {} }),
    () => ({ method: pick(['GET', 'POST', 'DELETE']), path: `/exec/${ref()}/${pick(['json', 'start', 'resize'])}${query()}`, headers: { 'content-type': 'application/json' }, body: badJson() }),
    () => ({ method: pick(['GET', 'DELETE', 'POST']), path: `/images/${ref()}/${pick(['json', 'history', 'get', 'tag', 'push', ''])}${query()}`, headers: {} }),
    () => ({ method: 'GET', path: `/images/json${query()}`, headers: {} }),
    () => ({ method: 'POST', path: `/images/create${query()}`, headers: {} }),
    () => ({ method: 'POST', path: '/images/load', headers: { 'content-type': 'application/x-tar' }, body: junk(300) }),
    () => ({ method: pick(['GET', 'POST', 'DELETE']), path: `/networks/${pick(['create', ref(), `${ref()}/connect`, `${ref()}/disconnect`])}${query()}`, headers: { 'content-type': 'application/json' }, body: pick([badJson(), '{"Name":""}', '{"Name":"node-9/n"}', '{"Container":"nope"}']) }),
    () => ({ method: 'GET', path: `/networks${query()}`, headers: {} }),
    () => ({ method: pick(['GET', 'POST', 'DELETE']), path: `/volumes/${pick(['create', ref()])}${query()}`, headers: { 'content-type': 'application/json' }, body: pick([badJson(), '{"Name":"node-9/v"}', '{"Name":5}']) }),
    () => ({ method: 'GET', path: `/volumes${query()}`, headers: {} }),
    () => ({ method: 'POST', path: `/build${query()}`, headers: { 'content-type': 'application/x-tar' }, body: junk(100) }),
    () => ({ method: 'POST', path: '/swarm/plan', headers: { 'content-type': 'application/json' }, body: badJson() }),
    () => ({ method: pick(['GET', 'POST']), path: pick(['/swarm', '/nodes', '/services', '/secrets', '/system/df', '/containers/prune', '/grpc', '/session', '/distribution/x/json', '/plugins', '/' + encodeURIComponent(junk(10))]), headers: {} }),
    () => ({ method: 'GET', path: `/events?until=${pick(['x', '-1', '0', '1'])}`, headers: {} }),
    () => ({ method: 'POST', path: `/containers/create`, headers: { 'content-type': 'application/json' }, body: Buffer.alloc(11 * 1024 * 1024, 0x20) }),
    () => ({ method: 'POST', path: `/auth`, headers: { 'content-type': 'application/json' }, body: badJson() }),
  ];
  return (): FuzzRequest => {
    const req = pick(routes)();
    return { ...req, path: pick(versions) + req.path };
  };
}

interface Outcome { status: number; body: string }

/**
 * 5xx answers that are not about the input: no registry is reachable from here (auth and pulls go to
 * a dead proxy on loopback, see test/cluster/engines.ts), the
 * engines are not swarm-mode managers (overlay network create, the original's default driver), and
 * a well-formed request no node can take (the original's 500 for an unsatisfiable placement).
 */
const INFRASTRUCTURE = /proxyconnect|registry-1\.docker\.io|no such host|not a swarm manager|^\{"message":"(Unable to find a node that satisfies the following conditions (?![\s\S]*error from)|no resources available to schedule container)/;

function send(addr: { host: string; port: number }, agent: Agent, req: FuzzRequest): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
    const headers: Record<string, string | number> = { ...req.headers };
    if (!headers['content-type']) delete headers['content-type'];
    if (body) headers['content-length'] = body.length;
    const r = httpRequest({ host: addr.host, port: addr.port, method: req.method, path: req.path, headers, agent, timeout: 60_000 });
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => { size += c.length; if (size < 65536) chunks.push(c); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error(`timeout: ${req.method} ${req.path}`)));
    r.on('error', (err) => {
      // A server that refuses an oversized body may close the socket before reading it all: that is an answer too.
      if ((err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
        resolve({ status: -1, body: String(err) });
      } else reject(err);
    });
    if (body) r.end(body); else r.end();
  });
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function engineContainers(e: TestEngine): Promise<string[]> {
  const r = await dockerCli(e.host, ['ps', '-a', '-q', '--no-trunc', '--filter', `label=${MARK}`]);
  return r.stdout.split('\n').filter(Boolean);
}

let engines: TestEngine[] = [];
let stopEngines: () => Promise<void> = async () => {};
let manager: ManagerProcess | undefined;

before(async () => {
  const group = await startEngines({ count: 3 });
  engines = group.engines;
  stopEngines = group.stop;
  manager = await startManager([
    '--engine-refresh-min-interval', '5s', '--engine-refresh-max-interval', '5s',
    `nodes://${engines.map((e) => e.addr).join(',')}`,
  ]);
  // Validation of the engines is asynchronous: wait until all are Healthy.
  for (let i = 0; i < 60; i++) {
    const info = await dockerCli(manager.host, ['info']);
    if ((info.stdout.match(/Status: Healthy/g) ?? []).length === engines.length) break;
    await new Promise((r) => setTimeout(r, 500));
  }
});

after(async () => {
  await manager?.stop();
  await stopEngines();
});

test(`${COUNT} seeded bad requests (seed ${SEED}): clear 4xx errors, no crash, no stray container, bounded memory`, { timeout: 15 * 60_000 }, async () => {
  assert.ok(manager);
  const url = new URL(manager.host.replace(/^tcp:/, 'http:'));
  const addr = { host: url.hostname, port: Number(url.port) };
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const next = generator(SEED);
  const before = (await Promise.all(engines.map(engineContainers))).flat();

  const problems: string[] = [];
  const created = new Set<string>();
  let done = 0;
  let rssAfterWarmup = 0;
  const warmup = Math.min(1000, Math.floor(COUNT / 10));

  async function worker(): Promise<void> {
    while (done < COUNT) {
      const i = done++;
      const req = next();
      const out = await send(addr, agent, req);
      if (i === warmup) rssAfterWarmup = rssKb(manager!.pid);
      const where = `#${i} ${req.method} ${req.path}`;
      if (out.status === 201 && /\/containers\/create/.test(req.path)) {
        try { created.add((JSON.parse(out.body) as { Id: string }).Id); } catch { problems.push(`${where} → 201 without an Id`); }
      }
      if (out.status >= 500 && out.status !== 501 && !INFRASTRUCTURE.test(out.body)) {
        problems.push(`${where} → ${out.status} ${out.body.slice(0, 200)}`);
      } else if (out.status >= 400 && req.method !== 'HEAD' && out.status !== -1) {
        let message: unknown;
        try { message = (JSON.parse(out.body) as { message?: unknown }).message; } catch { /* checked below */ }
        if (typeof message !== 'string' || message === '') problems.push(`${where} → ${out.status} without a JSON message: ${out.body.slice(0, 200)}`);
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();

  if (process.env.FUZZ_REPORT) writeFileSync(process.env.FUZZ_REPORT, problems.join('\n') + '\n');
  assert.ok(manager.running(), `the manager died:\n${manager.logs().slice(-2000)}`);
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} answers were not clear 4xx errors (seed ${SEED})`);

  // Still serving, end to end.
  const ping = await dockerCli(manager.host, ['version', '--format', '{{.Server.Version}}']);
  assert.equal(ping.code, 0, ping.stderr);
  assert.match(ping.stdout, /swarm/);
  const run = await dockerCli(manager.host, ['run', '--rm', 'busybox', 'echo', 'still-alive']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /still-alive/);

  // Nothing half-created: every marked container on the engines is one whose create answered 201
  // (some generated bodies are odd but valid, and the engine accepts them); no other may exist.
  const afterIds = (await Promise.all(engines.map(engineContainers))).flat().filter((id) => !before.includes(id));
  const stray = afterIds.filter((id) => !created.has(id));
  assert.deepEqual(stray, [], 'containers exist on the engines that no client was told about');
  for (const id of created) {
    const seen = await dockerCli(manager.host, ['inspect', '--format', '{{.Id}}', id]);
    assert.equal(seen.stdout.trim(), id, `the manager lost track of ${id}`);
  }
  if (afterIds.length) await dockerCli(manager.host, ['rm', '-f', ...afterIds]);

  const growthMb = (rssKb(manager.pid) - rssAfterWarmup) / 1024;
  assert.ok(growthMb < 150, `manager RSS grew by ${growthMb.toFixed(1)} MB after warm-up`);
});
