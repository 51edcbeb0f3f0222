/**
 * Registry-dependent behaviour through the manager, with the real docker CLI on the 3 kit engines
 * and private registries on loopback (test/cluster/registry.ts): push from the engine holding the
 * image, pull on every node with per-node progress, login (right and wrong password), private
 * images with credentials (X-Registry-Auth through pull, push and create), pull-on-not-found on the
 * chosen node, the image-affinity retry after a registry "not found", the automatic ostype
 * constraint (§4.4) persisted in the constraints label, and search (a v1 search endpoint on
 * loopback, since Distribution 2.x has none).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerCli, startRegistry, type TestEngine, type TestRegistry } from '../cluster/index.ts';
import { apiCall, startTestManager, uniqueName, type TestManager } from './api-manager.ts';

const USER = 'swarm-e';
const PASSWORD = 'pw-' + Math.random().toString(36).slice(2, 10);

let m: TestManager;
let reg: TestRegistry; // open
let priv: TestRegistry; // htpasswd
let configDir: string; // docker CLI config that `docker login` writes to
const containers: string[] = [];
const images = new Set<string>();
const docker = (...args: string[]) => dockerCli(m.host, args);
const loggedIn = (...args: string[]) => dockerCli(m.host, args, { env: { DOCKER_CONFIG: configDir } });

async function ok(r: Promise<{ code: number; stdout: string; stderr: string }>, what: string): Promise<string> {
  const res = await r;
  assert.equal(res.code, 0, `${what} failed: ${res.stderr}${res.stdout}`);
  return res.stdout;
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Names of the nodes whose engine holds `ref`, as the manager lists them. */
async function holders(ref: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of m.engines) {
    const rows = await ok(docker('images', '-q', '--filter', `node=${e.name}`, '--filter', `reference=${ref}`), 'images');
    if (rows.trim() !== '') out.push(e.name);
  }
  return out;
}

/** An image only `node` holds, with content of its own (a committed container). */
async function imageOn(node: TestEngine, ref: string): Promise<void> {
  const c = uniqueName('src');
  containers.push(c);
  images.add(ref);
  await ok(docker('run', '--name', c, '-e', `constraint:node==${node.name}`, 'busybox', 'sh', '-c', `echo ${c} > /made-by`), 'run source');
  await ok(docker('commit', c, ref), 'commit');
  await until(`${ref} on ${node.name}`, async () => (await holders(ref)).join() === node.name);
}

/** base64url JSON, as the docker CLI sends in X-Registry-Auth. */
function registryAuth(username: string, password: string, serveraddress: string): string {
  return Buffer.from(JSON.stringify({ username, password, serveraddress })).toString('base64url');
}

async function labelsOf(container: string): Promise<Record<string, string>> {
  return JSON.parse(await ok(docker('inspect', '-f', '{{json .Config.Labels}}', container), 'inspect')) as Record<string, string>;
}

async function nodeOf(container: string): Promise<string> {
  return (await ok(docker('inspect', '-f', '{{.Node.Name}}', container), 'inspect')).trim();
}

before(async () => {
  [m, reg, priv] = await Promise.all([startTestManager(), startRegistry(), startRegistry({ auth: { user: USER, password: PASSWORD } })]);
  configDir = mkdtempSync(join(tmpdir(), 'regcfg-'));
  assert.ok(m.engines.length >= 3, 'needs 3 engines');
});

