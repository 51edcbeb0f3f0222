// The replica forwarder between two real fastify servers on loopback: a "primary" with plain,
// streaming and upgrade endpoints, and a "replica" whose routes answer only what a replica
// answers itself.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import Fastify, { type FastifyInstance } from 'fastify';
import { ReplicaForwarder, isLocalPath, splitHostPort } from './replica.ts';

const HOST = '127.0.0.201';

interface Primary { app: FastifyInstance; addr: string; seen: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[]; streamGate: { next(): void } }

async function startPrimary(): Promise<Primary> {
  const app = Fastify();
  const seen: Primary['seen'] = [];
  let release: (() => void) | undefined;
  const streamGate = { next: () => release?.() };
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.get('/info', async () => ({ Role: 'primary' }));
  app.get('/v1.41/containers/json', async (req, reply) => {
    seen.push({ method: req.method, url: req.url, body: '', headers: req.headers });
    reply.header('X-Primary', 'yes');
    return [{ Id: 'abc' }];
  });
  app.post('/v1.41/containers/create', async (req, reply) => {
    const body = Buffer.isBuffer(req.body) ? req.body.toString() : JSON.stringify(req.body);
    seen.push({ method: req.method, url: req.url, body, headers: req.headers });
    reply.code(201);
    return { Id: 'new', Warnings: [] };
  });
  // A stream that only moves on when the test says so: proves nothing is buffered on the way.
  app.get('/v1.41/events', (req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'Content-Type': 'application/json' });
    let n = 0;
    const push = () => {
      n += 1;
      reply.raw.write(JSON.stringify({ n }) + '\n');
      if (n === 3) reply.raw.end();
      else release = push;
    };
    push();
  });
  app.get('/v1.41/die', (req, reply) => {
    reply.hijack();
    req.socket.destroy(); // the primary dies before answering
  });
  app.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    const parts: Buffer[] = head.length ? [head] : [];
    socket.on('data', (d: Buffer) => parts.push(d));
    // Echo on stdin EOF, upper-cased, then close: needs the half-close to pass through.
    socket.on('end', () => socket.end(`${req.url}:${Buffer.concat(parts).toString().toUpperCase()}`));
  });
  await app.listen({ host: HOST, port: 0 });
  const { port } = app.server.address() as net.AddressInfo;
  return { app, addr: `${HOST}:${port}`, seen, streamGate };
}

