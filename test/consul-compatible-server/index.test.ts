// The emulator against the `consul` npm client: the same calls a program makes to a real Consul.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Consul from 'consul';
import { startConsulServer, SESSION_TTL_MULTIPLIER } from './index.ts';

/** The client decodes a JSON `false` body as undefined; Consul answers `true` or `false`. */
async function isTrue(p: Promise<unknown>): Promise<boolean> {
  return (await p) === true;
}

async function withServer(t: { after(fn: () => Promise<void>): void }, sessionTtlMinMs = 1000) {
  const srv = await startConsulServer({ host: '127.0.0.60', port: 0, sessionTtlMinMs });
  t.after(() => srv.close());
  const consul = new Consul({ host: srv.host, port: srv.port });
  return { srv, consul };
}

test('KV: put/get (base64 values, flags), recurse, keys with separator, raw, delete, 404', async (t) => {
  const { consul, srv } = await withServer(t);
  assert.equal(await isTrue(consul.kv.set({ key: 'a/b/1', value: 'one', flags: 7 })), true);
  assert.equal(await isTrue(consul.kv.set('a/b/2', 'two')), true);
  assert.equal(await isTrue(consul.kv.set('a/c', 'three')), true);
  const one = await consul.kv.get('a/b/1') as { Key: string; Value: string; Flags: number; CreateIndex: number; ModifyIndex: number };
  assert.equal(one.Key, 'a/b/1');
  assert.equal(one.Value, 'one');
  assert.equal(one.Flags, 7);
  assert.ok(one.CreateIndex > 0 && one.ModifyIndex === one.CreateIndex);
  const all = await consul.kv.get({ key: 'a/', recurse: true }) as { Key: string }[];
  assert.deepEqual(all.map((i) => i.Key), ['a/b/1', 'a/b/2', 'a/c']);
  assert.deepEqual(await consul.kv.keys({ key: 'a/', separator: '/' }), ['a/b/', 'a/c']);
  assert.deepEqual(await consul.kv.keys('a/'), ['a/b/1', 'a/b/2', 'a/c']);
  const raw = await fetch(`http://${srv.endpoint}/v1/kv/a/c?raw`);
  assert.equal(await raw.text(), 'three');
  assert.equal(await consul.kv.get('missing'), undefined);
  const miss = await fetch(`http://${srv.endpoint}/v1/kv/missing`);
  assert.equal(miss.status, 404);
  assert.ok(Number(miss.headers.get('x-consul-index')) > 0, 'a 404 still carries X-Consul-Index');
  assert.equal(await isTrue(consul.kv.del({ key: 'a/b/', recurse: true })), true);
  assert.deepEqual(await consul.kv.keys('a/'), ['a/c']);
});

test('KV: check-and-set on put and delete', async (t) => {
  const { consul } = await withServer(t);
  assert.equal(await isTrue(consul.kv.set({ key: 'k', value: 'v1', cas: 0 })), true, 'cas=0 creates when absent');
  assert.equal(await isTrue(consul.kv.set({ key: 'k', value: 'v2', cas: 0 })), false, 'cas=0 fails when present');
  const { ModifyIndex, Value } = await consul.kv.get('k') as { ModifyIndex: number; Value: string };
  assert.equal(Value, 'v1', 'the failed cas=0 put changed nothing');
  assert.equal(await isTrue(consul.kv.set({ key: 'k', value: 'v3', cas: ModifyIndex + 100 })), false);
  assert.equal(await isTrue(consul.kv.set({ key: 'k', value: 'v3', cas: ModifyIndex })), true);
  const now = await consul.kv.get('k') as { ModifyIndex: number; Value: string };
  assert.equal(now.Value, 'v3');
  assert.equal(await isTrue(consul.kv.del({ key: 'k', cas: ModifyIndex })), false, 'stale index');
  assert.equal(await isTrue(consul.kv.del({ key: 'k', cas: now.ModifyIndex })), true);
});

test('blocking query: returns when something under the prefix changes, with a higher X-Consul-Index', async (t) => {
  const { consul, srv } = await withServer(t);
  await consul.kv.set('p/x', '1');
  const first = await fetch(`http://${srv.endpoint}/v1/kv/p/?recurse`);
  const index = Number(first.headers.get('x-consul-index'));
  await consul.kv.set('other', 'unrelated'); // outside the prefix: must not wake the query
  let returned = false;
  const blocked = fetch(`http://${srv.endpoint}/v1/kv/p/?recurse&index=${index}&wait=30s`).then((r) => { returned = true; return r; });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(returned, false, 'the query returned although nothing under p/ changed');
  await consul.kv.set('p/y', '2');
  const res = await blocked;
  assert.ok(Number(res.headers.get('x-consul-index')) > index);
  assert.deepEqual((await res.json() as { Key: string }[]).map((i) => i.Key), ['p/x', 'p/y']);
  // A delete also moves the index (tombstone), so watchers see removals.
  const idx2 = Number(res.headers.get('x-consul-index'));
  const blocked2 = fetch(`http://${srv.endpoint}/v1/kv/p/?recurse&index=${idx2}&wait=30s`);
  await consul.kv.del('p/x');
  const res2 = await blocked2;
  assert.ok(Number(res2.headers.get('x-consul-index')) > idx2);
  assert.deepEqual((await res2.json() as { Key: string }[]).map((i) => i.Key), ['p/y']);
  // wait elapses: same index back, 200.
  const idx3 = Number(res2.headers.get('x-consul-index'));
  const timedOut = await fetch(`http://${srv.endpoint}/v1/kv/p/?recurse&index=${idx3}&wait=200ms`);
  assert.equal(Number(timedOut.headers.get('x-consul-index')), idx3);
});

