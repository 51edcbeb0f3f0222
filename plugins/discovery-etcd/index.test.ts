// Unit checks that need no etcd; the store behaviour is in test/integration/discovery-etcd.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/core.ts';
import etcd, { leaseSeconds } from './index.ts';

const opts = { heartbeat: 1000, ttl: 3000, opts: {} };

test('leases are whole seconds, at least one', () => {
  assert.equal(leaseSeconds(180_000), 180);
  assert.equal(leaseSeconds(1500), 2);
  assert.equal(leaseSeconds(10), 1);
});

test('bad URLs and partial TLS options fail when the backend is asked for', async () => {
  const core = createCore({ plugins: [etcd()] });
  await assert.rejects(core.discovery('etcd://', opts), { code: 'SWARM_ERR_DISCOVERY', message: 'invalid discovery URL "etcd://": no etcd server address' });
  await assert.rejects(core.discovery('etcd://h:0/x', opts), /invalid discovery URL "etcd:\/\/h:0\/x": address h:0: invalid port/);
  await assert.rejects(core.discovery('etcd://h:2379', { ...opts, opts: { 'kv.certfile': '/c', 'kv.keyfile': '/k' } }),
    /needs kv.cacertfile, kv.certfile and kv.keyfile; missing kv.cacertfile/);
});

test('the backend implements watch, register, elect and close', async () => {
  const core = createCore({ plugins: [etcd()] });
  const b = await core.discovery('etcd://127.0.0.1:2379,127.0.0.2:2379/p', opts);
  assert.equal(typeof b.elect, 'function');
  await b.close?.();
  await b.close?.(); // idempotent
});