/** Wired as core/api/index.ts does: the replica decides at the HTTP server, before fastify routes. */
async function startReplica(forwarder: ReplicaForwarder): Promise<{ app: FastifyInstance; server: http.Server; port: number }> {
  const app = Fastify();
  app.get('/_ping', async () => 'OK');
  app.get('/info', async () => ({ Role: forwarder.role.role }));
  app.get('/containers/json', async () => [{ Id: 'served-locally' }]);
  await app.ready();
  const server = http.createServer((req, res) => {
    void forwarder.handle(req, res).then((taken) => {
      if (taken) return;
      req.url = (req.url ?? '/').replace(/^\/v\d+\.\d+/, '');
      app.routing(req, res);
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    void forwarder.handleUpgrade(req, socket, head).then((taken) => {
      if (!taken) socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  return { app, server, port: (server.address() as net.AddressInfo).port };
}

function request(port: number, method: string, path: string, opts: { body?: string | Buffer[]; agent?: http.Agent; signal?: AbortSignal; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ host: HOST, port, method, path, agent: opts.agent, signal: opts.signal, headers: opts.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (Array.isArray(opts.body)) {
      for (const b of opts.body) req.write(b); // no length: Node sends it chunked
      req.end();
    } else req.end(opts.body);
  });
}

const primary = await startPrimary();
const forwarder = new ReplicaForwarder({ self: `${HOST}:1` });
forwarder.setRole({ role: 'replica', primary: primary.addr });
const replica = await startReplica(forwarder);
after(async () => {
  replica.server.closeAllConnections();
  await new Promise((r) => replica.server.close(r));
  await replica.app.close();
  await primary.app.close();
});

test('a replica answers /_ping and …/info itself and forwards everything else with status, headers and body', async () => {
  const ping = await request(replica.port, 'GET', '/_ping');
  assert.equal(ping.body, 'OK');
  const info = await request(replica.port, 'GET', '/v1.41/info');
  assert.deepEqual(JSON.parse(info.body), { Role: 'replica' });
  const list = await request(replica.port, 'GET', '/v1.41/containers/json?all=1');
  assert.equal(list.status, 200);
  assert.equal(list.headers['x-primary'], 'yes');
  assert.deepEqual(JSON.parse(list.body), [{ Id: 'abc' }]);
  assert.equal(primary.seen.at(-1)!.url, '/v1.41/containers/json?all=1');
});

test('sized and chunked request bodies reach the primary intact', async () => {
  const json = JSON.stringify({ Image: 'busybox', Cmd: ['echo', 'x'.repeat(100_000)] });
  const a = await request(replica.port, 'POST', '/v1.41/containers/create?name=web', { body: json, headers: { 'Content-Type': 'application/json' } });
  assert.equal(a.status, 201);
  assert.equal(primary.seen.at(-1)!.body, json);
  const parts = [Buffer.from('first part,'), Buffer.alloc(70_000, 'b'), Buffer.from(',last')];
  const b = await request(replica.port, 'POST', '/v1.41/containers/create', { body: parts, headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(b.status, 201);
  assert.equal(primary.seen.at(-1)!.body, Buffer.concat(parts).toString());
  assert.equal(primary.seen.at(-1)!.headers['transfer-encoding'], 'chunked');
});

test('a keep-alive client can send several requests through the replica', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 3; i++) {
      const r = await request(replica.port, 'GET', '/v1.41/containers/json', { agent });
      assert.deepEqual(JSON.parse(r.body), [{ Id: 'abc' }]);
    }
  } finally {
    agent.destroy();
  }
});

test('a stream is passed on as it is produced, not when it ends', async () => {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get({ host: HOST, port: replica.port, path: '/v1.41/events' }, resolve).on('error', reject));
  const lines: string[] = [];
  res.setEncoding('utf8');
  let buf = '';
  for await (const chunk of res) {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      // The primary writes the next event only after this one arrived through the replica.
      primary.streamGate.next();
    }
  }
  assert.deepEqual(lines.map((l) => JSON.parse(l).n), [1, 2, 3]);
});

test('an upgraded connection is spliced both ways, half-close included', async () => {
  const sock = net.connect({ host: HOST, port: replica.port, allowHalfOpen: true });
  await once(sock, 'connect');
  sock.write('POST /v1.41/containers/web/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: swarm\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
  sock.write('hello ');
  const parts: Buffer[] = [];
  sock.on('data', (d: Buffer) => parts.push(d));
  sock.end('world'); // stdin EOF: the primary answers only after it sees it
  await once(sock, 'close');
  const text = Buffer.concat(parts).toString();
  assert.match(text, /^HTTP\/1.1 101 UPGRADED\r\n/);
  assert.ok(text.endsWith('/v1.41/containers/web/attach?stream=1&stdin=1:HELLO WORLD'), text);
});

test('without a primary a request waits; it is forwarded once one is elected', async () => {
  forwarder.setRole({ role: 'replica', primary: undefined });
  const pending = request(replica.port, 'GET', '/v1.41/containers/json');
  while (forwarder.waiting === 0) await new Promise((r) => setImmediate(r));
  const ping = await request(replica.port, 'GET', '/_ping'); // local answers do not wait
  assert.equal(ping.body, 'OK');
  forwarder.setRole({ role: 'replica', primary: primary.addr });
  assert.deepEqual(JSON.parse((await pending).body), [{ Id: 'abc' }]);
});

test('a waiting request is served locally when this manager becomes the primary (or is named primary)', async () => {
  forwarder.setRole({ role: 'replica' });
  const first = request(replica.port, 'GET', '/v1.41/containers/json');
  while (forwarder.waiting === 0) await new Promise((r) => setImmediate(r));
  forwarder.setRole({ role: 'primary' });
  assert.deepEqual(JSON.parse((await first).body), [{ Id: 'served-locally' }]);

  forwarder.setRole({ role: 'replica', primary: `${HOST}:1` }); // our own advertise address
  const second = await request(replica.port, 'GET', '/v1.41/containers/json');
  assert.deepEqual(JSON.parse(second.body), [{ Id: 'served-locally' }]);
  forwarder.setRole({ role: 'replica', primary: primary.addr });
});

test('a client that gives up while waiting is no longer waited for', async () => {
  forwarder.setRole({ role: 'replica' });
  const ac = new AbortController();
  const pending = request(replica.port, 'GET', '/v1.41/containers/json', { signal: ac.signal });
  while (forwarder.waiting === 0) await new Promise((r) => setImmediate(r));
  ac.abort();
  await assert.rejects(pending);
  while (forwarder.waiting !== 0) await new Promise((r) => setImmediate(r));
  forwarder.setRole({ role: 'replica', primary: primary.addr });
});

async function deadAddress(): Promise<string> {
  const dead = net.createServer();
  await new Promise<void>((r) => dead.listen(0, HOST, r));
  const addr = `${HOST}:${(dead.address() as net.AddressInfo).port}`;
  await new Promise((r) => dead.close(r)); // nothing listens there any more
  return addr;
}

function rawUpgrade(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port, allowHalfOpen: true });
    const parts: Buffer[] = [];
    sock.on('connect', () => sock.end(`POST ${path} HTTP/1.1\r\nHost: s\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nping`));
    sock.on('data', (d: Buffer) => parts.push(d));
    sock.on('close', () => resolve(Buffer.concat(parts).toString()));
    sock.on('error', reject);
  });
}

