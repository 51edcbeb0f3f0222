import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineImpl, splitAddr, type EngineOwner } from './engine.ts';
import { resolveOptions } from './options.ts';
import { createBodyOf } from './cluster.ts';

function engineWithOwner(failureRetry = 2) {
  const changes: string[] = [];
  const owner: EngineOwner = {
    options: resolveOptions({ refreshMinInterval: 1000, refreshMaxInterval: 1000, failureRetry }),
    logger: resolveOptions({ refreshMinInterval: 1, refreshMaxInterval: 1 }).logger,
    stateChanged: (_e, change) => { changes.push(change); },
    engineEvent: () => {},
    duplicateId: () => undefined,
  };
  return { engine: new EngineImpl('127.0.0.39:1', owner), changes };
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.39:1'), { code: 'ECONNREFUSED' });

test('state machine: connection failures flag Unhealthy at the retry count, success revives', () => {
  const { engine, changes } = engineWithOwner(2);
  engine.state = 'healthy';
  engine.recordOutcome(refused());
  assert.equal(engine.state, 'healthy');
  assert.equal(engine.failures, 1);
  assert.equal(engine.healthIndicator(), 50);
  assert.match(engine.error, /ECONNREFUSED/);
  engine.recordOutcome(Object.assign(new Error('No such container'), { statusCode: 404 }));
  assert.equal(engine.failures, 1, 'an HTTP error proves the engine answers and changes nothing');
  engine.recordOutcome(refused());
  assert.equal(engine.state, 'unhealthy');
  assert.deepEqual(changes, ['disconnect']);
  engine.recordOutcome(refused());
  assert.deepEqual(changes, ['disconnect'], 'flagged once');
  assert.equal(engine.healthIndicator(), 0);
  engine.recordOutcome();
  assert.equal(engine.state, 'healthy');
  assert.equal(engine.failures, 0);
  assert.equal(engine.error, '');
  assert.deepEqual(changes, ['disconnect', 'reconnect']);
  engine.close();
  assert.equal(engine.state, 'disconnected');
  engine.recordOutcome(refused());
  assert.equal(engine.failures, 0, 'a closed engine records nothing');
});

test('pending engines only note the time of an outcome', () => {
  const { engine, changes } = engineWithOwner(1);
  const before = engine.updatedAt;
  engine.recordOutcome(refused());
  assert.equal(engine.state, 'pending');
  assert.equal(engine.failures, 0);
  assert.ok(engine.updatedAt >= before);
  assert.deepEqual(changes, []);
  assert.equal(engine.id, '127.0.0.39:1');
  engine.close();
});

test('addresses: host:port and [v6]:port', () => {
  assert.deepEqual(splitAddr('10.0.0.1:2375'), { host: '10.0.0.1', port: 2375 });
  assert.deepEqual(splitAddr('node-1.example:2376'), { host: 'node-1.example', port: 2376 });
  assert.deepEqual(splitAddr('[::1]:2375'), { host: '::1', port: 2375 });
  assert.throws(() => splitAddr('no-port'));
});

test('create body of a cached container: Config + HostConfig with CPUs + endpoints', () => {
  const body = createBodyOf({
    summary: {},
    inspect: {
      Config: { Image: 'busybox', Env: ['A=1'], Labels: { 'com.docker.swarm.id': 'x' } },
      HostConfig: { CpuShares: 512, Memory: 64, NetworkMode: 'mynet' },
      NetworkSettings: { Networks: { mynet: { Aliases: ['web'], IPAMConfig: null, Links: null, EndpointID: 'e', IPAddress: '10.0.0.2' } } },
    },
    view: { id: 'c', names: ['/web'], image: 'busybox', imageId: '', state: 'running', labels: {}, portBindings: [], networkMode: 'mynet', exposedPorts: [], cpus: 2, memory: 64, created: 0 },
  });
  assert.deepEqual(body, {
    Image: 'busybox', Env: ['A=1'], Labels: { 'com.docker.swarm.id': 'x' },
    HostConfig: { CpuShares: 2, Memory: 64, NetworkMode: 'mynet' },
    NetworkingConfig: { EndpointsConfig: { mynet: { IPAMConfig: null, Links: null, Aliases: ['web'] } } },
  });
});
