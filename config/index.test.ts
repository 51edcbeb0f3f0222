import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { defineConfig, loadConfig, loadFailure, loadPlugins } from './index.ts';
import { DEFAULT_FILTERS, manageSettings } from './flags.ts';
import { testKinds, testRegistry } from './test-registry.ts';

const CONFIG_INDEX = resolve(import.meta.dirname, 'index.ts');

function tempDir(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-load-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A package.json without a `swarm` key bounds the search to this directory.
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'project', private: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(resolve(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const names = (list: { name: string }[]) => list.map((p) => p.name);
const builtins = { builtins: testRegistry, kinds: testKinds };

test('defineConfig returns the config it is given', () => {
  const config = { manage: { heartbeat: '5s' }, plugins: [] };
  assert.equal(defineConfig(config), config);
});

test('finds .swarmrc.json, .swarmrc.yaml and package.json#swarm by searching from the working directory', async (t) => {
  for (const [file, text] of [
    ['.swarmrc.json', JSON.stringify({ discovery: 'nodes://a:1' })],
    ['.swarmrc.yaml', 'discovery: nodes://a:1\n'],
    ['package.json', JSON.stringify({ name: 'p', swarm: { discovery: 'nodes://a:1' } })],
  ] as const) {
    const dir = tempDir(t, { [file]: text });
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const loaded = await loadConfig({ cwd: sub });
    assert.equal(loaded.filepath, join(dir, file), file);
    assert.equal(loaded.baseDir, dir);
    assert.equal(loaded.config.discovery, 'nodes://a:1', file);
  }
});

test('loads swarm.config.ts written with defineConfig and plugin objects', async (t) => {
  const dir = tempDir(t, {
    'swarm.config.ts': `import { defineConfig } from ${JSON.stringify(CONFIG_INDEX)};
const heartbeat: string = '7s';
export default defineConfig({
  manage: { heartbeat },
  plugins: [
    { name: 'filter-inline', apply(core) { core.hooks.filter.tap('filter-inline', (c) => c); } },
    process.env.SWARM_TEST_NEVER_SET && 'gpu',
    'binpack',
  ],
});
`,
  });
  const loaded = await loadConfig({ cwd: dir });
  assert.equal(loaded.filepath, join(dir, 'swarm.config.ts'));
  assert.equal(loaded.config.manage?.heartbeat, '7s');
  assert.deepEqual(names(await loadPlugins(loaded, {}, builtins)), ['filter-inline', 'strategy-binpack']);
});

test('--config loads the named file; a missing file is an error naming it', async (t) => {
  const dir = tempDir(t, { 'conf/cluster.yaml': 'manage:\n  strategy: random\n' });
  const loaded = await loadConfig({ cwd: dir, configPath: 'conf/cluster.yaml' });
  assert.equal(loaded.filepath, join(dir, 'conf/cluster.yaml'));
  assert.equal(loaded.baseDir, join(dir, 'conf'));
  assert.equal(loaded.config.manage?.strategy, 'random');
  await assert.rejects(loadConfig({ cwd: dir, configPath: 'nope.json' }), new RegExp(`cannot load config file ${join(dir, 'nope.json')}: no such file`));
});

test('a loader failure is one line without its code frame, coloured or not', () => {
  // What cosmiconfig's JSON loader throws when a `CI` variable turns picocolors on (as in CI).
  const coloured = "JSON Error in /x/.swarmrc.json:\n\u001b[0m\u001b[31m\u001b[1m>\u001b[22m\u001b[39m\u001b[90m 1 |\u001b[39m { bad json\n"
    + " \u001b[90m   |\u001b[39m   \u001b[31m\u001b[1m^\u001b[22m\u001b[39m\n\u001b[90m 2 |\u001b[39m\u001b[0m\n\nExpected property name or '}' in JSON at position 2";
  const plain = "JSON Error in /x/.swarmrc.json:\n> 1 | { bad json\n    |   ^\n  2 |\n\nExpected property name or '}' in JSON at position 2";
  for (const message of [coloured, plain]) {
    assert.equal(loadFailure(message), "Expected property name or '}' in JSON at position 2");
  }
});

test('no config file at all is an empty config', async (t) => {
  const dir = tempDir(t, {});
  const loaded = await loadConfig({ cwd: dir });
  assert.equal(loaded.filepath, undefined);
  assert.deepEqual(loaded.config, {});
});

test('a misspelt or mistyped setting is an error naming the file and the setting', async (t) => {
  const dir = tempDir(t, { '.swarmrc.json': JSON.stringify({ manage: { hearbeat: '5s' } }) });
  await assert.rejects(loadConfig({ cwd: dir }), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.ok(err.message.startsWith(`invalid config (config: ${join(dir, '.swarmrc.json')}) at /manage`), err.message);
    return true;
  });
  const dir2 = tempDir(t, { '.swarmrc.json': JSON.stringify({ manage: { replication: 'yes' } }) });
  await assert.rejects(loadConfig({ cwd: dir2 }), /invalid config .* at \/manage\/replication: Expected boolean/);
});

test('no strategy → spread; no filter → the legacy default list, in order', async (t) => {
  const dir = tempDir(t, { '.swarmrc.json': '{}' });
  const list = await loadPlugins(await loadConfig({ cwd: dir }), {}, builtins);
  assert.deepEqual(names(list), ['strategy-spread', ...DEFAULT_FILTERS.map((f) => `filter-${f}`)]);
});

test('flags override the file: --strategy replaces the strategy, --filter replaces every filter in the given order', async (t) => {
  const dir = tempDir(t, {
    '.swarmrc.json': JSON.stringify({ plugins: ['constraint', 'health', 'binpack', 'nodes'] }),
  });
  const loaded = await loadConfig({ cwd: dir });
  assert.deepEqual(names(await loadPlugins(loaded, {}, builtins)), ['filter-constraint', 'filter-health', 'strategy-binpack', 'discovery-nodes']);
  assert.deepEqual(
    names(await loadPlugins(loaded, { strategy: 'random', filters: ['port', 'health'] }, builtins)),
    ['discovery-nodes', 'strategy-random', 'filter-port', 'filter-health'],
  );
  // binpacking is the legacy alias of binpack.
  assert.deepEqual(names(await loadPlugins(loaded, { strategy: 'binpacking' }, builtins)).filter((n) => n.startsWith('strategy-')), ['strategy-binpack']);
});

test('manage.strategy and manage.filters in the file act as the flags do, and the flags still win', async (t) => {
  const dir = tempDir(t, { '.swarmrc.json': JSON.stringify({ manage: { strategy: 'binpack', filters: ['port'] }, discovery: 'nodes://a:1' }) });
  const loaded = await loadConfig({ cwd: dir });
  const fromFile = manageSettings({}, undefined, loaded, 'swarm', {});
  assert.deepEqual([fromFile.strategy, fromFile.filters], ['binpack', ['port']]);
  const fromFlags = manageSettings({ strategy: 'random', filter: ['health'] }, undefined, loaded, 'swarm', {});
  assert.deepEqual([fromFlags.strategy, fromFlags.filters], ['random', ['health']]);
  assert.deepEqual(names(await loadPlugins(loaded, { strategy: fromFile.strategy, filters: fromFile.filters }, builtins)), ['strategy-binpack', 'filter-port']);
});

test('unknown --strategy and --filter give the legacy messages', async (t) => {
  const loaded = await loadConfig({ cwd: tempDir(t, {}) });
  await assert.rejects(loadPlugins(loaded, { strategy: 'fastest' }, builtins), /^ConfigError: strategy not supported: "fastest"$/);
  await assert.rejects(loadPlugins(loaded, { filters: ['health', 'gpu'] }, builtins), /^ConfigError: filter not supported: "gpu"$/);
  // A filter is not a strategy and vice versa.
  await assert.rejects(loadPlugins(loaded, { strategy: 'health' }, builtins), /strategy not supported/);
  await assert.rejects(loadPlugins(loaded, { filters: ['spread'] }, builtins), /filter not supported/);
});

test('two strategies in the file is an error naming both and the file', async (t) => {
  const dir = tempDir(t, { '.swarmrc.json': JSON.stringify({ plugins: ['spread', 'health', 'binpack'] }) });
  await assert.rejects(loadPlugins(await loadConfig({ cwd: dir }), {}, builtins), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message, `exactly one strategy may be configured, found 2: strategy-spread, strategy-binpack (config: ${join(dir, '.swarmrc.json')})`);
    return true;
  });
});

