import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createCore } from '../core/core.ts';
import { ConfigError } from '../core/errors.ts';
import { resolvePlugins, type ResolveContext } from './resolve-plugins.ts';
import { testFilter, testRegistry, testStrategy } from './test-registry.ts';

const FIXTURE = resolve(import.meta.dirname, '../test/fixtures/swarm-plugin-strategy-fixture');
const LOCAL = resolve(import.meta.dirname, '../test/fixtures/local-plugins');

/** A project directory with a config file path and `node_modules` links, removed after the test. */
function project(t: { after(fn: () => void): void }, links: Record<string, string> = {}): { dir: string; ctx: ResolveContext } {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, target] of Object.entries(links)) {
    const at = join(dir, 'node_modules', name);
    mkdirSync(resolve(at, '..'), { recursive: true });
    symlinkSync(target, at, 'dir');
  }
  return { dir, ctx: { baseDir: dir, configPath: join(dir, '.swarmrc.json'), builtins: testRegistry } };
}

const names = (list: { name: string }[]) => list.map((p) => p.name);

test('falsy entries are skipped and presets are flattened, in order', async () => {
  const list = await resolvePlugins(
    [testFilter('filter-a'), false, null, undefined, 0, '', [testFilter('filter-b'), [false, testFilter('filter-c')]], 'basics', testStrategy('strategy-x')],
    { baseDir: process.cwd(), builtins: testRegistry },
  );
  assert.deepEqual(names(list), ['filter-a', 'filter-b', 'filter-c', 'filter-health', 'filter-port', 'strategy-x']);
});

test('a built-in is found by its short name, with options', async () => {
  const list = await resolvePlugins(['health', ['strict', { level: 3 }]], { baseDir: process.cwd(), builtins: testRegistry });
  assert.deepEqual(names(list), ['filter-health', 'filter-strict']);
  assert.equal((list[1] as unknown as { level: number }).level, 3);
});

test('an npm-style package is resolved by its name from the config directory, with options', async (t) => {
  const { ctx } = project(t, { 'swarm-plugin-strategy-fixture': FIXTURE });
  const [plugin, ...rest] = await resolvePlugins([['swarm-plugin-strategy-fixture', { prefer: 'full' }]], ctx);
  assert.equal(rest.length, 0);
  assert.equal(plugin!.name, 'strategy-fixture');
  // It really is the package's factory: applied, it is the core's one strategy and names its scorer.
  const core = createCore({ plugins: [plugin] });
  assert.equal(core.strategyName(), 'fixture');
  const ref = core.scorer({} as never);
  assert.deepEqual(ref.options, { prefer: 'full' });
  assert.ok(ref.module.endsWith('/swarm-plugin-strategy-fixture/score.js'), ref.module);
});

test('a scoped package is resolved by its name from a parent directory', async (t) => {
  const { dir, ctx } = project(t, { '@acme/swarm-plugin-strategy-fixture': FIXTURE });
  const sub = join(dir, 'deploy', 'prod');
  mkdirSync(sub, { recursive: true });
  const list = await resolvePlugins(['@acme/swarm-plugin-strategy-fixture'], { ...ctx, baseDir: sub });
  assert.deepEqual(names(list), ['strategy-fixture']);
});

test('a package whose peer range excludes this swarm is rejected in one line naming it', async (t) => {
  const { dir, ctx } = project(t);
  const pkg = join(dir, 'node_modules', 'swarm-plugin-strategy-old');
  cpSync(FIXTURE, pkg, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ ...manifest, name: 'swarm-plugin-strategy-old', peerDependencies: { swarm: '^2.0.0' } }));
  await assert.rejects(resolvePlugins(['swarm-plugin-strategy-old'], ctx), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.message.split('\n').length, 1);
    assert.match(err.message, /swarm-plugin-strategy-old requires swarm \^2\.0\.0, this is swarm 1\.2\.9/);
    assert.ok(err.message.includes(ctx.configPath!), err.message);
    return true;
  });
});

test('an installed package not named swarm-plugin-<kind>-<name> is refused', async (t) => {
  const { ctx } = project(t, { 'left-pad': FIXTURE });
  await assert.rejects(resolvePlugins(['left-pad'], ctx), /plugin left-pad failed to load .*package left-pad is not a swarm plugin/);
});

test('a path is resolved relative to the config file, with options', async () => {
  const ctx: ResolveContext = { baseDir: LOCAL, configPath: join(LOCAL, 'swarm.config.json'), builtins: testRegistry };
  const list = await resolvePlugins([['./filter-local.js', { drop: 'gpu-' }]], ctx);
  assert.deepEqual(names(list), ['filter-local']);
  await assert.rejects(resolvePlugins(['./not-a-plugin.js'], ctx), /plugin \.\/not-a-plugin\.js failed to load \(config: .*swarm\.config\.json\): its module has no default-export factory/);
});

test('an unknown plugin names itself and the config file', async (t) => {
  const { ctx } = project(t);
  await assert.rejects(resolvePlugins(['health', 'gpu'], ctx), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^unknown plugin "gpu" \(config: .*\.swarmrc\.json\)/);
    assert.match(err.message, /not a built-in \(.*health.*\)/);
    return true;
  });
});

test('bad options name the plugin and the config file', async (t) => {
  const { ctx } = project(t);
  await assert.rejects(resolvePlugins([['strict', { level: -1 }]], ctx), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /^plugin strict failed to load \(config: .*\.swarmrc\.json\): invalid options at \/level/);
    return true;
  });
});

test('a factory that throws names the plugin and the config file', async (t) => {
  const { ctx } = project(t);
  await assert.rejects(resolvePlugins(['boom'], ctx), /^ConfigError: plugin boom failed to load \(config: .*\.swarmrc\.json\): kaboom$/);
});

test('an entry that is neither plugin, name nor list is refused with its position', async (t) => {
  const { ctx } = project(t);
  await assert.rejects(resolvePlugins(['health', [42 as never]], ctx), /plugins\[1\]\[0\] is not a plugin.*\(config: /);
});
