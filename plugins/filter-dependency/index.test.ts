import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/index.ts';
import { container, node, request } from '../../test/kit/index.ts';
import dependency, { NAME, REASON_MISSING, findContainer } from './index.ts';

const db = container('db').id('a'.repeat(64)).label('com.docker.swarm.id', 'f'.repeat(64)).build();
const web = container('web').id('ab'.padEnd(64, '0')).build();

test('findContainer: legacy lookup order', () => {
  const n = node('node-1').container(db, web).build();
  const rows: [string, string | undefined][] = [
    ['a'.repeat(64), db.id], // full ID
    ['a'.repeat(12), db.id], // short ID
    ['f'.repeat(64), db.id], // swarm ID
    ['f'.repeat(12), db.id], // short swarm ID
    ['db', db.id],
    ['/db', db.id],
    ['node-1/db', db.id],
    [`${n.id}/db`, db.id],
    ['ab0', web.id], // unique ID prefix
    ['a', undefined], // ambiguous prefix
    ['fff', db.id], // swarm ID prefix
    ['nope', undefined],
    ['', undefined],
    ['node-2/db', undefined],
  ];
  for (const [ref, want] of rows) assert.equal(findContainer(n, ref)?.id, want, ref);
  const twice = node('x').container(container('dup').build(), { ...container('other').build(), names: ['/dup'] }).build();
  assert.equal(findContainer(twice, 'dup'), undefined); // ambiguous name
});

test('co-location with --volumes-from, --link and --net=container:x', async () => {
  const core = createCore({ plugins: [dependency()] });
  const n1 = node('node-1').container(db).build();
  const n2 = node('node-2').container(web).build();
  const n3 = node('node-3').container(db, web).build();
  const rows: [ReturnType<typeof request>, string[], string[]][] = [
    [request().volumesFrom('db:ro'), ['node-1', 'node-3'], ['--volumes-from=db:ro']],
    [request().link('web:alias'), ['node-2', 'node-3'], ['--link=web:alias']],
    [request().net('container:db'), ['node-1', 'node-3'], ['--net=container:db']],
    [request().volumesFrom('db').link('web:w'), ['node-3'], ['--volumes-from=db', '--link=web:w']],
    [request().net('bridge'), ['node-1', 'node-2', 'node-3'], []],
    [request(), ['node-1', 'node-2', 'node-3'], []],
  ];
  for (const [req, kept, conds] of rows) {
    const out = await core.runFilters([n1, n2, n3], req.build());
    assert.deepEqual(out.nodes.map((n) => n.name), kept, conds.join(' '));
    assert.deepEqual(out.conditions, [{ plugin: NAME, conditions: conds }]);
  }
  const none = await core.runFilters([n2], request().volumesFrom('db').build());
  assert.deepEqual(none.rejected, [{ node: n2.id, plugin: NAME, reason: REASON_MISSING(['--volumes-from=db'], 'db') }]);
  assert.equal(none.rejected[0].reason, 'Unable to find a node fulfilling all dependencies: --volumes-from=db (no container db on the node)');
  assert.deepEqual(none.exhausted, { plugin: NAME });
});
