import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Docker from 'dockerode';
import { LeanModem, toTransportRequest } from './modem.ts';
import { EngineTransport, type Outcome } from './transport.ts';

test('dial options are read with docker-modem semantics', () => {
  assert.deepEqual(toTransportRequest({ path: '/containers/json?', method: 'GET', options: { all: true, filters: { label: ['a=b'] } } }),
    { path: '/containers/json', method: 'GET', query: { all: true, filters: { label: ['a=b'] } } });
  assert.deepEqual(toTransportRequest({ path: '/containers/x/start?', method: 'POST', options: {} }),
    { path: '/containers/x/start', method: 'POST', body: {} });
  const create = toTransportRequest({ path: '/containers/create?', method: 'POST', options: { _query: { name: 'n' }, _body: { Image: 'i' } } });
  assert.deepEqual(create.query, { name: 'n' });
  assert.deepEqual(create.body, { Image: 'i' });
  assert.equal(toTransportRequest({ path: '/images/create?', method: 'POST', options: {}, authconfig: { base64: 'abc' } }).auth, 'abc');
  const auth = toTransportRequest({ path: '/images/create?', method: 'POST', options: {}, authconfig: { username: 'u' } }).auth;
  assert.deepEqual(JSON.parse(Buffer.from(String(auth), 'base64url').toString()), { username: 'u' });
  assert.equal(toTransportRequest({ path: '/info', method: 'GET', options: {} }).query, undefined);
});

test('dockerode on the lean modem: requests, results, docker-modem-shaped errors, outcomes', async () => {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${body}`);
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/containers/create?name=web') { res.statusCode = 201; res.end('{"Id":"abc"}'); return; }
      if (req.url?.startsWith('/containers/json')) { res.end('[{"Id":"abc"}]'); return; }
      if (req.url === '/containers/abc/start') { res.statusCode = 304; res.end(); return; }
      res.statusCode = 404;
      res.end('{"message":"No such container: nope"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const outcomes: Outcome[] = [];
  const transport = new EngineTransport({ host: '127.0.0.1', port, timeout: 5000, label: () => 'test' });
  const docker = new Docker({ modem: new LeanModem(transport, (o) => outcomes.push(o)) } as Docker.DockerOptions);
  try {
    const created = await docker.createContainer({ _query: { name: 'web' }, _body: { Image: 'busybox' } } as Docker.ContainerCreateOptions);
    assert.equal(created.id, 'abc');
    assert.deepEqual(await docker.listContainers({ all: true, filters: { label: ['x=y'] } }), [{ Id: 'abc' }]);
    await assert.rejects(docker.getContainer('abc').start(), (err: Error & { statusCode?: number; reason?: string }) => {
      assert.equal(err.statusCode, 304);
      assert.equal(err.reason, 'container already started');
      return true;
    });
    await assert.rejects(docker.getContainer('nope').inspect(), (err: Error & { statusCode?: number; json?: unknown }) => {
      assert.equal(err.message, '(HTTP code 404) no such container - No such container: nope ');
      assert.deepEqual(err.json, { message: 'No such container: nope' });
      return true;
    });
    assert.deepEqual(seen.slice(0, 2), [
      'POST /containers/create?name=web {"Image":"busybox"}',
      `GET /containers/json?all=true&filters=${encodeURIComponent('{"label":["x=y"]}')} `,
    ]);
    assert.equal(outcomes.length, 4);
  } finally {
    transport.destroy();
    server.close();
  }
});
