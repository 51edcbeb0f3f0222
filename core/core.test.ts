// The hook contract (STYLE.md §2, core/README.md): one test per row of the hook table, on a
// real core with small plugins written here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createCore } from './core.ts';
import { isSwarmError } from './errors.ts';
import { Stage } from './hooks.ts';
import type { SwarmPlugin } from './plugin.ts';
import type { Candidates } from './pipeline/candidates.ts';
import type { DiscoveryBackend, FailoverEvent, NodeView, Placement } from './types.ts';
import { node, request } from '../test/kit/index.ts';

const plugin = (name: string, apply: SwarmPlugin['apply']): SwarmPlugin => ({ name, apply });

function backend(tag: string): DiscoveryBackend & { tag: string } {
  return { tag, async *watch() { yield [tag]; }, async register() {} };
}

/** A logger whose lines can be read back. */
function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

// ---- discover ----

test('discover: first claim for a scheme wins; a tap returning undefined lets the next one claim', async () => {
  const core = createCore({
    plugins: [
      plugin('discovery-shy', (c) => c.hooks.discover.for('kv').tapPromise('discovery-shy', async (url) => (url.rest.startsWith('mine/') ? backend('shy') : undefined))),
      plugin('discovery-kv', (c) => c.hooks.discover.for('kv').tapPromise('discovery-kv', async () => backend('kv'))),
      plugin('discovery-late', (c) => c.hooks.discover.for('kv').tapPromise('discovery-late', async () => backend('late'))),
    ],
  });
  const opts = { heartbeat: 1000, ttl: 3000, opts: {} };
  assert.equal((await core.discovery('kv://mine/x', opts) as ReturnType<typeof backend>).tag, 'shy');
  assert.equal((await core.discovery('kv://other/x', opts) as ReturnType<typeof backend>).tag, 'kv');
});

test('discover: the tap receives the parsed URL and the options; no scheme means nodes', async () => {
  const seen: unknown[] = [];
  const core = createCore({
    plugins: [plugin('discovery-nodes', (c) => c.hooks.discover.for('nodes').tapPromise('discovery-nodes', async (url, o) => { seen.push(url, o); return backend('n'); }))],
  });
  const opts = { heartbeat: 1000, ttl: 3000, opts: { 'kv.path': 'p' } };
  await core.discovery('10.0.0.1:2375', opts);
  assert.deepEqual(seen, [{ raw: '10.0.0.1:2375', scheme: 'nodes', rest: '10.0.0.1:2375' }, opts]);
});

test('discover: an unknown scheme is an error listing the known schemes', async () => {
  const core = createCore({
    plugins: [
      plugin('discovery-etcd', (c) => c.hooks.discover.for('etcd').tapPromise('discovery-etcd', async () => backend('e'))),
      plugin('discovery-file', (c) => c.hooks.discover.for('file').tapPromise('discovery-file', async () => backend('f'))),
    ],
  });
  await assert.rejects(core.discovery('bogus://x', { heartbeat: 1, ttl: 1, opts: {} }), (err: Error) => {
    assert.ok(isSwarmError(err, 'SWARM_ERR_DISCOVERY_UNKNOWN_SCHEME'));
    assert.equal(err.message, 'discovery service not supported: unknown discovery scheme "bogus" (known: etcd, file)');
    return true;
  });
});

// ---- filter ----

test('filter: taps run in config order, each sees what the previous returned, and drops are attributed', async () => {
  const order: string[] = [];
  const dropper = (name: string, victim: string) => plugin(name, (c) => c.hooks.filter.tap(name, (cands) => {
    order.push(`${name}:${cands.nodes.map((n) => n.name).join(',')}`);
    return cands.keep((n) => n.name !== victim, () => `${victim} is out`);
  }));
  const core = createCore({ plugins: [dropper('filter-one', 'a'), dropper('filter-two', 'b')] });
  assert.deepEqual(core.filterNames(), ['one', 'two']);
  const out = await core.runFilters([node('a').build(), node('b').build(), node('c').build()], request().build());
  assert.deepEqual(order, ['filter-one:a,b,c', 'filter-two:b,c']);
  assert.deepEqual(out.nodes.map((n) => n.name), ['c']);
  assert.deepEqual(out.rejected.map((r) => [r.plugin, r.reason]), [['filter-one', 'a is out'], ['filter-two', 'b is out']]);
});

