import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { SSH_MODULE, sshLoaded } from './lazy-ssh.ts';
import { EngineImpl } from './engine.ts';

test('the engine layer loads dockerode without ssh2; docker-modem\'s ssh agent still loads on first use', () => {
  assert.equal(typeof EngineImpl, 'function');
  assert.equal(sshLoaded(), false);
  const require = createRequire(import.meta.url);
  const ssh = require(SSH_MODULE) as (opt: Record<string, unknown>) => unknown;
  assert.equal(typeof ssh, 'function');
  const agent = ssh({ host: '127.0.0.1', port: 1 }) as { createConnection?: unknown };
  assert.equal(sshLoaded(), true);
  assert.equal(typeof agent.createConnection, 'function');
});
