import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesSize, formatG4, rfc3339 } from './info.ts';
import { humanDuration, stateString } from './ps.ts';
import { splitContainerPath } from './containers.ts';
import { splitBuildArgs } from './build.ts';
import { parseHost } from './index.ts';

test('memory is shown like go-units BytesSize (%.4g, binary units)', () => {
  assert.equal(bytesSize(0), '0 B');
  assert.equal(bytesSize(1000), '1000 B');
  assert.equal(bytesSize(1024), '1 KiB');
  assert.equal(bytesSize(2 * 1024 ** 3 - 50 * 1024 ** 2), '1.951 GiB');
  assert.equal(bytesSize(1.5 * 1024 ** 3), '1.5 GiB');
  assert.equal(bytesSize(26_543_222_784), '24.72 GiB');
  assert.equal(formatG4(123456), '1.235e+05');
  assert.equal(rfc3339(Date.UTC(2020, 0, 2, 3, 4, 5, 678)), '2020-01-02T03:04:05Z');
});

test('container status strings match the engine', () => {
  const now = Date.parse('2020-01-01T00:10:00Z');
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(90_000), 'About a minute');
  assert.equal(humanDuration(3 * 3_600_000), '3 hours');
  assert.equal(stateString({ Running: true, StartedAt: '2020-01-01T00:05:00Z' }, now), 'Up 5 minutes');
  assert.equal(stateString({ Running: true, Paused: true, StartedAt: '2020-01-01T00:09:58Z' }, now), 'Up 2 seconds (Paused)');
  assert.equal(stateString({ Running: true, StartedAt: '2020-01-01T00:09:00Z', Health: { Status: 'healthy' } }, now), 'Up About a minute (healthy)');
  assert.equal(stateString({ Running: false, ExitCode: 137, StartedAt: '2020-01-01T00:00:00Z', FinishedAt: '2020-01-01T00:09:59Z' }, now), 'Exited (137) 1 second ago');
  assert.equal(stateString({ Running: false, StartedAt: '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z' }, now), 'Created');
});

test('container paths split on the action suffix, names may hold a slash', () => {
  assert.deepEqual(splitContainerPath('node-1/web/logs'), { ref: 'node-1/web', action: 'logs' });
  assert.deepEqual(splitContainerPath('abc/attach/ws'), { ref: 'abc', action: 'attach/ws' });
  assert.deepEqual(splitContainerPath('web'), { ref: 'web', action: '' });
  assert.deepEqual(splitContainerPath('node-1/web'), { ref: 'node-1/web', action: '' });
});

test('build args carrying scheduling rules are taken out', () => {
  const { args, rules } = splitBuildArgs(JSON.stringify({ 'constraint:node': '=node-2', X: 'y', 'affinity:image': '=~busybox', Y: null }));
  assert.deepEqual(args, { X: 'y', Y: null });
  assert.deepEqual(rules, ['constraint:node==node-2', 'affinity:image==~busybox']);
});

test('listen addresses in every legacy form', () => {
  assert.deepEqual(parseHost('tcp://127.0.0.1:2375'), { kind: 'tcp', host: '127.0.0.1', port: 2375 });
  assert.deepEqual(parseHost('127.0.0.2:4000'), { kind: 'tcp', host: '127.0.0.2', port: 4000 });
  assert.deepEqual(parseHost(':4000'), { kind: 'tcp', host: '0.0.0.0', port: 4000 });
  assert.deepEqual(parseHost('unix:///tmp/x.sock'), { kind: 'unix', path: '/tmp/x.sock' });
  assert.throws(() => parseHost('udp://1.2.3.4:5'), /unsupported protocol: "udp"/);
  assert.throws(() => parseHost('tcp://127.0.0.1:99999'), /bad port/);
});
