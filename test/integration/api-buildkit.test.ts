/**
 * BuildKit routes through the manager, against real engines (dockerd 20.10 serves `/session` and
 * `POST /build?version=2`). The docker CLI here has no buildx, so the BuildKit client is played by
 * raw HTTP: `POST /session` upgraded to h2c, on which this test serves the gRPC calls the engine
 * makes back to its client (health check; FileSync/DiffCopy, answered with an error carrying a
 * marker, or left hanging). That makes the engine's side observable: an engine only calls back
 * over a session that is connected to it. Debian's docker CLI 20.10 (/usr/bin/docker, from
 * docker.io) still speaks this protocol itself (`DOCKER_BUILDKIT=1`, no buildx): one test uses it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { dockerCli, type TestEngine } from '../cluster/index.ts';
import { startTestManager, uniqueName, type TestManager } from './api-manager.ts';

let m: TestManager;
let target: TestEngine; // node-2: builds are pinned there
let other: TestEngine;
const tags: string[] = [];
const sockets: Duplex[] = [];

before(async () => {
  m = await startTestManager();
  target = m.engines.find((e) => e.name === 'node-2') ?? m.engines[1]!;
  other = m.engines.find((e) => e !== target)!;
});
after(async () => {
  for (const s of sockets) s.destroy();
  for (const t of tags) await dockerCli(m.host, ['rmi', '-f', t]);
  await m?.stop();
});

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: string; socket?: Duplex }

/** One HTTP call (to the manager by default); an Upgrade answer gives the socket. */
function call(method: string, path: string, opts: { headers?: Record<string, string | string[]>; body?: Buffer; to?: string; timeoutMs?: number } = {}): Promise<Answer> {
  const [host, port] = (opts.to ?? m.host.replace('tcp://', '')).split(':');
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), method, path, headers: opts.headers, agent: false });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${path}: no answer in ${opts.timeoutMs ?? 60_000} ms`)), opts.timeoutMs ?? 60_000);
    req.on('upgrade', (res, socket, head) => {
      clearTimeout(timer);
      if (head.length) socket.unshift(head);
      sockets.push(socket);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', socket });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode ?? 0, headers: res.headers, body }); });
      res.on('error', reject);
    });
    req.on('error', (err) => { clearTimeout(timer); reject(err); });
    req.end(opts.body);
  });
}

/** `POST /session` as a BuildKit client opens it. */
function openSession(id: string | undefined, upgrade = true): Promise<Answer> {
  const headers: Record<string, string | string[]> = {
    'X-Docker-Expose-Session-Name': 'swarm-test',
    'X-Docker-Expose-Session-Sharedkey': 'swarm-test',
    'X-Docker-Expose-Session-Grpc-Method': ['/grpc.health.v1.Health/Check', '/moby.filesync.v1.FileSync/DiffCopy'],
  };
  if (upgrade) { headers.Connection = 'Upgrade'; headers.Upgrade = 'h2c'; }
  if (id !== undefined) headers['X-Docker-Expose-Session-Uuid'] = id;
  return call('POST', '/v1.41/session', { headers });
}

/**
 * Serve the client side of a session on an upgraded socket: the engine is the gRPC client.
 * Health checks are answered SERVING; DiffCopy (the engine reading the build context from the
 * client) fails with `marker`, or hangs when `marker` is undefined.
 */
function serveSession(socket: Duplex, marker: string | undefined): { calls: string[] } {
  const calls: string[] = [];
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    calls.push(path);
    stream.on('data', () => {});
    stream.on('error', () => {});
    if (path === '/grpc.health.v1.Health/Check') {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01])); // HealthCheckResponse{status: SERVING}
    } else if (marker !== undefined) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '2', 'grpc-message': marker }, { endStream: true });
    } // else: never answered, the build waits for its context
  });
  server.emit('connection', socket);
  return { calls };
}

const pin = (node: string) => encodeURIComponent(JSON.stringify({ 'constraint:node': `=${node}` }));
const nonTrace = (body: string) => body.split('\n').filter((l) => l.trim() && !l.includes('"moby.buildkit.trace"'));

async function until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('POST /session without X-Docker-Expose-Session-Uuid: 400 "no session ID provided" (upgrade or not)', async () => {
  for (const upgrade of [true, false]) {
    const r = await openSession(undefined, upgrade);
    assert.equal(r.status, 400, `upgrade=${upgrade}: ${r.body}`);
    assert.deepEqual(JSON.parse(r.body), { message: 'no session ID provided' });
  }
});

test('POST /build/cancel without id: 400 "build ID not provided"', async () => {
  const r = await call('POST', '/v1.41/build/cancel');
  assert.equal(r.status, 400);
  assert.deepEqual(JSON.parse(r.body), { message: 'build ID not provided' });
});

test('a session opened before its BuildKit build is switched (101) by the node the build is pinned to, and that engine uses it', async () => {
  const session = uniqueName('sess');
  const marker = `swarm-test-marker-${session}`;
  // The client opens the session first; the manager holds it until the build is placed.
  const opening = openSession(session);
  await new Promise((r) => setTimeout(r, 300));
  const build = call('POST', `/v1.41/build?version=2&session=${session}&buildid=${uniqueName('b')}&remote=client-session&dockerfile=Dockerfile&buildargs=${pin(target.name)}`);
  const s = await opening;
  assert.equal(s.status, 101);
  assert.equal(s.headers.upgrade, 'h2c');
  const served = serveSession(s.socket!, marker);

  // The build read its Dockerfile over our session: build and session are on one engine.
  const b = await build;
  assert.equal(b.status, 200);
  const lines = nonTrace(b.body);
  assert.ok(!b.body.includes('Building on'), 'BuildKit messages are passed untouched');
  assert.ok(b.body.includes('"moby.buildkit.trace"'), 'BuildKit progress passed on');
  assert.match(lines.at(-1) ?? '', new RegExp(marker), lines.join('\n'));
  assert.ok(served.calls.includes('/moby.filesync.v1.FileSync/DiffCopy'), served.calls.join(', '));

  // And that engine is the pinned node: asked directly, node-2 reaches the same session.
  const before = served.calls.length;
  const direct = await call('POST', `/v1.41/build?version=2&session=${session}&buildid=${uniqueName('b')}&remote=client-session&dockerfile=Dockerfile`, { to: target.addr });
  assert.match(direct.body, new RegExp(marker));
  assert.ok(served.calls.slice(before).includes('/moby.filesync.v1.FileSync/DiffCopy'));
  s.socket!.destroy();
});

test('POST /build/cancel reaches the node of a running BuildKit build and cancels it', async () => {
  const session = uniqueName('sess');
  const buildId = uniqueName('b');
  const opening = openSession(session);
  await new Promise((r) => setTimeout(r, 100));
  const build = call('POST', `/v1.41/build?version=2&session=${session}&buildid=${buildId}&remote=client-session&dockerfile=Dockerfile&buildargs=${pin(target.name)}`);
  const s = await opening;
  assert.equal(s.status, 101);
  const served = serveSession(s.socket!, undefined); // the build hangs reading its context
  await until('the build to ask for its context', () => served.calls.includes('/moby.filesync.v1.FileSync/DiffCopy'));

  const c = await call('POST', `/v1.41/build/cancel?id=${buildId}`);
  assert.equal(c.status, 200, c.body);
  const b = await build; // would hang without the cancel (the helper fails after 60 s)
  const lines = nonTrace(b.body);
  assert.match(lines.at(-1) ?? '', /cancel/i, lines.join('\n'));
  s.socket!.destroy();
});

test('the context upload (buildid=upload-request:<id>) goes to the node of its build, sent before or after it', async () => {
  const { execFileSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'bk-'));
  writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY a /a\n');
  writeFileSync(join(dir, 'a'), 'hello\n');
  const tar = execFileSync('tar', ['-C', dir, '-cf', '-', 'Dockerfile', 'a']);
  rmSync(dir, { recursive: true, force: true });

  for (const uploadFirst of [true, false]) {
    const buildId = uniqueName('b');
    const tag = `${uniqueName('bkup')}:1`;
    tags.push(tag);
    const upload = () => call('POST', `/v1.41/build?version=2&buildid=upload-request:${buildId}`, { headers: { 'Content-Type': 'application/x-tar' }, body: tar });
    const main = () => call('POST', `/v1.41/build?version=2&buildid=${buildId}&remote=upload-request&t=${encodeURIComponent(tag)}&buildargs=${pin(target.name)}`);
    let up: Promise<Answer>;
    let b: Promise<Answer>;
    if (uploadFirst) {
      up = upload();
      await new Promise((r) => setTimeout(r, 300)); // the manager holds the upload until the build is placed
      b = main();
    } else {
      b = main();
      await new Promise((r) => setTimeout(r, 300));
      up = upload();
    }
    const [u, r] = await Promise.all([up, b]);
    assert.equal(u.status, 200, u.body);
    assert.equal(r.status, 200);
    assert.ok(r.body.includes(`Successfully tagged ${tag}`), nonTrace(r.body).join('\n'));
    const onTarget = await call('GET', `/v1.41/images/${encodeURIComponent(tag)}/json`, { to: target.addr });
    const onOther = await call('GET', `/v1.41/images/${encodeURIComponent(tag)}/json`, { to: other.addr });
    assert.equal(onTarget.status, 200, `uploadFirst=${uploadFirst}: image on ${target.name}`);
    assert.equal(onOther.status, 404, `uploadFirst=${uploadFirst}: image not on ${other.name}`);
  }
});

test('a session whose build never comes: 500 "timeout waiting for build to start"; cancel of an unknown build: 404', async () => {
  const [s, c] = await Promise.all([openSession(uniqueName('lonely')), call('POST', `/v1.41/build/cancel?id=${uniqueName('nobuild')}`)]);
  assert.equal(s.status, 500);
  assert.deepEqual(JSON.parse(s.body), { message: 'timeout waiting for build to start' });
  assert.equal(c.status, 404);
  assert.match(JSON.parse(c.body).message, /^No such build: nobuild/);
});

/** Debian's docker CLI 20.10: BuildKit built in (session + `version=2` build), unlike CLI 28 without buildx. */
const CLI_20 = '/usr/bin/docker';
const cli20 = existsSync(CLI_20) ? CLI_20 : undefined;

test('docker CLI 20.10 with DOCKER_BUILDKIT=1 builds through the manager on the node a constraint build arg names (context dir over the session, and tar on stdin = upload-request)', { skip: !cli20 && `no docker CLI 20.10 at ${CLI_20}` }, async () => {
  const { execFileSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'bkcli-'));
  writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\nCOPY a /a\nRUN cat /a\n');
  try {
    for (const stdin of [false, true]) {
      const word = uniqueName('hello'); // new content each time: no cached RUN step
      writeFileSync(join(dir, 'a'), `${word}\n`);
      const tar = execFileSync('tar', ['-C', dir, '-cf', '-', 'Dockerfile', 'a']);
      const tag = `${uniqueName('bkcli')}:1`;
      tags.push(tag);
      const r = await new Promise<{ code: number; out: string }>((resolve) => {
        const child = execFile(cli20!, ['-H', m.host, 'build', '--progress', 'plain', '--build-arg', `constraint:node==${target.name}`, '-t', tag, stdin ? '-' : dir],
          { env: { ...process.env, DOCKER_BUILDKIT: '1' }, timeout: 120_000 },
          (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
        child.stdin!.end(stdin ? tar : undefined);
      });
      assert.equal(r.code, 0, `stdin=${stdin}: ${r.out}`);
      // The RUN step printed the file of the context, whichever way it travelled.
      assert.match(r.out, new RegExp(`RUN cat /a[\\s\\S]*${word}`), `stdin=${stdin}`);
      assert.equal((await call('GET', `/v1.41/images/${encodeURIComponent(tag)}/json`, { to: target.addr })).status, 200, `stdin=${stdin}`);
      assert.equal((await call('GET', `/v1.41/images/${encodeURIComponent(tag)}/json`, { to: other.addr })).status, 404, `stdin=${stdin}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