test('the discovery URL adds the backend for its scheme unless the list already has it', async (t) => {
  const loaded = await loadConfig({ cwd: tempDir(t, {}) });
  const zk = names(await loadPlugins(loaded, { discovery: 'zk://127.0.0.1:2181/swarm' }, builtins));
  assert.ok(zk.includes('discovery-zookeeper'), zk.join());
  const bare = names(await loadPlugins(loaded, { discovery: '127.0.0.1:2375,127.0.0.2:2375' }, builtins));
  assert.equal(bare.filter((n) => n === 'discovery-nodes').length, 1);
  const dir = tempDir(t, { '.swarmrc.json': JSON.stringify({ plugins: ['nodes'] }) });
  const once = names(await loadPlugins(await loadConfig({ cwd: dir }), { discovery: 'nodes://a:1' }, builtins));
  assert.equal(once.filter((n) => n === 'discovery-nodes').length, 1);
  // An unknown scheme brings every built-in backend, so the core's error can list them.
  const unknown = names(await loadPlugins(loaded, { discovery: 'bogus://x' }, builtins)).filter((n) => n.startsWith('discovery-'));
  assert.deepEqual(unknown, ['discovery-nodes', 'discovery-zookeeper']);
  // A scheme named like a built-in of another kind does not bring that plugin.
  const odd = names(await loadPlugins(loaded, { discovery: 'health://x' }, builtins));
  assert.equal(odd.filter((n) => n === 'filter-health').length, 1);
  assert.ok(odd.includes('discovery-nodes'));
});

