import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/index.ts';
import file from '../discovery-file/index.ts';
import etcd from '../discovery-etcd/index.ts';
import { timingOptions, withTiming } from './backend.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = { heartbeat: 60_000, ttl: 180_000, opts: {} };

test('timingOptions: Go durations or ms; unknown keys, bad durations and heartbeats under 1s are config errors naming the plugin', () => {
  assert.deepEqual(timingOptions('discovery-etcd', { heartbeat: '20s', ttl: '1m' }), { heartbeat: 20_000, ttl: 60_000 });
  assert.deepEqual(timingOptions('discovery-etcd', { heartbeat: 5000 }), { heartbeat: 5000 });
  assert.deepEqual(timingOptions('discovery-etcd', undefined), {});
  assert.throws(() => timingOptions('discovery-etcd', { heartbeet: '20s' }), /^ConfigError: plugin discovery-etcd: invalid options/);
  assert.throws(() => timingOptions('discovery-etcd', { heartbeat: '20 parsecs' }), /plugin discovery-etcd: invalid heartbeat/);
  assert.throws(() => timingOptions('discovery-etcd', { heartbeat: '500ms' }), /heartbeat should be at least one second/);
  assert.throws(() => timingOptions('discovery-etcd', { ttl: '1000h' }), /ttl must be between/);
});

test('withTiming: the plugin\'s values replace defaults only; a flag or config section wins; ttl must exceed heartbeat', () => {
  const t = { heartbeat: 20_000, ttl: 60_000 };
  assert.deepEqual(withTiming('p', { ...base, defaulted: { heartbeat: true, ttl: true } }, t), { ...base, defaulted: { heartbeat: true, ttl: true }, heartbeat: 20_000, ttl: 60_000 });
  const given = { ...base, defaulted: { heartbeat: false, ttl: true } };
  assert.deepEqual(withTiming('p', given, { ...t, ttl: 120_000 }), { ...given, ttl: 120_000 });
  assert.equal(withTiming('p', base, t), base, 'no `defaulted`: every value was set by the user');
  assert.throws(() => withTiming('p', { ...base, heartbeat: 90_000, defaulted: { ttl: true } }, t), /--ttl must be strictly superior to the heartbeat value/);
  // manage does not register (ttl 0): no ttl check
  assert.equal(withTiming('p', { ...base, ttl: 0, defaulted: { heartbeat: true } }, t).heartbeat, 20_000);
});

test('a discovery plugin\'s heartbeat option reaches its backend, unless the flags set one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-timing-'));
  const path = join(dir, 'cluster');
  writeFileSync(path, '127.0.0.1:2375\n');
  const core = createCore({ plugins: [file({ heartbeat: '2s' })] });
  try {
    const byPlugin = await core.discovery(`file://${path}`, { ...base, ttl: 0, defaulted: { heartbeat: true } });
    assert.equal(byPlugin.heartbeat, 2000);
    const byFlag = await core.discovery(`file://${path}`, { ...base, ttl: 0, defaulted: { heartbeat: false } });
    assert.equal(byFlag.heartbeat, 60_000);
    await byPlugin.close?.();
    await byFlag.close?.();
  } finally {
    await core.close();
  }
  // the example of STYLE.md loads
  assert.equal(etcd({ heartbeat: '20s', ttl: '60s' }).name, 'discovery-etcd');
});
