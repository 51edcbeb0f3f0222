/** The build/session registry behind the BuildKit routes (waits, sharing, record lifetime). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildRegistry, WAIT_TIMEOUT_MESSAGE, type BuildNode } from './session.ts';

const n1: BuildNode = { id: 'ID1', name: 'node-1', addr: '127.0.0.11:2375' };
const n2: BuildNode = { id: 'ID2', name: 'node-2', addr: '127.0.0.12:2375' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a session waiter and build waiters are woken by the build that names them', async () => {
  const r = new BuildRegistry({ waitMs: 2_000 });
  const session = r.waitSession('S');
  const builds = [r.waitBuild('B'), r.waitBuild('B')];
  const { node } = r.startBuild('S', 'B', n2);
  assert.equal(node, n2);
  assert.equal(await session, n2);
  for (const b of builds) assert.equal(await b, n2);
  assert.equal(await r.waitSession('S'), n2, 'known now: no wait');
});

test('nothing scheduled within the wait: the original 500 message', async () => {
  const r = new BuildRegistry({ waitMs: 50 });
  await assert.rejects(r.waitSession('S'), (err: Error & { statusCode?: number }) => err.message === WAIT_TIMEOUT_MESSAGE && err.statusCode === 500);
  await assert.rejects(r.waitBuild('B'), { message: WAIT_TIMEOUT_MESSAGE });
  // The timed-out waiter is gone: a new wait on the same session is allowed.
  const again = r.waitSession('S');
  r.startBuild('S', 'B', n1);
  assert.equal(await again, n1);
});

test('a second waiter on one session is refused; a build ID is started once', async () => {
  const r = new BuildRegistry({ waitMs: 1_000 });
  const first = r.waitSession('S');
  await assert.rejects(r.waitSession('S'), { message: 'already waiting on node for session S' });
  r.startBuild('S', 'B', n1);
  await first;
  assert.throws(() => r.startBuild('', 'B', n2), { message: 'build already started' });
});

test('a later build of the same session goes to the session\'s node', () => {
  const r = new BuildRegistry();
  r.startBuild('S', 'B1', n1);
  const { node } = r.startBuild('S', 'B2', n2);
  assert.equal(node, n1);
  assert.equal(r.buildNode('B2'), n1);
});

test('records live for the TTL after the build ended, not before it ended', async () => {
  const r = new BuildRegistry({ ttlMs: 30, waitMs: 20 });
  const a = r.startBuild('S', 'B1', n1);
  const b = r.startBuild('S', 'B2', n2);
  await sleep(60);
  assert.equal(r.buildNode('B1'), n1, 'running build kept');
  a.done();
  await sleep(60);
  assert.equal(r.buildNode('B1'), undefined, 'dropped after the TTL');
  assert.equal(await r.waitSession('S'), n1, 'session kept while build B2 uses it');
  b.done();
  b.done(); // idempotent
  await sleep(60);
  assert.equal(r.buildNode('B2'), undefined);
  await assert.rejects(r.waitSession('S'), { message: WAIT_TIMEOUT_MESSAGE });
});
