// Engine-side TLS, engine timeout and body limit of `swarm manage`: how the flags and the config
// file resolve (config/flags.ts manageSettings), without starting anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { byteSize, manageSettings, type ManageFlags } from '../../config/flags.ts';
import type { LoadedConfig } from '../../config/index.ts';

const D = 'nodes://127.0.0.1:2375';
const none: LoadedConfig = { config: {}, filepath: undefined, baseDir: '/cfg' };
const settings = (flags: ManageFlags, loaded: LoadedConfig = none) => manageSettings(flags, D, loaded, 'swarm', {});
const MANAGER_TLS = { tlsverify: true, tlscacert: 'ca.pem', tlscert: 'm.pem', tlskey: 'm.key' };

test('without engine TLS flags the engines get the manager TLS (legacy), or none', () => {
  assert.equal(settings({}).engineTls, undefined);
  assert.deepEqual(settings(MANAGER_TLS).engineTls, { certPath: resolve('m.pem'), keyPath: resolve('m.key'), caPath: resolve('ca.pem'), verify: true });
  assert.deepEqual(settings({ tls: true, tlscert: 'm.pem', tlskey: 'm.key' }).engineTls, { certPath: resolve('m.pem'), keyPath: resolve('m.key'), verify: false });
});

test('--no-engine-tls: a TLS manager in front of plain engines', () => {
  const s = settings({ ...MANAGER_TLS, engineTls: false });
  assert.ok(s.tls);
  assert.equal(s.engineTls, undefined);
  assert.throws(() => settings({ engineTls: false, engineTlsverify: true }), /--no-engine-tls cannot be combined/);
});

test('--engine-tls*: a plain manager in front of TLS engines, with or without a client certificate', () => {
  const s = settings({ engineTlsverify: true, engineTlscacert: 'eca.pem', engineTlscert: 'c.pem', engineTlskey: 'c.key' });
  assert.equal(s.tls, undefined);
  assert.deepEqual(s.engineTls, { certPath: resolve('c.pem'), keyPath: resolve('c.key'), caPath: resolve('eca.pem'), verify: true });
  assert.deepEqual(settings({ engineTls: true }).engineTls, { verify: false });
  // Own engine files win over the manager's.
  assert.equal(settings({ ...MANAGER_TLS, engineTls: true, engineTlscacert: 'e.pem' }).engineTls?.caPath, resolve('e.pem'));
  assert.equal(settings({ ...MANAGER_TLS, engineTls: true, engineTlscacert: 'e.pem' }).engineTls?.certPath, undefined);
});

test('engine TLS flags are checked like the manager ones', () => {
  assert.throws(() => settings({ engineTlsverify: true }), /^ConfigError: --engine-tlscacert must be provided when using --engine-tlsverify$/);
  assert.throws(() => settings({ engineTls: true, engineTlscert: 'c.pem' }), /^ConfigError: --engine-tlscert and --engine-tlskey must be provided together$/);
  assert.throws(() => settings({ engineTlscacert: 'c.pem' }), /require the use of either --engine-tls or --engine-tlsverify/);
});

test('engine TLS from the config file: paths relative to it; false = plain engines', () => {
  const file = (engineTls: unknown): LoadedConfig => ({ config: { manage: { tls: { verify: true, ca: 'ca.pem', cert: 'm.pem', key: 'm.key' }, engineTls } as never }, filepath: '/cfg/x.json', baseDir: '/cfg' });
  assert.equal(settings({}, file(false)).engineTls, undefined);
  assert.deepEqual(settings({}, file({ verify: true, ca: 'e.pem' })).engineTls, { caPath: '/cfg/e.pem', verify: true });
  assert.deepEqual(settings({}, file(undefined)).engineTls, { certPath: '/cfg/m.pem', keyPath: '/cfg/m.key', caPath: '/cfg/ca.pem', verify: true });
});

test('--engine-timeout and --api-body-limit: defaults, units and limits', () => {
  const s = settings({});
  assert.equal(s.engineTimeout, 30_000);
  assert.equal(s.apiBodyLimit, 10 * 1024 * 1024);
  assert.equal(settings({ engineTimeout: '2s', apiBodyLimit: '64kb' }).engineTimeout, 2000);
  assert.equal(settings({ apiBodyLimit: '64kb' }).apiBodyLimit, 65536);
  assert.equal(byteSize('1000', 'x'), 1000);
  assert.equal(byteSize('1.5MB', 'x'), 1.5 * 1024 * 1024);
  assert.equal(byteSize('1g', 'x'), 1024 ** 3);
  assert.throws(() => settings({ engineTimeout: '0s' }), /^ConfigError: --engine-timeout should be a positive duration$/);
  assert.throws(() => settings({ engineTimeout: 'soon' }), /invalid --engine-timeout: time: invalid duration "soon"/);
  assert.throws(() => settings({ apiBodyLimit: 'lots' }), /^ConfigError: invalid --api-body-limit: "lots"/);
  assert.throws(() => settings({ apiBodyLimit: '0' }), /must be at least one byte/);
});
