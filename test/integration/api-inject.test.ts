/**
 * API status codes and error shapes through `app.inject()`, without engines: the real core and
 * engine layer with an empty cluster. Every error is `{"message": …}` with the legacy status.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { createCore } from '../../core/core.ts';
import { createCluster } from '../../core/engine/index.ts';
import type { Cluster } from '../../core/engine/cluster-api.ts';
import { buildApp } from '../../core/api/index.ts';
import { defaultPlugins } from './api-manager.ts';

let app: FastifyInstance;
let corsApp: FastifyInstance;
let cluster: Cluster;

before(async () => {
  const core = createCore({ plugins: defaultPlugins() });
  cluster = createCluster(core, { refreshMinInterval: 1000, refreshMaxInterval: 2000, failureRetry: 3, overcommit: 0.05, createRetry: 0 });
  app = buildApp({ core, cluster, hosts: [], experimental: true });
  corsApp = buildApp({ core, cluster, hosts: [], cors: true });
  await app.ready();
  await corsApp.ready();
});
after(async () => {
  await app.close();
  await corsApp.close();
  await cluster.close();
});

function assertError(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, message: string | RegExp) {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /application\/json/);
  const body = JSON.parse(res.body) as { message: string };
  assert.deepEqual(Object.keys(body), ['message']);
  if (typeof message === 'string') assert.equal(body.message, message);
  else assert.match(body.message, message);
  assert.doesNotMatch(res.body, /\n\s+at /, 'no stack trace');
}

test('HEAD and GET /_ping answer 200 OK with the negotiation headers', async () => {
  for (const method of ['GET', 'HEAD'] as const) {
    for (const url of ['/_ping', '/v1.41/_ping', '/v1.24/_ping']) {
      const res = await app.inject({ method, url });
      assert.equal(res.statusCode, 200, `${method} ${url}`);
      assert.equal(res.headers['api-version'], '1.41');
      assert.equal(res.headers.ostype, 'linux');
      assert.equal(res.headers['docker-experimental'], 'true');
      if (method === 'GET') assert.equal(res.body, 'OK');
    }
  }
});

test('/version names swarm, its API range and platform, under any version prefix in range', async () => {
  for (const url of ['/version', '/v1.41/version', '/v1.12/version']) {
    const res = await app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 200);
    const v = res.json() as Record<string, unknown>;
    assert.equal(v.Version, 'swarm/1.2.9');
    assert.equal(v.ApiVersion, '1.41');
    assert.equal(v.MinAPIVersion, '1.12');
    assert.deepEqual(v.Platform, { Name: 'Docker Swarm - Community' });
    assert.equal(v.Experimental, true);
  }
});

test('/info of an empty cluster: SystemStatus pairs, inactive swarm, swarm server version', async () => {
  const res = await app.inject({ method: 'GET', url: '/v1.41/info' });
  assert.equal(res.statusCode, 200);
  const info = res.json() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(info.ServerVersion, 'swarm/1.2.9');
  assert.equal(info.Swarm.LocalNodeState, 'inactive');
  assert.equal(info.ExperimentalBuild, true);
  assert.equal(info.Containers, 0);
  assert.deepEqual(info.SystemStatus, [
    ['Role', 'primary'],
    ['Strategy', 'spread'],
    ['Filters', 'health, port, containerslots, dependency, affinity, constraint, whitelist'],
    ['Nodes', '0'],
  ]);
});

test('unknown routes and swarm-mode routes answer 404 page not found', async () => {
  for (const [method, url] of [
    ['GET', '/nope'], ['GET', '/v1.41/services'], ['GET', '/nodes'], ['GET', '/swarm'], ['GET', '/tasks'],
    ['GET', '/secrets'], ['GET', '/configs'], ['GET', '/plugins'], ['GET', '/system/df'], ['POST', '/containers/prune'],
    ['POST', '/images/prune'], ['POST', '/networks/prune'], ['POST', '/volumes/prune'], ['GET', '/distribution/busybox/json'],
    ['POST', '/grpc'], ['DELETE', '/_ping'],
  ] as const) {
    assertError(await app.inject({ method, url }), 404, '404 page not found');
  }
});

test('/images/viz is not implemented in clustering mode (501)', async () => {
  assertError(await app.inject({ method: 'GET', url: '/images/viz' }), 501, 'Not supported in clustering mode.');
});

test('container-scoped calls on unknown containers are 404 with the engine wording', async () => {
  assertError(await app.inject({ method: 'GET', url: '/v1.41/containers/nope/json' }), 404, 'No such container: nope');
  assertError(await app.inject({ method: 'GET', url: '/containers/node-1/nope/logs?stdout=1' }), 404, 'No such container: node-1/nope');
  assertError(await app.inject({ method: 'POST', url: '/containers/nope/start' }), 404, 'No such container: nope');
  assertError(await app.inject({ method: 'POST', url: '/containers/nope/kill' }), 404, 'No such container: nope');
  assertError(await app.inject({ method: 'DELETE', url: '/containers/nope?force=1' }), 404, 'Container nope not found');
  assertError(await app.inject({ method: 'POST', url: '/containers/nope/exec', payload: { Cmd: ['ls'] } }), 404, 'No such container: nope');
  assertError(await app.inject({ method: 'POST', url: '/commit?container=nope' }), 404, 'No such container: nope');
  assertError(await app.inject({ method: 'GET', url: '/exec/abc/json' }), 404, 'Exec abc not found');
  assertError(await app.inject({ method: 'POST', url: '/exec/abc/start', payload: {} }), 404, 'Exec abc not found');
});

test('create refuses bad JSON and bad names with 400, and reports scheduling failures', async () => {
  assertError(await app.inject({
    method: 'POST', url: '/containers/create', headers: { 'content-type': 'application/json' }, payload: '{"Image": ',
  }), 400, /^invalid JSON/);
  assertError(await app.inject({
    method: 'POST', url: '/containers/create', headers: { 'content-type': 'application/json' }, payload: '[1]',
  }), 400, /^invalid JSON/);
  assertError(await app.inject({ method: 'POST', url: '/containers/create?name=bad%20name', payload: { Image: 'busybox' } }), 400,
    'Invalid container name (bad name), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
  // No engine holds the image: 404 as on an engine (the CLI then pulls).
  assertError(await app.inject({ method: 'POST', url: '/containers/create', payload: { Image: 'busybox' } }), 404, 'No such image: busybox');
  // No engine at all: the scheduler has nothing to place on.
  const res = await app.inject({ method: 'POST', url: '/containers/create', payload: { Cmd: ['true'] } });
  assert.equal(res.statusCode, 500);
  assert.ok((res.json() as { message: string }).message.length > 0);
});

test('images, networks and volumes: not found and invalid filters', async () => {
  assertError(await app.inject({ method: 'GET', url: '/images/busybox/json' }), 404, 'No such image: busybox');
  assertError(await app.inject({ method: 'GET', url: '/images/localhost:5000/a/b:1/history' }), 404, 'No such image: localhost:5000/a/b:1');
  assertError(await app.inject({ method: 'POST', url: '/images/busybox/tag?repo=x&tag=1' }), 404, 'No such image: busybox');
  assertError(await app.inject({ method: 'DELETE', url: '/images/busybox' }), 404, 'No such image: busybox');
  assertError(await app.inject({ method: 'GET', url: '/images/get?names=a&names=b' }), 404, 'Unable to find a healthy engine containing all images: [a b]');
  assertError(await app.inject({ method: 'GET', url: `/images/json?filters=${encodeURIComponent('{"dangling":["maybe"]}')}` }), 400, "Invalid filter: 'type'='dangling'");
  assertError(await app.inject({ method: 'GET', url: `/networks?filters=${encodeURIComponent('{"type":["odd"]}')}` }), 400, "Invalid filter: 'type'='odd'");
  assertError(await app.inject({ method: 'GET', url: '/networks/node-1/nope' }), 404, 'No such network: node-1/nope');
  assertError(await app.inject({ method: 'DELETE', url: '/networks/nope' }), 404, 'No such network: nope');
  assertError(await app.inject({ method: 'GET', url: '/volumes/nope' }), 404, 'No such volume: nope');
  assertError(await app.inject({ method: 'DELETE', url: '/volumes/nope' }), 404, 'No such volume: nope');
  const imgs = await app.inject({ method: 'GET', url: '/images/json' });
  assert.deepEqual(imgs.json(), []);
  const vols = await app.inject({ method: 'GET', url: '/volumes' });
  assert.deepEqual(vols.json(), { Volumes: [], Warnings: null });
});

test('events: a bad until is 400; listing containers with bad filters is refused', async () => {
  assertError(await app.inject({ method: 'GET', url: '/events?until=yesterday' }), 400, 'invalid value for until: yesterday');
  assertError(await app.inject({ method: 'GET', url: '/containers/json?filters=%7Bbad' }), 400, /^invalid filter/);
  assertError(await app.inject({ method: 'GET', url: `/containers/json?filters=${encodeURIComponent('{"status":["sleepy"]}')}` }), 400,
    'Unrecognised filter value for status: sleepy');
  assertError(await app.inject({ method: 'GET', url: '/containers/json?limit=abc' }), 400, 'invalid value for limit: abc');
  const ok = await app.inject({ method: 'GET', url: '/containers/json?all=1' });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json(), []);
});

test('an events stream with until in the past ends at once, empty', async () => {
  const res = await app.inject({ method: 'GET', url: '/events?until=1' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, '');
});

test('with --cors every response carries the CORS headers and OPTIONS answers 200', async () => {
  const res = await corsApp.inject({ method: 'OPTIONS', url: '/v1.41/containers/json' });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['access-control-allow-origin'], '*');
  assert.equal(res.headers['access-control-allow-methods'], 'GET, POST, DELETE, PUT, OPTIONS, HEAD');
  const ping = await corsApp.inject({ method: 'GET', url: '/_ping' });
  assert.equal(ping.headers['access-control-allow-headers'], 'Origin, X-Requested-With, Content-Type, Accept');
  const plain = await app.inject({ method: 'GET', url: '/_ping' });
  assert.equal(plain.headers['access-control-allow-origin'], undefined);
  assertError(await app.inject({ method: 'OPTIONS', url: '/containers/json' }), 404, '404 page not found');
});

test('a body that is not JSON is 400 on every JSON route', async () => {
  for (const url of ['/swarm/plan', '/networks/create', '/volumes/create', '/v1.41/containers/create']) {
    assertError(await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: 'nope' }), 400, /^invalid JSON/);
  }
});

test('JSON bodies above the body limit are refused with 413; --debug adds /debug/vars', async () => {
  const core = createCore({ plugins: defaultPlugins() });
  const small = buildApp({ core, cluster, hosts: [], bodyLimit: 64, debug: true });
  try {
    const big = { Image: 'busybox', Env: ['X='.padEnd(200, 'x')] };
    assertError(await small.inject({ method: 'POST', url: '/containers/create', payload: big }), 413, 'request body larger than 64 bytes');
    const vars = await small.inject({ method: 'GET', url: '/debug/vars' });
    assert.equal(vars.statusCode, 200);
    assert.equal(typeof (vars.json() as { uptime: number }).uptime, 'number');
    assertError(await app.inject({ method: 'GET', url: '/debug/vars' }), 404, '404 page not found');
  } finally {
    await small.close();
  }
});