after(async () => {
  if (containers.length) await docker('rm', '-f', ...containers);
  for (const ref of images) await docker('rmi', '-f', ref);
  await Promise.all([reg?.stop(), priv?.stop(), m?.stop()]);
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

test('push goes to the engine holding the image; an image no node holds is a 404', async () => {
  const [, second] = m.engines;
  const repo = `${reg.addr}/${uniqueName('pushed')}`;
  await imageOn(second, `${repo}:1`);
  const out = await ok(docker('push', `${repo}:1`), 'push');
  assert.match(out, /1: digest: sha256:[0-9a-f]{64} size: \d+/);
  const tags = await reg.get(`/v2/${repo.slice(reg.addr.length + 1)}/tags/list`);
  assert.equal(tags.status, 200, tags.body);
  assert.deepEqual(JSON.parse(tags.body).tags, ['1']);
  const missing = await docker('push', `${reg.addr}/${uniqueName('nobody')}:1`);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /No such image: /);
});

test('push with several holders of the tag sends the first node\'s image (natural name order)', async () => {
  const [first, second, third] = m.engines;
  const ref = `${reg.addr}/${uniqueName('twice')}:1`;
  images.add(ref);
  // Same tag, different content on nodes 2 and 3.
  const made: Record<string, string> = {};
  for (const node of [third, second]) {
    const c = uniqueName(`src-${node.name}`);
    containers.push(c);
    await ok(docker('run', '--name', c, '-e', `constraint:node==${node.name}`, 'busybox', 'sh', '-c', `echo ${c} > /made-by`), 'run source');
    await ok(docker('commit', c, ref), 'commit');
    made[node.name] = c;
  }
  await until('both hold it', async () => (await holders(ref)).length === 2);
  await ok(docker('push', ref), 'push');
  const check = uniqueName('which');
  containers.push(check);
  const out = await ok(docker('run', '--name', check, '-e', `constraint:node==${first.name}`, ref, 'cat', '/made-by'), 'run pushed');
  assert.equal(out.trim(), made[second.name]);
});

test('docker run of a registry image: pulled on the chosen node only (pull on not-found), ostype==linux added', async () => {
  const [first, second, third] = m.engines;
  const repo = `${reg.addr}/${uniqueName('run')}`;
  await imageOn(second, `${repo}:1`);
  await ok(docker('push', `${repo}:1`), 'push');
  // The cluster holds the image (node 2), so the create is scheduled; node 1 lacks it and pulls it.
  const c = uniqueName('pulled-here');
  containers.push(c);
  const out = await ok(docker('run', '--name', c, '-e', `constraint:node==${first.name}`, `${repo}:1`, 'cat', '/made-by'), 'run');
  assert.match(out, /^src-/);
  assert.equal(await nodeOf(c), first.name);
  assert.deepEqual((await holders(`${repo}:1`)).sort(), [first.name, second.name].sort(), `${third.name} did not pull`);
  const labels = await labelsOf(c);
  assert.deepEqual(JSON.parse(labels['com.docker.swarm.constraints']), [`node==${first.name}`, 'ostype==linux']);
});

test('automatic ostype constraint: from the registry on create, not added when a rule names ostype, none for local images', async () => {
  const [, second] = m.engines;
  const repo = `${reg.addr}/${uniqueName('os')}`;
  await imageOn(second, `${repo}:1`);
  await ok(docker('push', `${repo}:1`), 'push');
  const plain = uniqueName('os-auto');
  containers.push(plain);
  await ok(docker('create', '--name', plain, `${repo}:1`, 'true'), 'create');
  assert.equal((await labelsOf(plain))['com.docker.swarm.constraints'], '["ostype==linux"]');
  // A constraint that mentions ostype already: nothing is added (soft one kept as given).
  const own = uniqueName('os-own');
  containers.push(own);
  await ok(docker('create', '--name', own, '-e', 'constraint:ostype==~linux', `${repo}:1`, 'true'), 'create');
  assert.equal((await labelsOf(own))['com.docker.swarm.constraints'], '["ostype==~linux"]');
  // busybox was imported locally and docker.io is unreachable from kit engines: no rule (with
  // SWARM_KIT_ONLINE=1 the engines ask Docker Hub, which knows busybox as a Linux image).
  const local = uniqueName('os-local');
  containers.push(local);
  await ok(docker('create', '--name', local, 'busybox', 'true'), 'create');
  assert.equal((await labelsOf(local))['com.docker.swarm.constraints'], process.env.SWARM_KIT_ONLINE === '1' ? '["ostype==linux"]' : undefined);
});

test('docker pull through the manager pulls on every node with per-node progress', async () => {
  const [, second] = m.engines;
  const repo = `${reg.addr}/${uniqueName('pull')}`;
  const ref = `${repo}:1`;
  await imageOn(second, ref);
  await ok(docker('push', ref), 'push');
  await ok(docker('rmi', ref), 'rmi');
  await until('image gone', async () => (await holders(ref)).length === 0);
  const out = await ok(docker('pull', ref), 'pull');
  for (const e of m.engines) {
    assert.match(out, new RegExp(`^${e.name}: Pulling ${ref.replace(/[.]/g, '\\.')}\\.\\.\\.$`, 'm'), out);
    assert.match(out, new RegExp(`^${e.name}: Pulling ${ref.replace(/[.]/g, '\\.')}\\.\\.\\. : downloaded$`, 'm'), out);
    assert.match(out, new RegExp(`^${e.name}: Pulling ${ref.replace(/[.]/g, '\\.')}\\.\\.\\. : Digest: sha256:[0-9a-f]{64}$`, 'm'), out);
  }
  assert.deepEqual((await holders(ref)).sort(), m.engines.map((e) => e.name).sort());
  // A tag the registry does not have: the per-node errors and a failed pull.
  const bad = await docker('pull', `${repo}:nope`);
  assert.notEqual(bad.code, 0);
  for (const e of m.engines) assert.match(bad.stderr + bad.stdout, new RegExp(`${e.name}: .*manifest unknown`), bad.stderr);
});

test('docker run of an image no node holds: the CLI pulls it through the manager, then creates', async () => {
  const [, second] = m.engines;
  const repo = `${reg.addr}/${uniqueName('absent')}`;
  const ref = `${repo}:1`;
  await imageOn(second, ref);
  await ok(docker('push', ref), 'push');
  await ok(docker('rmi', ref), 'rmi');
  await until('image gone', async () => (await holders(ref)).length === 0);
  const c = uniqueName('fresh');
  containers.push(c);
  const r = await docker('run', '--name', c, ref, 'cat', '/made-by');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^src-/);
  assert.match(r.stderr, new RegExp(`Unable to find image '${ref.replace(/[.]/g, '\\.')}' locally`));
  assert.match(r.stderr, /Pulling .*: downloaded/);
});

