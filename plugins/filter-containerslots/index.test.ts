import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/index.ts';
import { container, node, request } from '../../test/kit/index.ts';
import containerslots, { CONDITION, NAME, REASON_NO_SLOTS } from './index.ts';

test('containerslots label limits containers of any state, pending included', async () => {
  const rows: [label: string | undefined, containers: number, kept: boolean][] = [
    [undefined, 100, true], // no label: unlimited
    ['2', 1, true],
    ['2', 2, false],
    ['2', 3, false],
    ['0', 0, false],
    ['+1', 0, true], // Go Atoi accepts a sign
    ['-1', 0, false],
    ['abc', 50, true], // not an integer: ignored
    ['1.5', 50, true],
    ['', 50, true],
  ];
  const core = createCore({ plugins: [containerslots()] });
  for (const [label, count, kept] of rows) {
    const b = node('n').containers(count);
    if (label !== undefined) b.label('containerslots', label);
    const n = b.build();
    const out = await core.runFilters([n], request().build());
    assert.equal(out.size, kept ? 1 : 0, `label=${label} containers=${count}`);
    if (!kept) assert.deepEqual(out.rejected, [{ node: n.id, plugin: NAME, reason: REASON_NO_SLOTS(n) }]);
    assert.deepEqual(out.conditions, [{ plugin: NAME, conditions: ['available container slots'] }]);
  }
  const stopped = node('s').label('containerslots', '1').container(container('old').state('exited')).build();
  const pending = node('p').label('containerslots', '1').container(container('new').state('pending')).build();
  const out = await core.runFilters([stopped, pending], request().build());
  assert.equal(out.size, 0);
  assert.equal(CONDITION, 'available container slots');
});

test('empty input is exhausted, as in the original', async () => {
  const core = createCore({ plugins: [containerslots()] });
  const out = await core.runFilters([], request().build());
  assert.deepEqual(out.exhausted, { plugin: NAME });
});
