import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  clockSkew, cpusToShares, healthIndicator, isConnectionError, pendingRetryDelay, refreshDelay, sharesToCpus, withOvercommit,
} from './health.ts';

test('health indicator: 100 − failures×100/retry with integer division, 0 unless healthy', () => {
  assert.equal(healthIndicator('healthy', 0, 3), 100);
  assert.equal(healthIndicator('healthy', 1, 3), 67); // 100 − 33
  assert.equal(healthIndicator('healthy', 2, 3), 34);
  assert.equal(healthIndicator('healthy', 3, 3), 0);
  assert.equal(healthIndicator('unhealthy', 0, 3), 0);
  assert.equal(healthIndicator('pending', 0, 3), 0);
  assert.equal(healthIndicator('healthy', 1, 7), 86); // 100 − 14
});

test('connection-class errors count, HTTP answers never do', () => {
  assert.equal(isConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), true);
  assert.equal(isConnectionError(Object.assign(new Error('x'), { code: 'EHOSTUNREACH' })), true);
  assert.equal(isConnectionError(new Error('socket hang up')), true);
  assert.equal(isConnectionError(new Error('boom', { cause: Object.assign(new Error('inner'), { code: 'ETIMEDOUT' }) })), true);
  assert.equal(isConnectionError(Object.assign(new Error('(HTTP code 500) connection refused by registry'), { statusCode: 500 })), false);
  assert.equal(isConnectionError(Object.assign(new Error('No such container'), { statusCode: 404 })), false);
  assert.equal(isConnectionError(new Error('invalid reference format')), false);
  assert.equal(isConnectionError(undefined), false);
});

test('refresh delay: min × (1 + clamp(failures − retry, 0, 1000)) + jitter in [0, max − min)', () => {
  assert.equal(refreshDelay(30_000, 60_000, 0, 3, () => 0), 30_000);
  assert.equal(refreshDelay(30_000, 60_000, 0, 3, () => 0.5), 45_000);
  assert.equal(refreshDelay(30_000, 60_000, 3, 3, () => 0), 30_000);
  assert.equal(refreshDelay(30_000, 60_000, 5, 3, () => 0), 90_000); // backoff 2
  assert.equal(refreshDelay(1000, 1000, 5000, 3, () => 0.9), 1000 * 1001); // capped at 1000
  assert.ok(refreshDelay(30_000, 60_000, 0, 3, () => 0.999999) < 60_000);
});

test('pending re-validation: 2^n s + 30 s, capped at 4 h', () => {
  assert.equal(pendingRetryDelay(0), 31_000);
  assert.equal(pendingRetryDelay(1), 32_000);
  assert.equal(pendingRetryDelay(5), 62_000);
  assert.equal(pendingRetryDelay(30), 4 * 3600_000);
  assert.equal(pendingRetryDelay(2000), 4 * 3600_000);
  assert.equal(pendingRetryDelay(2, { base: 100, unit: 10, cap: 1000 }), 140);
});

test('overcommit is an integer percent applied with integer math', () => {
  assert.equal(withOvercommit(4, 0.05), 4); // 4×5/100 = 0
  assert.equal(withOvercommit(19, 0.05), 19);
  assert.equal(withOvercommit(20, 0.05), 21);
  assert.equal(withOvercommit(2 * 1024 ** 3, 0.05), 2 * 1024 ** 3 + Math.trunc((2 * 1024 ** 3 * 5) / 100));
  assert.equal(withOvercommit(4, 0.5), 6);
  assert.equal(withOvercommit(10, -0.5), 5);
  assert.equal(withOvercommit(8, 0.059), 8); // int(5.9) = 5 → 8×5/100 = 0
  assert.equal(withOvercommit(1000, 0.059), 1050);
});

test('CPU conversion: ceil(cpus×1024/NCPU) to the engine, int(shares×NCPU/1024) back', () => {
  assert.equal(cpusToShares(1, 4), 256);
  assert.equal(cpusToShares(1, 3), 342); // 341.33 rounded up
  assert.equal(cpusToShares(2, 2), 1024);
  assert.equal(sharesToCpus(256, 4), 1);
  assert.equal(sharesToCpus(342, 3), 1);
  assert.equal(sharesToCpus(1024, 4), 4); // a direct --cpu-shares 1024 on 4 CPUs reserves 4
  assert.equal(sharesToCpus(0, 4), 0); // default shares reserve nothing
  assert.equal(sharesToCpus(100, 4), 0);
});

test('clock skew applies only from 2 s on', () => {
  assert.equal(clockSkew(10_000, 9_000), 0);
  assert.equal(clockSkew(10_000, 8_000), 2000);
  assert.equal(clockSkew(10_000, 15_000), -5000);
  assert.equal(clockSkew(10_000, Number.NaN), 0);
});