test('sessions: create/info/list/renew/destroy and TTL validation', async (t) => {
  const { consul, srv } = await withServer(t, 10_000);
  await assert.rejects(consul.session.create({ ttl: '5s' }), /Invalid Session TTL '5000000000', must be between \[10s=24h0m0s\]/);
  await assert.rejects(consul.session.create({ behavior: 'nope' as 'delete' }), /Invalid Behavior setting 'nope'/);
  const { ID } = await consul.session.create({ name: 'n', ttl: '15s', behavior: 'delete', lockdelay: '5s' });
  const info = await consul.session.info(ID);
  assert.equal(info.ID, ID);
  assert.equal(info.Behavior, 'delete');
  assert.equal(info.TTL, '15s');
  assert.equal(info.LockDelay, 5e9);
  assert.equal((await consul.session.list()).length, 1);
  assert.equal((await consul.session.renew(ID))[0].ID, ID);
  await consul.session.destroy(ID);
  await consul.session.destroy(ID); // destroying an unknown session is not an error in Consul
  assert.equal(await consul.session.info(ID), undefined);
  const renew = await fetch(`http://${srv.endpoint}/v1/session/renew/${ID}`, { method: 'PUT' });
  assert.equal(renew.status, 404);
  assert.equal(await renew.text(), `Session id '${ID}' not found`);
});

test('locks: acquire/release, LockIndex, held keys are released or deleted when the TTL session expires', async (t) => {
  const { consul } = await withServer(t, 1000);
  const a = (await consul.session.create({ ttl: '1s', behavior: 'release', lockdelay: '0s' })).ID;
  const b = (await consul.session.create({ ttl: '30s', behavior: 'release', lockdelay: '0s' })).ID;
  assert.equal(await isTrue(consul.kv.set({ key: 'lock', value: 'A', acquire: a })), true);
  assert.equal(await isTrue(consul.kv.set({ key: 'lock', value: 'B', acquire: b })), false, 'held by a');
  const held = await consul.kv.get('lock') as { Session?: string; LockIndex: number; Value: string };
  assert.equal(held.Session, a);
  assert.equal(held.LockIndex, 1);
  assert.equal(await isTrue(consul.kv.set({ key: 'lock', value: 'A', release: b })), false, 'b does not hold it');
  assert.equal(await isTrue(consul.kv.set({ key: 'lock', value: 'A2', release: a })), true);
  assert.equal((await consul.kv.get('lock') as { Session?: string }).Session, undefined);
  assert.equal(await isTrue(consul.kv.set({ key: 'lock', value: 'A3', acquire: a })), true);

  const d = (await consul.session.create({ ttl: '1s', behavior: 'delete', lockdelay: '0s' })).ID;
  assert.equal(await isTrue(consul.kv.set({ key: 'node', value: 'x', acquire: d })), true);
  // Not renewed: invalidated after TTL × 2 (Consul's grace); poll rather than time it.
  for (let i = 0; i < 100 && (await consul.session.info(a)) !== undefined; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await consul.session.info(a), undefined, `session a still alive after ${SESSION_TTL_MULTIPLIER}× its TTL`);
  for (let i = 0; i < 50 && (await consul.session.info(d)) !== undefined; i++) await new Promise((r) => setTimeout(r, 100));
  const released = await consul.kv.get('lock') as { Session?: string; Value: string };
  assert.equal(released.Session, undefined, 'behavior release: the key stays, unlocked');
  assert.equal(released.Value, 'A3');
  assert.equal(await consul.kv.get('node'), undefined, 'behavior delete: the key is gone');
  assert.equal(await isTrue(consul.kv.set({ key: 'lock', value: 'B', acquire: b })), true, 'b can take the freed lock');
});

test('lock-delay: after invalidation the key cannot be re-acquired until the delay ends', async (t) => {
  const { consul } = await withServer(t, 1000);
  const a = (await consul.session.create({ ttl: '10s', lockdelay: '1s' })).ID;
  const b = (await consul.session.create({ ttl: '10s' })).ID;
  assert.equal(await isTrue(consul.kv.set({ key: 'l', value: 'a', acquire: a })), true);
  await consul.session.destroy(a);
  assert.equal(await isTrue(consul.kv.set({ key: 'l', value: 'b', acquire: b })), false, 'inside the lock-delay');
  let ok = false;
  for (let i = 0; i < 40 && !ok; i++) {
    await new Promise((r) => setTimeout(r, 100));
    ok = await isTrue(consul.kv.set({ key: 'l', value: 'b', acquire: b }));
  }
  assert.equal(ok, true, 'acquirable once the lock-delay has passed');
});

test('acquire with an unknown session is an error (500), as in Consul', async (t) => {
  const { consul } = await withServer(t);
  await assert.rejects(consul.kv.set({ key: 'x', value: 'v', acquire: '00000000-0000-0000-0000-000000000000' }), /invalid session/);
});