test('a primary that stays unreachable is a 500 with the legacy message, for plain and upgraded requests', async () => {
  const quick = new ReplicaForwarder({ unreachableWait: 200 });
  const r = await startReplica(quick);
  const deadAddr = await deadAddress();
  quick.setRole({ role: 'replica', primary: deadAddr });
  try {
    const res = await request(r.port, 'GET', '/v1.41/containers/json');
    assert.equal(res.status, 500);
    const msg = JSON.parse(res.body).message as string;
    assert.match(msg, /^Unable to reach primary cluster manager \(.*ECONNREFUSED.*\): /);
    assert.ok(msg.endsWith(`: ${deadAddr}`));
    assert.match(await rawUpgrade(r.port, '/v1.41/exec/x/start'), /^HTTP\/1.1 500 [^]*Unable to reach primary cluster manager/);
    assert.equal(quick.waiting, 0);
  } finally {
    r.server.closeAllConnections();
    await new Promise((res) => r.server.close(res));
    await r.app.close();
  }
});

test('a request refused by a dead primary waits for the next one and goes there (plain and upgraded)', async () => {
  forwarder.setRole({ role: 'replica', primary: await deadAddress() });
  const plain = request(replica.port, 'GET', '/v1.41/containers/json');
  const upgraded = rawUpgrade(replica.port, '/v1.41/containers/web/attach');
  while (forwarder.waiting < 2) await new Promise((r) => setTimeout(r, 5));
  forwarder.setRole({ role: 'replica', primary: primary.addr }); // the election moved on
  assert.deepEqual(JSON.parse((await plain).body), [{ Id: 'abc' }]);
  assert.match(await upgraded, /^HTTP\/1.1 101 UPGRADED[^]*\/v1.41\/containers\/web\/attach:PING$/);
});

test('a request refused by a dead primary is served here when this manager wins the election', async () => {
  forwarder.setRole({ role: 'replica', primary: await deadAddress() });
  const plain = request(replica.port, 'GET', '/v1.41/containers/json');
  while (forwarder.waiting < 1) await new Promise((r) => setTimeout(r, 5));
  forwarder.setRole({ role: 'primary' });
  assert.deepEqual(JSON.parse((await plain).body), [{ Id: 'served-locally' }]);
  forwarder.setRole({ role: 'replica', primary: primary.addr });
});

test('a primary that drops the connection before answering gives the client an error, not silence', async () => {
  const r = await request(replica.port, 'GET', '/v1.41/die');
  assert.equal(r.status, 500);
  assert.match(JSON.parse(r.body).message, /^Unable to reach primary cluster manager \(connection closed.*\): /);
});

test('local paths match by suffix; addresses split with IPv6 brackets', () => {
  assert.equal(isLocalPath('/v1.30/info?x=1'), true);
  assert.equal(isLocalPath('/_ping'), true);
  assert.equal(isLocalPath('/debug'), true);
  assert.equal(isLocalPath('/debug/pprof/'), false);
  assert.equal(isLocalPath('/containers/info/json'), false);
  assert.deepEqual(splitHostPort('[::1]:2375'), { host: '::1', port: 2375 });
  assert.deepEqual(splitHostPort('127.0.0.1:4000'), { host: '127.0.0.1', port: 4000 });
  assert.throws(() => splitHostPort('nohost'), /invalid primary address/);
});

test('with TLS the replica presents its certificate to the primary, which verifies it', async () => {
  const { createPki } = await import('../../test/security/certs.ts');
  const { readFileSync } = await import('node:fs');
  const pki = createPki();
  const serverCerts = pki.issue('manager', { server: true, client: true, ips: [HOST] });
  const read = (f: string) => readFileSync(f, 'utf8');
  const app = Fastify({ https: { cert: read(serverCerts.cert), key: read(serverCerts.key), ca: read(pki.ca), requestCert: true, rejectUnauthorized: true } });
  app.get('/v1.41/containers/json', async (req) => [{ Id: 'tls', Peer: (req.raw.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN }]);
  await app.listen({ host: HOST, port: 0 });
  const tlsPrimary = `${HOST}:${(app.server.address() as net.AddressInfo).port}`;
  const good = new ReplicaForwarder({ tls: { cert: read(serverCerts.cert), key: read(serverCerts.key), ca: read(pki.ca), rejectUnauthorized: true } });
  const foreign = pki.foreign('stranger');
  const bad = new ReplicaForwarder({ tls: { cert: read(foreign.cert), key: read(foreign.key), ca: read(pki.ca), rejectUnauthorized: true } });
  const r1 = await startReplica(good);
  const r2 = await startReplica(bad);
  try {
    good.setRole({ role: 'replica', primary: tlsPrimary });
    bad.setRole({ role: 'replica', primary: tlsPrimary });
    const ok = await request(r1.port, 'GET', '/v1.41/containers/json');
    assert.deepEqual(JSON.parse(ok.body), [{ Id: 'tls', Peer: 'manager' }]);
    const refused = await request(r2.port, 'GET', '/v1.41/containers/json');
    assert.equal(refused.status, 500);
    assert.match(JSON.parse(refused.body).message, /^Unable to reach primary cluster manager \(/);
  } finally {
    for (const r of [r1, r2]) {
      r.server.closeAllConnections();
      await new Promise((res) => r.server.close(res));
      await r.app.close();
    }
    await app.close();
    pki.cleanup();
  }
});
