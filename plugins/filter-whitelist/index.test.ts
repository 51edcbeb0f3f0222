import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/index.ts';
import { node, request } from '../../test/kit/index.ts';
import whitelist, { NAME, REASON_WHITELIST } from './index.ts';
import { parseExpr } from '../../core/expr.ts';

const all = ['node-1', 'node-2', 'node-3'].map((n) => node(n).build());

test('whitelist keeps exact node names; key and operator are ignored', async () => {
  const core = createCore({ plugins: [whitelist()] });
  const rows: [string[], string[]][] = [
    [['node==node-1|node-3'], ['node-1', 'node-3']],
    [['anything==node-2'], ['node-2']], // key ignored
    [['node!=node-2'], ['node-2']], // operator ignored: != acts like ==
    [['node==node-*'], []], // no globs
    [['node==/node-1/'], []], // no regexes
    [['node==node-1|node-2', 'node==node-2|node-3'], ['node-2']],
  ];
  for (const [rules, kept] of rows) {
    const out = await core.runFilters(all, request().whitelist(...rules).build());
    assert.deepEqual(out.nodes.map((n) => n.name), kept, rules.join(' '));
  }
});

test('reasons, conditions and soft rules', async () => {
  const core = createCore({ plugins: [whitelist()] });
  const out = await core.runFilters(all, request().whitelist('node==~nope').build());
  assert.equal(out.size, 0);
  assert.equal(out.rejected[0].reason, REASON_WHITELIST(parseExpr('node==nope')));
  assert.equal(out.rejected[0].reason, 'unable to find a node that satisfies the whitelist node==nope');
  assert.deepEqual(out.conditions, [{ plugin: NAME, conditions: ['node==nope (soft=true)'] }]);
  const second = await core.runFilters(all, request().whitelist('node==~nope').secondPass().build());
  assert.equal(second.size, 3);
});
