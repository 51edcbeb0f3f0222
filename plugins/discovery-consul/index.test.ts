// Unit checks against the in-process Consul-compatible emulator (no Consul server exists here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Consul from 'consul';
import { pino } from 'pino';
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

test('election with a lock TTL Consul refuses (--replication-ttl under 20 s) logs Consul\'s answer, not "unreachable"', async (t) => {
  const srv = await startConsulServer({ host: '127.0.0.60', port: 0 }); // default session_ttl_min 10 s
  t.after(() => srv.close());
  const lines: string[] = [];
  const logger = pino(new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c)).msg); cb(); } }));
  const core = createCore({ plugins: [consul()] });
  const b = await core.discovery(`consul://${srv.endpoint}/ha`, { heartbeat: 1000, ttl: 0, opts: {}, logger });
  t.after(() => b.close?.());
  const ac = new AbortController();
  const states: unknown[] = [];
  const run = (async () => { for await (const s of b.elect!({ addr: '10.0.0.9:4000', ttl: 4000 }, ac.signal)) states.push(s); })();
  for (let i = 0; i < 100 && !lines.some((l) => l.startsWith('leader election:')); i++) await new Promise((r) => setTimeout(r, 50));
  ac.abort();
  await run;
  const election = lines.filter((l) => l.startsWith('leader election:'));
  assert.equal(election.length, 1, `one line, got ${JSON.stringify(lines)}`);
  assert.match(election[0], new RegExp(`^leader election: consul ${srv.endpoint.replace(/\./g, '\\.')} refused the election \\(Invalid Session TTL '2000000000', must be between \\[10s=24h0m0s\\]\\), retrying$`));
  assert.deepEqual(states, [], 'no leadership without a session');
});
