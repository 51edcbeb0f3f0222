import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/index.ts';
import { node, request } from '../../test/kit/index.ts';
import constraint, { NAME, REASON_CONSTRAINT } from './index.ts';
import { parseExpr } from '../../core/expr.ts';

const n1 = node('node-1').id('AAAA|127.0.0.11:2375').labels({ storage: 'ssd', zone: 'a', kernelversion: '4.19.0' }).build();
const n2 = node('node-2').id('BBBB|127.0.0.12:2375').labels({ storage: 'disk', zone: 'b', kernelversion: '5.10.0' }).build();
const n3 = node('node-3').id('CCCC|127.0.0.13:2375').labels({ storage: 'ssd', zone: 'b', Region: 'eu' }).build();
const all = [n1, n2, n3];

test('constraint rules on labels and node', async () => {
  const core = createCore({ plugins: [constraint()] });
  const rows: [string[], string[]][] = [
    [['storage==ssd'], ['node-1', 'node-3']],
    [['storage!=ssd'], ['node-2']],
    [['storage==ssd', 'zone==b'], ['node-3']], // ANDed
    [['node==node-2'], ['node-2']],
    [['node==BBBB|127.0.0.12:2375'], ['node-2']], // the node ID (|: alternation, but matches itself)
    [['node==CCCC*'], ['node-3']],
    [['node!=node-1'], ['node-2', 'node-3']],
    [['node==/node-[12]/'], ['node-1', 'node-2']],
    [['node==/^node-[12]$/'], ['node-1', 'node-2']],
    [['kernelversion==4.*'], ['node-1']],
    [['kernelversion==5.10.0'], ['node-2']],
    [['region==eu'], []], // a missing label is "" …
    [['region!=us'], ['node-1', 'node-2', 'node-3']], // … so != matches
    [['region==*'], ['node-1', 'node-2', 'node-3']],
    [['Region==eu'], []], // keys are lower-cased, then looked up: `Region` label is unreachable (legacy)
    [['ostype==linux'], ['node-1', 'node-2', 'node-3']],
    [['storage==SSD'], []], // case-sensitive values
  ];
  for (const [rules, kept] of rows) {
    const out = await core.runFilters(all, request().constraint(...rules).build());
    assert.deepEqual(out.nodes.map((n) => n.name), kept, rules.join(' '));
    assert.deepEqual(out.conditions, [{ plugin: NAME, conditions: rules.map((r) => { const e = parseExpr(r); return `${e.key}${e.operator}${e.value}`; }) }]);
  }
});

test('rejection reasons and the legacy text', async () => {
  const core = createCore({ plugins: [constraint()] });
  const out = await core.runFilters(all, request().constraint('node==nope').build());
  assert.deepEqual(out.rejected, all.map((n) => ({ node: n.id, plugin: NAME, reason: REASON_CONSTRAINT(parseExpr('node==nope')) })));
  assert.equal(out.rejected[0].reason, 'unable to find a node that satisfies the constraint node==nope');
  assert.deepEqual(out.exhausted, { plugin: NAME });
});

test('soft constraints: enforced on the first pass, skipped on the second, listed without soft marker', async () => {
  const core = createCore({ plugins: [constraint()] });
  const first = await core.runFilters(all, request().constraint('node==~nope', 'zone==b').build());
  assert.equal(first.size, 0);
  assert.deepEqual(first.conditions[0].conditions, ['node==nope', 'zone==b']);
  const second = await core.runFilters(all, request().constraint('node==~nope', 'zone==b').secondPass().build());
  assert.deepEqual(second.nodes.map((n) => n.name), ['node-2', 'node-3']);
});

test('label rules and env rules together', async () => {
  const core = createCore({ plugins: [constraint()] });
  const req = request().label('com.docker.swarm.constraints', '["zone==b"]').constraint('storage==ssd').build();
  const out = await core.runFilters(all, req);
  assert.deepEqual(out.nodes.map((n) => n.name), ['node-3']);
});

test('parse errors', async () => {
  const core = createCore({ plugins: [constraint()] });
  const rows: [string, string][] = [
    ['foo', 'One of operator ==, != is expected'],
    ['a==b', "Key 'a' is invalid"],
    ['xx==a,b', "Value 'a,b' is invalid"],
  ];
  for (const [rule, message] of rows) {
    const out = await core.runFilters(all, request().constraint('zone==b', rule).build());
    assert.equal(out.size, 0);
    assert.deepEqual(out.exhausted, { plugin: NAME, message: `error from ${NAME} filter: ${message}` });
    assert.deepEqual(out.conditions, []);
  }
});
