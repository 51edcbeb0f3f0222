import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Engine } from '../engine/cluster-api.ts';
import { advertisedMinVersion, advertisedVersion, compareVersions, engineVersionPrefix, MAX_API_VERSION, stripVersion } from './versions.ts';

const engine = (state: string, apiVersion: string, minApiVersion = '1.12') => ({ state, apiVersion, minApiVersion }) as unknown as Engine;

test('stripVersion takes any /v<major>.<minor> prefix off, and only that', () => {
  assert.deepEqual(stripVersion('/v1.41/containers/json?all=1'), { version: '1.41', url: '/containers/json?all=1' });
  assert.deepEqual(stripVersion('/v1.99/version'), { version: '1.99', url: '/version' });
  assert.deepEqual(stripVersion('/v1.41'), { version: '1.41', url: '/' });
  assert.deepEqual(stripVersion('/containers/json'), { version: undefined, url: '/containers/json' });
  // a container named like a version is not a prefix (the original's path-rewrite bug, §10)
  assert.deepEqual(stripVersion('/containers/v1.40/json'), { version: undefined, url: '/containers/v1.40/json' });
  assert.deepEqual(stripVersion('/v1/x'), { version: undefined, url: '/v1/x' });
});

test('versions compare numerically', () => {
  assert.equal(compareVersions('1.9', '1.10'), -1);
  assert.equal(compareVersions('1.41', '1.41'), 0);
  assert.equal(compareVersions('1.50', '1.41'), 1);
});

test('advertises the lowest max version among healthy engines, capped', () => {
  assert.equal(advertisedVersion([]), MAX_API_VERSION);
  assert.equal(advertisedVersion([engine('healthy', '1.41'), engine('healthy', '1.40')]), '1.40');
  assert.equal(advertisedVersion([engine('healthy', '1.45')]), MAX_API_VERSION);
  assert.equal(advertisedVersion([engine('unhealthy', '1.30'), engine('healthy', '1.41')]), '1.41');
  assert.equal(advertisedMinVersion([engine('healthy', '1.44', '1.24'), engine('healthy', '1.41', '1.12')]), '1.24');
});

test('rewrites the requested version into the range of the target engine', () => {
  const e = engine('healthy', '1.41', '1.12');
  assert.equal(engineVersionPrefix(undefined, e), '');
  assert.equal(engineVersionPrefix('1.50', e), '/v1.41');
  assert.equal(engineVersionPrefix('1.30', e), '/v1.30');
  assert.equal(engineVersionPrefix('1.5', e), '/v1.12');
});