test('image-affinity retry: the registry does not know the image, so the create moves to the node holding it', async () => {
  const [first, second] = m.engines;
  const ref = `${reg.addr}/${uniqueName('ghost')}:1`; // never pushed
  await imageOn(second, ref);
  const c = uniqueName('affine');
  containers.push(c);
  // The soft rule makes pass 1 pick node 1; its pull gets "manifest unknown" from the registry.
  await ok(docker('run', '--name', c, '-e', `constraint:node==~${first.name}`, ref, 'true'), 'run');
  assert.equal(await nodeOf(c), second.name);
  assert.equal((await labelsOf(c))['com.docker.swarm.affinities'], undefined);
  // With a hard node rule there is no retry: the registry's error comes back.
  const hard = await docker('run', '--name', uniqueName('hard'), '-e', `constraint:node==${first.name}`, ref, 'true');
  assert.notEqual(hard.code, 0);
  assert.match(hard.stderr, /manifest unknown|not found/);
});

test('docker login through the manager: success, and a wrong password gives the engine error', async () => {
  const r = await dockerCli(m.host, ['login', priv.addr, '-u', USER, '--password-stdin'], { stdin: `${PASSWORD}\n`, env: { DOCKER_CONFIG: configDir } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Login Succeeded/);
  const cfg = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
  assert.equal(Buffer.from(cfg.auths[priv.addr].auth, 'base64').toString(), `${USER}:${PASSWORD}`);
  const wrong = await dockerCli(m.host, ['login', priv.addr, '-u', USER, '--password-stdin'], { stdin: 'wrong\n' });
  assert.notEqual(wrong.code, 0);
  const direct = await dockerCli(m.engines[0].host, ['login', priv.addr, '-u', USER, '--password-stdin'], { stdin: 'wrong\n' });
  assert.notEqual(direct.code, 0);
  assert.match(wrong.stderr, /401 Unauthorized/);
  assert.equal(wrong.stderr, direct.stderr, 'the manager passes the engine error through');
});

test('private images: push and pull with the login credentials, refused without; create pulls with X-Registry-Auth', async () => {
  const [first, second, third] = m.engines;
  const ref = `${priv.addr}/${uniqueName('secret')}:1`;
  await imageOn(second, ref);
  const anon = await docker('push', ref);
  assert.notEqual(anon.code, 0);
  assert.match(anon.stderr + anon.stdout, /no basic auth credentials|unauthorized/);
  await ok(dockerCli(m.host, ['login', priv.addr, '-u', USER, '--password-stdin'], { stdin: `${PASSWORD}\n`, env: { DOCKER_CONFIG: configDir } }), 'login');
  await ok(loggedIn('push', ref), 'push with credentials');
  await ok(docker('rmi', ref), 'rmi');
  await until('image gone', async () => (await holders(ref)).length === 0);

  const denied = await docker('pull', ref);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr + denied.stdout, /no basic auth credentials|unauthorized/);
  const out = await ok(loggedIn('pull', ref), 'pull with credentials');
  for (const e of m.engines) assert.match(out, new RegExp(`${e.name}: Pulling .* : downloaded`));

  // Pull on not-found with the create's X-Registry-Auth: only node 2 keeps the image.
  for (const e of [first, third]) await ok(dockerCli(e.host, ['rmi', ref]), `rmi on ${e.name}`);
  await until('image only on node 2', async () => (await holders(ref)).join() === second.name);
  const name = uniqueName('priv-run');
  containers.push(name);
  const body = { Image: ref, Cmd: ['true'], Env: [`constraint:node==${first.name}`] };
  const noAuth = await apiCall(m.host, 'POST', `/v1.41/containers/create?name=${uniqueName('noauth')}`, body);
  assert.equal(noAuth.status, 500, noAuth.text);
  assert.match(noAuth.json().message, /no basic auth credentials|unauthorized/);
  const created = await apiCall(m.host, 'POST', `/v1.41/containers/create?name=${name}`, body, {
    'X-Registry-Auth': registryAuth(USER, PASSWORD, priv.addr),
  });
  assert.equal(created.status, 201, created.text);
  assert.equal(await nodeOf(name), first.name);
  assert.deepEqual((await holders(ref)).sort(), [first.name, second.name].sort());
  // The private image's OS was read with the same credentials.
  assert.deepEqual(JSON.parse((await labelsOf(name))['com.docker.swarm.constraints']), [`node==${first.name}`, 'ostype==linux']);
});

