/**
 * Hostile and malformed input refused by the manager itself, through `app.inject()` on an empty
 * cluster: every answer is a 4xx `{"message": …}` and nothing reaches the scheduler or an engine.
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
let cluster: Cluster;

before(async () => {
  const core = createCore({ plugins: defaultPlugins() });
  cluster = createCluster(core, { refreshMinInterval: 1000, refreshMaxInterval: 2000, failureRetry: 3, overcommit: 0.05, createRetry: 0 });
  app = buildApp({ core, cluster, hosts: [], bodyLimit: 4096 });
  await app.ready();
});
after(async () => {
  await app.close();
  await cluster.close();
});

const JSON_CT = { 'content-type': 'application/json' };

async function expectError(opts: { method: string; url: string; headers?: Record<string, string>; payload?: string | object }, status: number, message: string | RegExp) {
  const res = await app.inject(opts as never);
  assert.equal(res.statusCode, status, `${opts.method} ${opts.url} ${JSON.stringify(opts.payload)}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /application\/json/);
  const body = JSON.parse(res.body) as { message: string };
  assert.deepEqual(Object.keys(body), ['message']);
  if (typeof message === 'string') assert.equal(body.message, message);
  else assert.match(body.message, message);
}

const create = (body: object | string, headers: Record<string, string> = JSON_CT) =>
  ({ method: 'POST', url: '/containers/create', headers, payload: typeof body === 'string' ? body : JSON.stringify(body) });

test('create: wrong Go types are a 400 with the decoder message, before any scheduling', async () => {
  const cases: [object, string | RegExp][] = [
    [{ Image: 5 }, 'invalid JSON: json: cannot unmarshal number 5 into Go struct field Config.Image of type string'],
    [{ Image: ['busybox'] }, 'invalid JSON: json: cannot unmarshal array into Go struct field Config.Image of type string'],
    [{ image: true }, 'invalid JSON: json: cannot unmarshal boolean into Go struct field Config.Image of type string'],
    [{ Image: 'busybox', Env: 'constraint:x' }, 'invalid JSON: json: cannot unmarshal string into Go struct field Config.Env of type []string'],
    [{ Image: 'busybox', Env: ['A=1', 2] }, 'invalid JSON: json: cannot unmarshal number 2 into Go struct field Config.Env of type string'],
    [{ Image: 'busybox', Labels: { a: 1 } }, 'invalid JSON: json: cannot unmarshal number 1 into Go struct field Config.Labels of type string'],
    [{ Image: 'busybox', HostConfig: { CpuShares: 'two' } }, 'invalid JSON: json: cannot unmarshal string into Go struct field Config.HostConfig.CpuShares of type int64'],
    [{ Image: 'busybox', HostConfig: { Memory: 1e300 } }, /cannot unmarshal number 1e\+300 into Go struct field Config.HostConfig.Memory of type int64/],
    [{ Image: 'busybox', HostConfig: { Memory: 1.5 } }, /cannot unmarshal number 1.5 into Go struct field Config.HostConfig.Memory of type int64/],
    [{ Image: 'busybox', HostConfig: { PortBindings: { '80/tcp': 'x' } } }, /cannot unmarshal string into Go struct field Config.HostConfig.PortBindings of type \[\]container.PortBinding/],
    [{ Image: 'busybox', HostConfig: { RestartPolicy: { MaximumRetryCount: 'a' } } }, /HostConfig.RestartPolicy.MaximumRetryCount of type int/],
    [{ Image: 'busybox', HostConfig: 'x' }, /Config.HostConfig of type container.HostConfig/],
  ];
  for (const [body, message] of cases) await expectError(create(body), 400, message);
});

test('create: negative resources, bad reschedule policies and unparsable expressions are 400s', async () => {
  await expectError(create({ Image: 'busybox', HostConfig: { Memory: -5 } }), 400, 'invalid HostConfig.Memory: -5 (must not be negative)');
  await expectError(create({ Image: 'busybox', HostConfig: { CpuShares: -1 } }), 400, 'invalid HostConfig.CpuShares: -1 (must not be negative)');
  await expectError(create({ Image: 'busybox', Labels: { 'com.docker.swarm.reschedule-policies': '["sometimes"]' } }), 400, 'invalid reschedule policy: sometimes');
  await expectError(create({ Image: 'busybox', Env: ['constraint:x'] }), 400, "invalid constraint expression 'x': One of operator ==, != is expected");
  await expectError(create({ Image: 'busybox', Env: ['constraint:storage=='] }), 400, "invalid constraint expression 'storage==': Value '' is invalid");
  await expectError(create({ Image: 'busybox', Env: ['affinity:x==a,b'] }), 400, "invalid affinity expression 'x==a,b': Key 'x' is invalid");
  await expectError(create({ Image: 'busybox', Labels: { 'com.docker.swarm.constraints': '["==x"]' } }), 400, "invalid constraint expression '==x': Key '' is invalid");
  // Well-formed expressions pass validation and reach the scheduler (no engine: the original's 500).
  const res = await app.inject(create({ Env: ['constraint:storage==ssd'] }));
  assert.equal(res.statusCode, 500);
});

test('create: the engine content-type rule, huge bodies and malformed JSON', async () => {
  await expectError(create({ Image: 'busybox' }, { 'content-type': 'text/plain' }), 400, "Content-Type specified (text/plain) must be 'application/json'");
  await expectError(create({ Image: 'busybox' }, {}), 400, "Content-Type specified () must be 'application/json'");
  await expectError(create({ Image: 'busybox' }, { 'content-type': 'application/json; charset=utf-8' }), 404, 'No such image: busybox');
  await expectError(create('x'.repeat(5000)), 413, 'request body larger than 4096 bytes');
  await expectError(create('{"Image": '), 400, /^invalid JSON/);
  await expectError(create('\u0000\u0001'), 400, /^invalid JSON/);
  // Deep but valid JSON in a field the engine ignores: accepted (here: no engine holds the image).
  await expectError(create('{"Image":"busybox","Name":' + '['.repeat(200) + ']'.repeat(200) + '}'), 404, 'No such image: busybox');
});

test('/swarm/plan validates its create body the same way', async () => {
  await expectError({ method: 'POST', url: '/swarm/plan', headers: JSON_CT, payload: '{"Image":5}' }, 400, /cannot unmarshal number 5/);
  await expectError({ method: 'POST', url: '/swarm/plan', headers: JSON_CT, payload: '{"Env":["constraint:k~x"]}' }, 400, /invalid constraint expression/);
});

test('auth: a body that is not a JSON object of strings is a 400', async () => {
  const auth = (payload: string) => ({ method: 'POST', url: '/auth', headers: JSON_CT, payload });
  await expectError(auth(''), 400, 'invalid JSON: got EOF while reading request body');
  await expectError(auth('[]'), 400, 'invalid JSON: json: cannot unmarshal array into Go value of type types.AuthConfig');
  await expectError(auth('"text"'), 400, 'invalid JSON: json: cannot unmarshal string into Go value of type types.AuthConfig');
  await expectError(auth('{'), 400, /^invalid JSON: /);
  await expectError(auth('{"username": 5}'), 400, 'invalid JSON: json: cannot unmarshal number 5 into Go struct field AuthConfig.username of type string');
  // A valid body goes on to an engine: none here.
  await expectError(auth('{"username":"u","password":"p","unknown":[1]}'), 500, 'No healthy node available in the cluster');
});

test('networks: an empty name is a 400', async () => {
  for (const payload of ['{}', '{"Name":""}', '{"Name":"  "}', '{"Name":5}']) {
    await expectError({ method: 'POST', url: '/networks/create', headers: JSON_CT, payload }, 400, 'invalid name: network name must not be empty');
  }
});

test('an API version outside the advertised range is refused as the engine refuses it', async () => {
  await expectError({ method: 'GET', url: '/v9.99/version' }, 400, 'client version 9.99 is too new. Maximum supported API version is 1.41');
  await expectError({ method: 'GET', url: '/v1.42/containers/json' }, 400, 'client version 1.42 is too new. Maximum supported API version is 1.41');
  await expectError({ method: 'GET', url: '/v1.11/info' }, 400, 'client version 1.11 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version');
  for (const url of ['/v1.41/version', '/v1.12/version', '/version']) assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url);
  // Not a version prefix at all: an unknown route.
  await expectError({ method: 'GET', url: '/v1/version' }, 404, '404 page not found');
  await expectError({ method: 'GET', url: '/vX.Y/version' }, 404, '404 page not found');
});
