import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRequest } from '../pipeline/request.ts';
import { NodeList } from '../pipeline/node-list.ts';
import type { NodeView } from '../types.ts';
import { findNetwork } from './lookup.ts';
import { hasHardNodeConstraint, stripNodeNames, withLocalNetwork, type NetworkLookup } from './local-network.ts';

// Plain cluster data: `bridge` on two nodes (ambiguous by name), a local network on node-2,
// a global overlay seen from both nodes (one ID).
const rows = [
  { id: 'b1'.padEnd(64, '1'), name: 'bridge', nodeId: 'ID1', nodeName: 'node-1', scope: 'local' },
  { id: 'b2'.padEnd(64, '2'), name: 'bridge', nodeId: 'ID2', nodeName: 'node-2', scope: 'local' },
  { id: 'c0ffee'.padEnd(64, '3'), name: 'lnet', nodeId: 'ID2', nodeName: 'node-2', scope: 'local' },
  { id: 'dd'.padEnd(64, '4'), name: 'over', nodeId: 'ID1', nodeName: 'node-1', scope: 'global' },
  { id: 'dd'.padEnd(64, '4'), name: 'over', nodeId: 'ID2', nodeName: 'node-2', scope: 'global' },
];
const lookup: NetworkLookup = (ref) => findNetwork(rows, ref);

function create(networkMode: string, extra: Record<string, unknown> = {}) {
  return buildRequest({ Image: 'busybox', HostConfig: { NetworkMode: networkMode, Memory: 7 }, ...extra }, 'c');
}

function labels(spec: unknown): Record<string, string> {
  return (spec as { Labels?: Record<string, string> }).Labels ?? {};
}

test('local network by node/name, bare name, full ID and ID prefix: soft node constraint and bare NetworkMode', () => {
  for (const ref of ['node-2/lnet', 'ID2/lnet', 'lnet', rows[2]!.id, 'c0ffee']) {
    const out = withLocalNetwork(create(ref), lookup);
    assert.deepEqual(out.rules.constraint, ['node==~node-2'], ref);
    assert.equal(labels(out.spec)['com.docker.swarm.constraints'], '["node==~node-2"]', ref);
    assert.equal(out.networkMode, 'lnet', ref);
    assert.deepEqual((out.spec as { HostConfig: unknown }).HostConfig, { NetworkMode: 'lnet', Memory: 7 }, ref);
  }
});

test('existing rules are kept; a hard node constraint suppresses the automatic one but NetworkMode is still rewritten', () => {
  const soft = withLocalNetwork(create('node-2/lnet', { Env: ['constraint:zone==b', 'constraint:node==~node-1'] }), lookup);
  assert.deepEqual(soft.rules.constraint, ['zone==b', 'node==~node-1', 'node==~node-2']);
  const again = withLocalNetwork(create('lnet', { Labels: { 'com.docker.swarm.constraints': '["node==~node-2"]' } }), lookup);
  assert.deepEqual(again.rules.constraint, ['node==~node-2'], 'a recreated container keeps one rule');
  const hard = withLocalNetwork(create('node-2/lnet', { Env: ['constraint:node==node-3'] }), lookup);
  assert.deepEqual(hard.rules.constraint, ['node==node-3']);
  assert.equal(hard.networkMode, 'lnet');
  assert.equal(hasHardNodeConstraint(hard), true);
  assert.equal(hasHardNodeConstraint(soft), false);
});

test('ambiguous, global, unknown and special network modes are left alone', () => {
  for (const ref of ['bridge', 'over', 'node-1/over', 'nosuch', 'host', 'container:abc', 'default', '']) {
    const request = create(ref);
    assert.equal(withLocalNetwork(request, lookup), request, ref);
  }
  // `node-1/bridge` is unique, hence local on node-1.
  const b = withLocalNetwork(create('node-1/bridge'), lookup);
  assert.deepEqual(b.rules.constraint, ['node==~node-1']);
  assert.equal(b.networkMode, 'bridge');
});

test('endpoint keys lose a node-name prefix only when it is a known node', () => {
  const spec = {
    Image: 'busybox',
    NetworkingConfig: { EndpointsConfig: { 'node-2/lnet': { Aliases: ['a'] }, 'other/x': {}, plain: { IPAMConfig: null } } },
  };
  const out = stripNodeNames(spec, () => ['node-1', 'node-2', '']) as typeof spec;
  assert.deepEqual(out.NetworkingConfig.EndpointsConfig, { lnet: { Aliases: ['a'] }, 'other/x': {}, plain: { IPAMConfig: null } });
  assert.deepEqual(Object.keys(spec.NetworkingConfig.EndpointsConfig), ['node-2/lnet', 'other/x', 'plain'], 'input untouched');
  assert.equal(stripNodeNames(spec, () => ['node-3']), spec);
  const none = { Image: 'busybox' };
  assert.equal(stripNodeNames(none, () => ['node-1']), none);
  // Node names are listed only when some endpoint key could carry a node prefix.
  let asked = 0;
  const names = () => { asked += 1; return ['node-1', 'node-2']; };
  const plain = { Image: 'busybox', NetworkingConfig: { EndpointsConfig: { lnet: {} } } };
  assert.equal(stripNodeNames(plain, names), plain);
  assert.equal(stripNodeNames({ Image: 'busybox', NetworkingConfig: { EndpointsConfig: {} } }, names).Image, 'busybox');
  assert.equal(asked, 0);
  const prefixed = stripNodeNames({ Image: 'busybox', NetworkingConfig: { EndpointsConfig: { 'node-1/lnet': {} } } }, names) as typeof spec;
  assert.deepEqual(prefixed.NetworkingConfig.EndpointsConfig, { lnet: {} });
  assert.equal(asked, 1);
});

test('the create pipeline request: engine networks resolved through the cluster lookup, endpoints stripped', async () => {
  const { clusterRequest } = await import('./create.ts');
  const engine = { name: 'node-2' };
  const ctx = {
    snapshot: () => NodeList.from([{ name: 'node-1' }, { name: 'node-2' }] as unknown as NodeView[]),
    network: (ref: string) => (ref === 'node-2/lnet' ? { engine, network: { raw: { Name: 'lnet', Scope: 'local' } } } : undefined),
  } as unknown as Parameters<typeof clusterRequest>[0];
  const out = clusterRequest(ctx, {
    Image: 'busybox',
    HostConfig: { NetworkMode: 'node-2/lnet' },
    NetworkingConfig: { EndpointsConfig: { 'node-2/lnet': {} } },
  }, 'c');
  assert.deepEqual(out.rules.constraint, ['node==~node-2']);
  assert.equal(out.networkMode, 'lnet');
  assert.deepEqual(out.spec.NetworkingConfig, { EndpointsConfig: { lnet: {} } });
  assert.deepEqual(out.spec.HostConfig, { NetworkMode: 'lnet' });
});
