// Unit checks that need no ZooKeeper; the store behaviour is in test/integration/discovery-zookeeper.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/core.ts';
import zookeeper, { SCHEME } from './index.ts';

const opts = { heartbeat: 1000, ttl: 3000, opts: {} };

test('the scheme is zk; TLS options are refused, as in legacy', async () => {
  assert.equal(SCHEME, 'zk');
  const core = createCore({ plugins: [zookeeper()] });
  await assert.rejects(core.discovery('zookeeper://h:2181', opts), { code: 'SWARM_ERR_DISCOVERY_UNKNOWN_SCHEME' });
  await assert.rejects(core.discovery('zk://h:2181', { ...opts, opts: { 'kv.cacertfile': '/a', 'kv.certfile': '/b', 'kv.keyfile': '/c' } }),
    /TLS options .* are not supported with zk:\/\/ discovery/);
  await assert.rejects(core.discovery('zk://', opts), /no zk server address/);
});

test('an unreachable server: register rejects with one line naming the store', async () => {
  const core = createCore({ plugins: [zookeeper()] });
  const b = await core.discovery('zk://127.0.0.61:42995/x', opts);
  await assert.rejects(b.register('10.0.0.1:2375'), (err: Error) =>
    err.message.startsWith('zookeeper 127.0.0.61:42995: register 10.0.0.1:2375: ') && !err.message.includes('\n'));
  await b.close?.();
});