test('filter: a named stage runs a tap first whatever the config order', async () => {
  const order: string[] = [];
  const f = (name: string, stage?: number) => plugin(name, (c) => c.hooks.filter.tap({ name, ...(stage !== undefined ? { stage } : {}) }, (cands) => { order.push(name); return cands; }));
  const core = createCore({ plugins: [f('filter-a'), f('filter-b', Stage.EARLY), f('filter-c', Stage.LATE), f('filter-d')] });
  await core.runFilters([node('x').build()], request().build());
  assert.deepEqual(order, ['filter-b', 'filter-a', 'filter-d', 'filter-c']);
});

test('filter: waterfall values are not mutated — inputs are frozen and each filter returns a new value', async () => {
  const inputs: Candidates[] = [];
  const outputs: Candidates[] = [];
  const core = createCore({
    plugins: [
      plugin('filter-mutator', (c) => c.hooks.filter.tap('filter-mutator', (cands) => {
        inputs.push(cands);
        assert.throws(() => { (cands.nodes as NodeView[]).push(node('evil').build()); }, TypeError);
        assert.throws(() => { (cands as { plugin: string }).plugin = 'x'; }, TypeError);
        const next = cands.keep((n) => n.name !== 'a', () => 'no');
        outputs.push(next);
        return next;
      })),
      plugin('filter-reader', (c) => c.hooks.filter.tap('filter-reader', (cands) => { inputs.push(cands); return cands; })),
    ],
  });
  const nodes = [node('a').build(), node('b').build()];
  const req = request().build();
  const reqBefore = structuredClone(req);
  const out = await core.runFilters(nodes, req);
  assert.deepEqual(nodes.map((n) => n.name), ['a', 'b']); // the caller's array is untouched
  assert.deepEqual(req, reqBefore);
  assert.deepEqual(inputs[0]!.nodes.map((n) => n.name), ['a', 'b']); // the first filter's input still has both
  assert.notEqual(outputs[0], inputs[0]);
  assert.deepEqual(out.nodes.map((n) => n.name), ['b']);
});

test('filter: a throwing filter fails the run with an error naming the plugin', async () => {
  const core = createCore({
    plugins: [plugin('filter-broken', (c) => c.hooks.filter.tap('filter-broken', () => { throw new Error('index out of range'); }))],
  });
  await assert.rejects(core.runFilters([node('a').build()], request().build()), (err: Error) => {
    assert.ok(isSwarmError(err, 'SWARM_ERR_PLUGIN_FAILED'));
    assert.equal(err.message, 'plugin filter-broken failed in filter: index out of range');
    return true;
  });
});

test('filter: a filter that returns something else than Candidates is named', async () => {
  const core = createCore({
    plugins: [plugin('filter-sloppy', (c) => c.hooks.filter.tap('filter-sloppy', ((cands: Candidates) => cands.nodes) as never))],
  });
  await assert.rejects(core.runFilters([node('a').build()], request().build()), /plugin filter-sloppy failed in filter: a filter must return Candidates/);
});

test('filter: async filters (tapPromise) run in order with synchronous ones; a promise from tap() is refused by name', async () => {
  const dropAsync = plugin('filter-async', (c) => c.hooks.filter.tapPromise('filter-async', async (cands) => {
    await new Promise((r) => setImmediate(r));
    return cands.keep((n) => n.name !== 'a', () => 'async drop');
  }));
  const dropSync = plugin('filter-sync', (c) => c.hooks.filter.tap('filter-sync', (cands) => cands.keep((n) => n.name !== 'b', () => 'sync drop')));
  const core = createCore({ plugins: [dropAsync, dropSync] });
  const out = await core.runFilters([node('a').build(), node('b').build(), node('c').build()], request().build());
  assert.deepEqual(out.nodes.map((n) => n.name), ['c']);
  assert.deepEqual(out.rejected.map((r) => [r.plugin, r.reason]), [['filter-async', 'async drop'], ['filter-sync', 'sync drop']]);

  const sloppy = createCore({
    plugins: [plugin('filter-promise', (c) => c.hooks.filter.tap('filter-promise', (async (cands: Candidates) => cands) as never))],
  });
  await assert.rejects(sloppy.runFilters([node('a').build()], request().build()),
    /plugin filter-promise failed in filter: a filter tapped with tap\(\) must return Candidates, not a promise/);
});

// ---- rank ----

const strategy = (name: string) => plugin(name, (c) => c.hooks.rank.tap(name, () => ({ name: name.replace('strategy-', ''), module: `test:${name}`, options: {} })));

test('rank: exactly one strategy — two are refused at load, naming both and the config file', () => {
  assert.throws(() => createCore({ plugins: [strategy('strategy-spread'), strategy('strategy-binpack')], configPath: '/etc/swarm/swarm.config.ts' }), (err: Error) => {
    assert.ok(isSwarmError(err, 'SWARM_ERR_PLUGIN_LOAD'));
    assert.equal(err.message, 'exactly one strategy may be configured, found 2: strategy-spread, strategy-binpack (config: /etc/swarm/swarm.config.ts)');
    return true;
  });
});

