// Unit checks against the in-process Consul-compatible emulator (no Consul server exists here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Consul from 'consul';
import { createCore } from '../../core/core.ts';
import { startConsulServer } from '../../test/consul-compatible-server/index.ts';
import consul, { sessionTtl } from './index.ts';

test('session TTL is half the registration ttl (Consul waits up to twice the TTL)', () => {
  assert.equal(sessionTtl(180_000), '90000ms');
  assert.equal(sessionTtl(3000), '1500ms');
});

test('register writes <prefix>/<kv.path>/<addr> = addr under a delete-behaviour session, refreshed not duplicated', async (t) => {
  const srv = await startConsulServer({ host: '127.0.0.60', port: 0, sessionTtlMinMs: 1000 });
  t.after(() => srv.close());
  const core = createCore({ plugins: [consul()] });
  const b = await core.discovery(`consul://${srv.endpoint}/pre`, { heartbeat: 1000, ttl: 30_000, opts: { 'kv.path': 'my/nodes' } });
  t.after(() => b.close?.());
  await b.register('10.0.0.1:2375');
  await b.register('10.0.0.1:2375');
  const client = new Consul({ host: srv.host, port: srv.port });
  const items = await client.kv.get({ key: 'pre/my/nodes/', recurse: true }) as unknown as { Key: string; Value: string; Session: string }[];
  assert.deepEqual(items.map((i) => [i.Key, i.Value]), [['pre/my/nodes/10.0.0.1:2375', '10.0.0.1:2375']]);
  const sessions = await client.session.list();
  assert.equal(sessions.length, 1, 'the second register renewed the session instead of creating one');
  assert.equal(sessions[0].Behavior, 'delete');
  assert.equal(sessions[0].TTL, '15000ms');
  assert.equal(items[0].Session, sessions[0].ID);
});

test('a session TTL below Consul session_ttl_min is reported in one line', async (t) => {
  const srv = await startConsulServer({ host: '127.0.0.60', port: 0 }); // default min 10 s
  t.after(() => srv.close());
  const core = createCore({ plugins: [consul()] });
  const b = await core.discovery(`consul://${srv.endpoint}`, { heartbeat: 1000, ttl: 6000, opts: {} });
  await assert.rejects(b.register('10.0.0.1:2375'), (err: Error) =>
    err.message.startsWith(`consul ${srv.endpoint}: register 10.0.0.1:2375: `) && err.message.includes('Invalid Session TTL') && !err.message.includes('\n'));
});
