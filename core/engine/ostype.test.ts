import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookupOsType, mentionsOsType, osTypeConstraints, osTypeRule, OSTYPE_TTL_MS, type OsTypeContext } from './ostype.ts';
import type { EngineImpl } from './engine.ts';

test('platform lists become the legacy constraint text', () => {
  const cases: [unknown, string | undefined][] = [
    [[], undefined],
    [undefined, undefined],
    [null, undefined],
    ['linux', undefined],
    [[{ architecture: 'amd64' }], undefined], // no os field
    [[{ os: '' }], undefined],
    [[{ os: 'linux', architecture: 'amd64' }], 'ostype==linux'],
    [[{ os: 'windows' }], 'ostype==windows'],
    [[{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }], 'ostype==linux'],
    [[{ os: 'linux' }, { os: 'windows' }], 'ostype==/(linux)|(windows)/'],
    [[{ os: 'windows' }, { os: 'linux' }, { os: 'windows' }], 'ostype==/(windows)|(linux)/'],
    [[{ os: 'linux' }, 'junk', null, { os: 7 }, { os: 'freebsd' }], 'ostype==/(linux)|(freebsd)/'],
  ];
  for (const [platforms, want] of cases) assert.equal(osTypeRule(platforms), want, JSON.stringify(platforms));
});

test('an existing ostype rule in env or label suppresses the lookup; other rules do not', () => {
  assert.equal(mentionsOsType({ Image: 'x' }), false);
  assert.equal(mentionsOsType({ Image: 'x', Env: ['constraint:node==n1', 'A=ostype'] }), false);
  assert.equal(mentionsOsType({ Image: 'x', Env: ['constraint:ostype==windows'] }), true);
  assert.equal(mentionsOsType({ Image: 'x', Env: ['constraint:ostype!=windows'] }), true);
  assert.equal(mentionsOsType({ Image: 'x', Labels: { 'com.docker.swarm.constraints': '["ostype==~linux"]' } }), true);
  assert.equal(mentionsOsType({ Image: 'x', Labels: { 'com.docker.swarm.constraints': '["storage==ssd"]', other: 'ostype' } }), false);
});

/** A fake engine answering /distribution from a table, counting calls. */
function fakeEngine(answers: Record<string, unknown>, delayMs = 0) {
  const calls: { path: string; auth?: string }[] = [];
  const engine = {
    addr: '127.0.0.1:1',
    dial: async (opts: { path: string; auth?: string }) => {
      calls.push({ path: opts.path, auth: opts.auth });
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      const hit = answers[opts.path];
      if (hit === undefined) throw Object.assign(new Error('manifest unknown'), { statusCode: 500 });
      return hit;
    },
  };
  const ctx: OsTypeContext = {
    anyEngine: () => engine as never,
    engineByAddr: (addr) => (addr === engine.addr ? (engine as unknown as EngineImpl) : undefined),
  };
  return { calls, ctx, engine };
}

test('lookup asks /distribution/<image>/json with the registry auth and never throws', async () => {
  const { calls, engine } = fakeEngine({ '/distribution/reg:5000/a/b:1/json': { Platforms: [{ os: 'linux' }] } });
  assert.equal(await lookupOsType(engine as never, 'reg:5000/a/b:1', 'QVVUSA=='), 'ostype==linux');
  assert.deepEqual(calls[0], { path: '/distribution/reg:5000/a/b:1/json', auth: 'QVVUSA==' });
  assert.equal(await lookupOsType(engine as never, 'missing'), undefined);
});

test('constraints: added from the answer, skipped when mentioned, cached per image and auth, refreshed in the background', async () => {
  const answers: Record<string, unknown> = { '/distribution/img/json': { Platforms: [{ os: 'linux' }, { os: 'windows' }] } };
  const { calls, ctx } = fakeEngine(answers);
  const t0 = 1_000_000;
  assert.deepEqual(await osTypeConstraints(ctx, { Image: 'img' }, undefined, { now: t0 }), ['ostype==/(linux)|(windows)/']);
  assert.deepEqual(await osTypeConstraints(ctx, { Image: 'img' }, undefined, { now: t0 + 1 }), ['ostype==/(linux)|(windows)/']);
  assert.equal(calls.length, 1, 'second create used the cache');
  await osTypeConstraints(ctx, { Image: 'img' }, 'b3RoZXI=', { now: t0 + 2 });
  assert.equal(calls.length, 2, 'other credentials are another key');
  // Expired: the create gets the last answer at once, and the answer is asked again behind it.
  answers['/distribution/img/json'] = { Platforms: [{ os: 'linux' }] };
  assert.deepEqual(await osTypeConstraints(ctx, { Image: 'img' }, undefined, { now: t0 + OSTYPE_TTL_MS }), ['ostype==/(linux)|(windows)/']);
  assert.equal(calls.length, 3, 'expired entry asked again');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(await osTypeConstraints(ctx, { Image: 'img' }, undefined, { now: t0 + OSTYPE_TTL_MS + 1 }), ['ostype==linux']);
  assert.equal(calls.length, 3);
  assert.deepEqual(await osTypeConstraints(ctx, { Image: 'img', Env: ['constraint:ostype==linux'] }, undefined, { now: t0 }), []);
  assert.deepEqual(await osTypeConstraints(ctx, { Image: 'absent' }, undefined, { now: t0 }), [], 'failure adds nothing');
  assert.deepEqual(await osTypeConstraints(ctx, { Image: 'absent' }, undefined, { now: t0 + 5 }), []);
  assert.equal(calls.filter((c) => c.path === '/distribution/absent/json').length, 1, 'failures are cached too');
  assert.deepEqual(await osTypeConstraints(ctx, {}, undefined, { now: t0 }), [], 'no image, no call');
  assert.deepEqual(await osTypeConstraints(ctx, { Image: 'a b?c' }, undefined, { now: t0 }), [], 'not a reference, no call');
  assert.equal(calls.length, 4);
});

test('concurrent creates share one call; a slow answer is not waited for past the limit', async () => {
  const { calls, ctx } = fakeEngine({ '/distribution/slow/json': { Platforms: [{ os: 'linux' }] } }, 200);
  const [a, b] = await Promise.all([
    osTypeConstraints(ctx, { Image: 'slow' }, undefined, { waitMs: 20 }),
    osTypeConstraints(ctx, { Image: 'slow' }, undefined, { waitMs: 20 }),
  ]);
  assert.deepEqual([a, b], [[], []], 'gave up waiting');
  assert.equal(calls.length, 1);
  await new Promise((r) => setTimeout(r, 250));
  assert.deepEqual(await osTypeConstraints(ctx, { Image: 'slow' }, undefined, { waitMs: 20 }), ['ostype==linux'], 'the late answer filled the cache');
  assert.equal(calls.length, 1);
});

test('no engine to ask: nothing added', async () => {
  assert.deepEqual(await osTypeConstraints({ engineByAddr: () => undefined }, { Image: 'img' }), []);
  assert.deepEqual(await osTypeConstraints({ engineByAddr: () => undefined, anyEngine: () => undefined }, { Image: 'img' }), []);
});