test('docker search through the manager: one engine asks the registry (a v1 search endpoint on loopback)', async () => {
  // Distribution 2.x has no search API; a minimal v1 search endpoint stands in for one.
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    if (req.url?.startsWith('/v1/_ping')) return res.end('{}');
    const q = new URL(req.url ?? '', 'http://x').searchParams.get('q') ?? '';
    if (!req.url?.startsWith('/v1/search')) { res.statusCode = 404; return res.end('{}'); }
    res.end(JSON.stringify({ num_results: 1, query: q, results: [{ name: `${q}-found`, description: 'from the loopback index', star_count: 7, is_official: false, is_automated: false }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const out = await ok(docker('search', '--format', '{{.Name}} {{.StarCount}} {{.Description}}', `${addr}/swarmy`), 'search');
    assert.equal(out.trim(), 'swarmy-found 7 from the loopback index');
    assert.ok(seen.some((u) => u.startsWith('/v1/search?q=swarmy')), seen.join(' '));
  } finally {
    server.close();
  }
});

test('docker search goes to one engine and passes its answer through (a v2 registry has no search: the engine error)', async () => {
  const via = await docker('search', `${reg.addr}/anything`);
  const direct = await dockerCli(m.engines[0].host, ['search', `${reg.addr}/anything`]);
  assert.notEqual(direct.code, 0);
  assert.notEqual(via.code, 0);
  assert.match(via.stderr, /Unexpected status code 404/);
  assert.equal(via.stderr, direct.stderr);
});
