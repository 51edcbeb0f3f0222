import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/index.ts';
import { node, request } from '../../test/kit/index.ts';
import health, { ERR_NO_HEALTHY_NODE, NAME, REASON_UNHEALTHY } from './index.ts';

test('keeps nodes with a health indicator above 0', async () => {
  const core = createCore({ plugins: [health()] });
  const a = node('a').build();
  const b = node('b').health(33).build();
  const c = node('c').state('unhealthy').build();
  const d = node('d').health(0).build(); // failures reached the retry count
  const out = await core.runFilters([a, b, c, d], request().build());
  assert.deepEqual(out.nodes.map((n) => n.name), ['a', 'b']);
  assert.deepEqual(out.rejected, [
    { node: c.id, plugin: NAME, reason: REASON_UNHEALTHY(c) },
    { node: d.id, plugin: NAME, reason: REASON_UNHEALTHY(d) },
  ]);
  assert.equal(out.exhausted, undefined);
});

test('no healthy node: its own legacy message', async () => {
  const core = createCore({ plugins: [health()] });
  for (const nodes of [[node('a').state('unhealthy').build()], []]) {
    const out = await core.runFilters(nodes, request().build());
    assert.equal(out.size, 0);
    assert.deepEqual(out.exhausted, { plugin: NAME, message: ERR_NO_HEALTHY_NODE });
  }
  assert.equal(ERR_NO_HEALTHY_NODE, 'No healthy node available in the cluster');
});

test('rejects unknown options', () => {
  assert.throws(() => health({ nope: 1 } as never), /plugin filter-health: invalid options/);
});
