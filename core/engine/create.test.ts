import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRequest } from '../pipeline/request.ts';
import { NodeList } from '../pipeline/node-list.ts';
import { clusterRequest, engineSpec, hasHardNodeConstraint, newSwarmId, pendingView, withSwarmId } from './create.ts';

test('swarm ID: a fresh 64-hex label is added, an existing one is kept, and IDs in use are avoided', () => {
  const { body, swarmId } = withSwarmId({ Image: 'busybox', Labels: { a: 'b' } }, () => false);
  assert.match(swarmId, /^[0-9a-f]{64}$/);
  assert.deepEqual((body as { Labels: Record<string, string> }).Labels, { a: 'b', 'com.docker.swarm.id': swarmId });
  const kept = withSwarmId({ Labels: { 'com.docker.swarm.id': 'abc' } }, () => false);
  assert.equal(kept.swarmId, 'abc');
  let calls = 0;
  const avoided = withSwarmId({}, () => ++calls < 3);
  assert.equal(calls, 3);
  assert.match(avoided.swarmId, /^[0-9a-f]{64}$/);
  // IDs come from a pool refilled from the CSPRNG: past several refills, every one is new.
  const seen = new Set<string>();
  for (let i = 0; i < 300; i++) seen.add(newSwarmId(() => false));
  assert.equal(seen.size, 300);
  for (const id of seen) assert.match(id, /^[0-9a-f]{64}$/);
});

test('request IDs of creates come from the same pool: 32 hex digits, all different, interleaved with swarm IDs', () => {
  const ctx = { snapshot: () => NodeList.empty, network: () => undefined };
  const seen = new Set<string>();
  for (let i = 0; i < 300; i++) {
    seen.add(clusterRequest(ctx, { Image: 'busybox' }, `c${i}`).id);
    seen.add(newSwarmId(() => false));
  }
  assert.equal(seen.size, 600);
  assert.equal([...seen].filter((id) => /^[0-9a-f]{32}$/.test(id)).length, 300);
  assert.equal([...seen].filter((id) => /^[0-9a-f]{64}$/.test(id)).length, 300);
});

test('engine spec: CpuShares becomes ceil(cpus×1024/NCPU) only when CPUs are reserved', () => {
  const spec = engineSpec({ Image: 'x', CpuShares: 2, HostConfig: { CpuShares: 2, Memory: 5 } }, 2, 3);
  assert.deepEqual(spec, { Image: 'x', HostConfig: { CpuShares: 683, Memory: 5 } });
  const untouched = { Image: 'x', HostConfig: { Memory: 5 } };
  assert.deepEqual(engineSpec(untouched, 0, 4), untouched);
});

test('pending view reserves name, ports, resources and labels of the request', () => {
  const request = buildRequest({
    Image: 'busybox',
    Env: ['constraint:zone==a'],
    HostConfig: { CpuShares: 1, Memory: 64, PortBindings: { '80/tcp': [{ HostPort: '8080' }] }, NetworkMode: 'bridge' },
    ExposedPorts: { '80/tcp': {} },
  }, 'web');
  const v = pendingView(request);
  assert.equal(v.state, 'pending');
  assert.deepEqual(v.names, ['/web']);
  assert.equal(v.cpus, 1);
  assert.equal(v.memory, 64);
  assert.deepEqual(v.portBindings, [{ containerPort: '80/tcp', hostIp: '', hostPort: '8080' }]);
  assert.deepEqual(v.exposedPorts, ['80/tcp']);
  assert.equal(v.networkMode, 'bridge');
  assert.equal(v.labels['com.docker.swarm.constraints'], '["zone==a"]');
  assert.deepEqual(pendingView(buildRequest({ Image: 'busybox' }, '')).names, []);
});

test('a hard node constraint disables the image-affinity retry; a soft one does not', () => {
  assert.equal(hasHardNodeConstraint(buildRequest({ Env: ['constraint:node==node-1'] }, '')), true);
  assert.equal(hasHardNodeConstraint(buildRequest({ Env: ['constraint:node==~node-1'] }, '')), false);
  assert.equal(hasHardNodeConstraint(buildRequest({ Env: ['constraint:zone==a'] }, '')), false);
});
