import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkAddrFormat, clusterOptions, discoveryOpts, globalSettings, joinSettings, manageSettings, type JoinFlags, type ManageFlags } from './flags.ts';
import type { LoadedConfig } from './index.ts';

test('--debug sets the debug level only when no level is given; the flags layer beats the file', () => {
  assert.equal(globalSettings({}).level, 'info');
  assert.equal(globalSettings({ debug: true }).level, 'debug');
  assert.equal(globalSettings({ debug: true, logLevel: 'warn' }).level, 'warn');
  assert.equal(globalSettings({ debug: true }, { logLevel: 'error' }).level, 'debug');
  assert.equal(globalSettings({}, { logLevel: 'error', debug: true }).level, 'error');
  assert.equal(globalSettings({}, { debug: true }).level, 'debug');
  assert.equal(globalSettings({ logLevel: 'panic' }).level, 'fatal'); // pino has no panic level
  assert.throws(() => globalSettings({ logLevel: 'verbose' }), /^ConfigError: not a valid log level: "verbose"$/);
});

test('--advertise accepts ip:port, hostname:port and [ipv6]:port with a port in 1..65535', () => {
  for (const ok of ['127.0.0.1:2375', 'node-1.example:1', '[::1]:4000', 'a:65535']) assert.ok(checkAddrFormat(ok), ok);
  for (const bad of ['1.2.3.4ab:x', '127.0.0.1', ':2375', 'a:0', 'a:65536', 'a b:1', 'tcp://a:1']) assert.ok(!checkAddrFormat(bad), bad);
});

test('cluster options are parsed leniently as the original did, with its limits', () => {
  assert.deepEqual(clusterOptions({}), { overcommit: 0.05, createRetry: 0 });
  assert.deepEqual(clusterOptions({ 'swarm.overcommit': '0.5', 'swarm.createretry': '2' }), { overcommit: 0.5, createRetry: 2 });
  assert.deepEqual(clusterOptions({ 'swarm.overcommit': 'lots', 'swarm.createretry': 'x' }), { overcommit: 0, createRetry: 0 });
  const warnings: string[] = [];
  assert.equal(clusterOptions({ 'swarm.overcommit': '-0.5' }, warnings).overcommit, -0.5);
  assert.equal(warnings.length, 1);
  assert.throws(() => clusterOptions({ 'swarm.overcommit': '-1.5' }), /swarm.overcommit should be larger than -1, -1.500000 is invalid/);
});

test('discovery options: key=value pairs over the file, kv.path injected when absent', () => {
  assert.deepEqual(discoveryOpts(undefined, undefined), { 'kv.path': 'docker/swarm/nodes' });
  assert.deepEqual(discoveryOpts(['kv.cacertfile=/ca.pem', 'x=a=b'], { 'kv.path': 'p', x: 'y' }), { 'kv.path': 'p', x: 'a=b', 'kv.cacertfile': '/ca.pem' });
  assert.throws(() => discoveryOpts(['kv.path'], undefined), /^ConfigError: --discovery-opt must contain key=value strings$/);
});

test('heartbeat and ttl say whether anyone set them: a discovery plugin\'s own options replace only the defaults', () => {
  const loaded = (config: Record<string, unknown> = {}) => ({ config, filepath: undefined, baseDir: process.cwd() }) as LoadedConfig;
  const join = (flags: Record<string, unknown>, config?: Record<string, unknown>) => joinSettings({ advertise: '127.0.0.1:2375', ...flags } as JoinFlags, 'nodes://127.0.0.1:1', loaded(config), 'swarm', {});
  assert.deepEqual(join({}).defaulted, { heartbeat: true, ttl: true });
  assert.deepEqual(join({ heartbeat: '10s' }).defaulted, { heartbeat: false, ttl: true });
  assert.deepEqual(join({}, { join: { ttl: '300s' } }).defaulted, { heartbeat: true, ttl: false });
  const manage = (flags: Record<string, unknown>, config?: Record<string, unknown>) => manageSettings(flags as ManageFlags, 'nodes://127.0.0.1:1', loaded(config), 'swarm', {});
  assert.deepEqual(manage({}).defaulted, { heartbeat: true });
  assert.deepEqual(manage({ heartbeat: '5s' }).defaulted, { heartbeat: false });
  assert.deepEqual(manage({}, { manage: { heartbeat: '5s' } }).defaulted, { heartbeat: false });
});
