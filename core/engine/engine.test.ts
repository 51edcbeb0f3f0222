import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createdInspect, EngineImpl, sameSummary, splitAddr, type EngineOwner } from './engine.ts';
import { containerView, summaryFromInspect } from './views.ts';
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

test('createdInspect: a named create is cached as the engine would show it before its first inspect', () => {
  const spec = {
    Image: 'busybox', Entrypoint: ['/bin/sh', '-c'], Cmd: ['sleep 60'], Labels: { a: 'b' },
    HostConfig: { CpuShares: 512, Memory: 64 * 2 ** 20, PortBindings: { '80/tcp': [{ HostPort: '8080' }] } },
    NetworkingConfig: { EndpointsConfig: {} },
  };
  const inspect = createdInspect('c0ffee', 'web', spec, Date.parse('2026-01-02T03:04:05Z'));
  assert.equal(inspect.Name, '/web');
  assert.equal(inspect.State.Status, 'created');
  assert.equal(inspect.State.Running, false);
  assert.equal(inspect.Created, '2026-01-02T03:04:05.000Z');
  assert.equal(inspect.Path, '/bin/sh');
  assert.deepEqual(inspect.Args, ['-c', 'sleep 60']);
  assert.equal(inspect.Config.Image, 'busybox');
  assert.deepEqual(inspect.Config.Labels, { a: 'b' });
  assert.equal(inspect.Config.NetworkingConfig, undefined);
  assert.equal(inspect.HostConfig.NetworkMode, 'default');
  const summary = summaryFromInspect(inspect);
  assert.deepEqual(summary.Names, ['/web']);
  assert.equal(summary.Command, '/bin/sh -c sleep 60');
  assert.equal(summary.State, 'created');
  const view = containerView(summary, inspect, 2);
  assert.equal(view.cpus, 1);
  assert.equal(view.memory, 64 * 2 ** 20);
  assert.deepEqual(view.portBindings, [{ containerPort: '80/tcp', hostIp: '', hostPort: '8080' }]);
  assert.deepEqual(view.labels, { a: 'b' });
  // A string Cmd (old API versions) and no command at all.
  assert.equal(createdInspect('x', 'y', { Image: 'busybox', Cmd: 'top' }).Path, 'top');
  assert.equal(createdInspect('x', 'y', { Image: 'busybox' }).Path, '');
});

test('sameSummary: list summaries compared without the clock-driven Status text', () => {
  const a = { Id: 'x', Names: ['/web'], State: 'running', Status: 'Up 5 minutes', Labels: { k: 'v' }, Ports: [{ PrivatePort: 80, Type: 'tcp' }] };
  assert.equal(sameSummary(a, { ...a, Status: 'Up 6 minutes' }), true);
  assert.equal(sameSummary(a, { ...a, State: 'exited' }), false);
  assert.equal(sameSummary(a, { ...a, Labels: { k: 'w' } }), false);
  assert.equal(sameSummary(a, { ...a, Ports: [] }), false);
  assert.equal(sameSummary(a, { ...a, Names: ['/web', '/other/db'] }), false);
  assert.equal(sameSummary(a, { ...a, Mounts: [] }), false, 'a field more');
  assert.equal(sameSummary(undefined, a), false);
});

