import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/core.ts';
import nodes, { MISSING_TOKEN_HINT, parseNodes } from './index.ts';

const opts = { heartbeat: 1000, ttl: 3000, opts: {} };

async function first(it: AsyncIterable<string[]>): Promise<string[]> {
  for await (const list of it) return list;
  throw new Error('watch ended without a list');
}

test('nodes:// and a bare list both expand ranges in order', async () => {
  const core = createCore({ plugins: [nodes()] });
  const ac = new AbortController();
  const a = await core.discovery('nodes://10.0.0.[1:3]:2375,h:1', opts);
  assert.deepEqual(await first(a.watch(ac.signal)), ['10.0.0.1:2375', '10.0.0.2:2375', '10.0.0.3:2375', 'h:1']);
  const bare = await core.discovery('127.0.0.1:[2375:2376]', opts);
  assert.deepEqual(await first(bare.watch(ac.signal)), ['127.0.0.1:2375', '127.0.0.1:2376']);
  ac.abort();
});

test('the watch yields once and ends when aborted', async () => {
  const core = createCore({ plugins: [nodes()] });
  const backend = await core.discovery('a:1,b:2', opts);
  const ac = new AbortController();
  const seen: string[][] = [];
  for await (const list of backend.watch(ac.signal)) { seen.push(list); ac.abort(); }
  assert.deepEqual(seen, [['a:1', 'b:2']]);
});

test('a bad item fails with the legacy hint about token://', async () => {
  const core = createCore({ plugins: [nodes()] });
  await assert.rejects(core.discovery('0123456789abcdef', opts), {
    code: 'SWARM_ERR_DISCOVERY',
    message: `address 0123456789abcdef: missing port in address${MISSING_TOKEN_HINT}`,
  });
  assert.throws(() => parseNodes('a:1,b'), /address b: missing port in address, please check/);
});

test('register is not implemented', async () => {
  const core = createCore({ plugins: [nodes()] });
  const backend = await core.discovery('nodes://a:1', opts);
  await assert.rejects(backend.register('a:1'), { message: 'not implemented in this discovery service' });
});