test('file settings are used when no flag is given, flags win, defaults fill the rest', async (t) => {
  const dir = tempDir(t, {
    '.swarmrc.json': JSON.stringify({
      discovery: 'nodes://a:1',
      discoveryOpts: { 'kv.path': 'x/y' },
      manage: { heartbeat: '10s', host: 'tcp://127.0.0.70:4000', engineFailureRetry: 5, clusterOpts: { 'swarm.overcommit': '0.5' } },
    }),
  });
  const loaded = await loadConfig({ cwd: dir });
  const file = manageSettings({}, undefined, loaded, 'swarm', {});
  assert.equal(file.heartbeat, 10_000);
  assert.deepEqual(file.hosts, ['tcp://127.0.0.70:4000']);
  assert.equal(file.failureRetry, 5);
  assert.equal(file.overcommit, 0.5);
  assert.equal(file.discovery, 'nodes://a:1');
  assert.deepEqual(file.discoveryOpts, { 'kv.path': 'x/y' });
  assert.equal(file.refreshMinInterval, 30_000);
  assert.equal(file.refreshMaxInterval, 60_000);
  const flags = manageSettings(
    { heartbeat: '2s', host: [':4001'], engineFailureRetry: '2', clusterOpt: ['swarm.overcommit=0.1'], discoveryOpt: ['kv.path=z'] },
    'nodes://b:2', loaded, 'swarm', { SWARM_DISCOVERY: 'nodes://c:3' },
  );
  assert.equal(flags.heartbeat, 2000);
  assert.deepEqual(flags.hosts, [':4001']);
  assert.equal(flags.failureRetry, 2);
  assert.equal(flags.overcommit, 0.1);
  assert.equal(flags.discovery, 'nodes://b:2');
  assert.deepEqual(flags.discoveryOpts, { 'kv.path': 'z' });
  // $SWARM_DISCOVERY comes before the file's discovery.
  assert.equal(manageSettings({}, undefined, loaded, 'swarm', { SWARM_DISCOVERY: 'nodes://c:3' }).discovery, 'nodes://c:3');
});

test('the shipped swarm.config.ts loads and only restates the defaults', async () => {
  const root = resolve(import.meta.dirname, '..');
  const shipped = await loadConfig({ cwd: root });
  assert.equal(shipped.filepath, join(root, 'swarm.config.ts'));
  const none = { config: {}, filepath: undefined, baseDir: root };
  const env = { SWARM_DISCOVERY: 'nodes://127.0.0.1:2375' };
  assert.deepEqual(manageSettings({}, undefined, shipped, 'swarm', env), manageSettings({}, undefined, none, 'swarm', env));
  const real = names(await loadPlugins(shipped));
  const defaults = names(await loadPlugins(none));
  assert.deepEqual([...real].sort(), [...defaults].sort());
  assert.deepEqual(real.filter((n) => n.startsWith('filter-')), DEFAULT_FILTERS.map((f) => `filter-${f}`));
});