test('proxied calls share the engine layer\'s kept-alive connection, kept across refresh ticks', async () => {
  const http = await import('node:http');
  const { engineRequest } = await import('../api/proxy.ts');
  let connections = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('Content-Type', 'application/json');
      if (req.url?.endsWith('/start')) { res.statusCode = 204; res.end(); return; }
      res.end('{"Id":"abc","State":{"Status":"running"}}');
    });
  });
  server.on('connection', () => { connections += 1; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as import('node:net').AddressInfo;
  const owner: EngineOwner = {
    options: resolveOptions({ refreshMinInterval: 30_000, refreshMaxInterval: 90_000 }),
    logger: resolveOptions({ refreshMinInterval: 1, refreshMaxInterval: 1 }).logger,
    stateChanged: () => {}, engineEvent: () => {}, duplicateId: () => undefined,
  };
  const engine = new EngineImpl(`127.0.0.1:${port}`, owner);
  try {
    assert.equal((await engine.inspectContainer('abc')).Id, 'abc');
    const started = await engineRequest(engine, { method: 'POST', path: '/containers/abc/start', body: '' });
    assert.equal(started.status, 204);
    assert.equal((await engine.inspectContainer('abc')).Id, 'abc');
    assert.equal(connections, 1, 'engine calls and proxied calls on one connection');
    // An idle connection is kept for twice the longest refresh gap, not closed between two ticks.
    assert.equal((engine.endpoint.agent as unknown as { options: { timeout?: number } }).options.timeout, 180_000);
  } finally {
    engine.close();
    server.close();
  }
});

test('an image list read again unchanged rebuilds nothing; a changed one is taken', async () => {
  const http = await import('node:http');
  let images = [{ Id: 'sha256:a', RepoTags: ['busybox:latest'], Created: 1, Size: 1 }];
  const server = http.createServer((req, res) => {
    req.resume();
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(images));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as import('node:net').AddressInfo;
  let told = 0;
  const owner: EngineOwner = {
    options: resolveOptions({ refreshMinInterval: 1000, refreshMaxInterval: 1000 }),
    logger: resolveOptions({ refreshMinInterval: 1, refreshMaxInterval: 1 }).logger,
    stateChanged: () => {}, engineEvent: () => {}, duplicateId: () => undefined,
    imagesChanged: () => { told += 1; },
  };
  const engine = new EngineImpl(`127.0.0.1:${port}`, owner);
  try {
    await engine.refreshImages();
    const version = engine.cacheVersion;
    const view = engine.nodeView();
    assert.deepEqual(engine.images().map((i) => i.view.id), ['sha256:a']);
    assert.equal(told, 1);
    await engine.refreshImages();
    assert.equal(engine.cacheVersion, version, 'unchanged list: nothing derived is rebuilt');
    assert.equal(engine.nodeView(), view);
    assert.equal(told, 1);
    images = [...images, { Id: 'sha256:b', RepoTags: ['other:1'], Created: 2, Size: 2 }];
    await engine.refreshImages();
    assert.ok(engine.cacheVersion > version);
    assert.equal(told, 2);
    assert.deepEqual(engine.nodeView().images.map((i) => i.id), ['sha256:a', 'sha256:b']);
  } finally {
    engine.close();
    server.close();
  }
});

test('lookup index: an unchanged cache entry keeps its row object, changed and new entries get new rows', () => {
  const { engine } = engineWithOwner();
  const entry = (id: string, name: string) => {
    const inspect = createdInspect(id, name, { Image: 'busybox' });
    const summary = summaryFromInspect(inspect);
    return { summary, inspect, view: containerView(summary, inspect, 1) };
  };
  engine.restore(entry('a'.repeat(64), 'one'));
  const first = engine.lookupIndex();
  assert.deepEqual(first.rows.map((r) => r.names), [['/one']]);
  engine.restore(entry('b'.repeat(64), 'two'));
  const second = engine.lookupIndex();
  assert.notEqual(second, first);
  assert.equal(second.rows.length, 2);
  assert.equal(second.rows.find((r) => r.id === 'a'.repeat(64)), first.rows[0], 'unchanged entry, same row');
  engine.restore(entry('a'.repeat(64), 'renamed'));
  const third = engine.lookupIndex();
  const renamed = third.rows.find((r) => r.id === 'a'.repeat(64))!;
  assert.notEqual(renamed, first.rows[0]);
  assert.deepEqual(renamed.names, ['/renamed']);
  assert.equal(third.rows.find((r) => r.id === 'b'.repeat(64)), second.rows.find((r) => r.id === 'b'.repeat(64)));
  engine.forget('b'.repeat(64));
  assert.deepEqual(engine.lookupIndex().rows.map((r) => r.id), ['a'.repeat(64)]);
  engine.close();
});