test('rank: the one strategy names its scorer; no strategy reads as spread (the legacy default name)', () => {
  const core = createCore({ plugins: [strategy('strategy-binpack')] });
  assert.equal(core.strategyName(), 'binpack');
  assert.deepEqual(core.scorer(request().build()), { name: 'binpack', module: 'test:strategy-binpack', options: {} });
  assert.equal(createCore({ plugins: [] }).strategyName(), 'spread');
});

test('rank: a throwing strategy is named', () => {
  const core = createCore({ plugins: [plugin('strategy-broken', (c) => c.hooks.rank.tap('strategy-broken', () => { throw new Error('nope'); }))] });
  assert.throws(() => core.scorer(request().build()), /^SwarmError: plugin strategy-broken failed in rank: nope$/);
});

// ---- place ----

test('place: taps amend the spec in order, each returning a new spec; the input spec is untouched', async () => {
  const label = (name: string, key: string) => plugin(name, (c) => c.hooks.place.tap(name, (spec) => ({
    ...spec, Labels: { ...(spec.Labels as Record<string, string> | undefined), [key]: String(Object.keys((spec.Labels as object | undefined) ?? {}).length) },
  })));
  const core = createCore({ plugins: [label('place-a', 'a'), label('place-b', 'b')] });
  const spec = Object.freeze({ Image: 'busybox', Labels: Object.freeze({}) });
  const n = node('n1').build();
  const placement: Placement = { node: n, request: request().build(), alternatives: [] };
  const out = await core.place(spec, placement);
  assert.deepEqual(out, { Image: 'busybox', Labels: { a: '0', b: '1' } });
  assert.deepEqual(spec, { Image: 'busybox', Labels: {} });
});

test('place: a throwing tap is named', async () => {
  const core = createCore({ plugins: [plugin('place-broken', (c) => c.hooks.place.tap('place-broken', () => { throw new Error('bad label'); }))] });
  await assert.rejects(core.place({}, { node: node('n').build(), request: request().build(), alternatives: [] }), /plugin place-broken failed in place: bad label/);
});

// ---- failover ----

test('failover: every tap sees every event in order; a failing tap is logged and does not stop the next', async () => {
  const { logger, lines } = captureLogger();
  const seen: string[] = [];
  const core = createCore({
    logger,
    plugins: [
      plugin('failover-first', (c) => c.hooks.failover.tapPromise('failover-first', async (e) => { seen.push(`first:${e.kind}`); })),
      plugin('failover-broken', (c) => c.hooks.failover.tapPromise('failover-broken', async () => { throw new Error('store unreachable'); })),
      plugin('failover-last', (c) => c.hooks.failover.tap('failover-last', (e) => { seen.push(`last:${e.kind}`); })),
    ],
  });
  const down: FailoverEvent = { kind: 'node-down', node: node('n1').build(), containers: [] };
  const primary: FailoverEvent = { kind: 'primary-changed', primary: '127.0.0.1:4000', self: '127.0.0.1:4000', isPrimary: true };
  await core.failover(down);
  await core.failover(primary);
  assert.deepEqual(seen, ['first:node-down', 'last:node-down', 'first:primary-changed', 'last:primary-changed']);
  const errors = lines.filter((l) => l.plugin === 'failover-broken');
  assert.equal(errors.length, 2);
  assert.equal(errors[0]!.msg, 'plugin failover-broken failed in failover');
});

// ---- close ----

test('close: taps run once, however many times close() is called', async () => {
  let closed = 0;
  const core = createCore({ plugins: [plugin('discovery-x', (c) => c.hooks.close.tapPromise('discovery-x', async () => { closed++; }))] });
  await Promise.all([core.close(), core.close()]);
  await core.close();
  assert.equal(closed, 1);
});

// ---- loading ----

test('a plugin whose apply throws fails the core creation, naming the plugin and the config file', () => {
  assert.throws(
    () => createCore({ plugins: [plugin('filter-bad', () => { throw new Error('needs options'); })], configPath: '/srv/.swarmrc.json' }),
    /^SwarmError: plugin filter-bad failed to load \(config: \/srv\/\.swarmrc\.json\): needs options$/,
  );
});

test('falsy plugins are skipped; names are listed in config order', () => {
  const core = createCore({ plugins: [strategy('strategy-random'), false, null, undefined, plugin('filter-z', () => {})] });
  assert.deepEqual(core.plugins, ['strategy-random', 'filter-z']);
});
