import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/index.ts';
import { container, node, request } from '../../test/kit/index.ts';
import affinity, { NAME, REASON_AFFINITY, repositoryOf } from './index.ts';
import { parseExpr } from '../../core/expr.ts';

const web = container('web').id('1234567890ab'.padEnd(64, 'c')).label('com.example.type', 'frontend').build();
const db = container('db').state('exited').label('com.example.type', 'backend').build();
const nameless = { ...container('').label('com.example.type', 'ghost').build(), names: [] };
const n1 = node('node-1').container(web).image(['redis:7', 'localhost:5000/cache:1'], 'sha256:' + 'e'.repeat(64)).build();
const n2 = node('node-2').container(db).image('nginx:latest').build();
const n3 = node('node-3').container(nameless, container('plain')).build();
const n4 = node('node-4').build();
const all = [n1, n2, n3, n4];

test('repositoryOf', () => {
  assert.equal(repositoryOf('redis:7'), 'redis');
  assert.equal(repositoryOf('redis'), 'redis');
  assert.equal(repositoryOf('localhost:5000/cache:1'), 'localhost:5000/cache');
  assert.equal(repositoryOf('localhost:5000/cache'), 'localhost:5000/cache');
  assert.equal(repositoryOf('redis@sha256:abc'), 'redis');
});

test('affinity rules (container, image, label keys)', async () => {
  const core = createCore({ plugins: [affinity()] });
  const rows: [string, string[]][] = [
    ['container==web', ['node-1']],
    ['container==db', ['node-2']], // stopped containers count
    ['container!=web', ['node-2', 'node-3', 'node-4']],
    ['container==1234567890ab', []], // short IDs only match via a glob
    ['container==1234567890ab*', ['node-1']],
    [`container==${web.id}`, ['node-1']],
    ['container==w*', ['node-1']],
    ['container==/^d/', ['node-2']],
    ['container==ghost', []], // a container without names is invisible to container affinity
    ['image==redis', ['node-1']], // repo without tag
    ['image==redis:7', ['node-1']],
    ['image==localhost:5000/cache', ['node-1']],
    ['image==nginx', ['node-2']],
    [`image==sha256:${'e'.repeat(64)}`, ['node-1']],
    ['image!=redis', ['node-2', 'node-3', 'node-4']],
    ['com.example.type==frontend', ['node-1']],
    ['com.example.type==ghost', ['node-3']], // label key: all containers, named or not
    ['com.example.type!=frontend', ['node-2', 'node-3', 'node-4']],
  ];
  for (const [rule, kept] of rows) {
    const out = await core.runFilters(all, request().affinity(rule).build());
    assert.deepEqual(out.nodes.map((n) => n.name), kept, rule);
    const e = parseExpr(rule);
    if (kept.length === 0) assert.deepEqual(out.exhausted, { plugin: NAME });
    for (const r of out.rejected) assert.equal(r.reason, REASON_AFFINITY(e));
  }
});

test('missing label: a container without it contributes ""', async () => {
  const core = createCore({ plugins: [affinity()] });
  // node-3 has a container without the label: `!=x` holds; node-4 has no container: `==*` fails (no candidates)
  const out = await core.runFilters([n3, n4], request().affinity('region==*').build());
  assert.deepEqual(out.nodes.map((n) => n.name), ['node-3']);
});

test('several rules are ANDed; conditions list all, with their soft flag', async () => {
  const core = createCore({ plugins: [affinity()] });
  const req = request().affinity('image==redis', 'container!=~web').build();
  const out = await core.runFilters(all, req);
  assert.equal(out.size, 0);
  assert.deepEqual(out.conditions, [{ plugin: NAME, conditions: ['image==redis (soft=false)', 'container!=web (soft=true)'] }]);
  assert.deepEqual(out.rejected.map((r) => r.reason), [
    'unable to find a node that satisfies the affinity image==redis',
    'unable to find a node that satisfies the affinity image==redis',
    'unable to find a node that satisfies the affinity image==redis',
    'unable to find a node that satisfies the affinity container!=web',
  ]);
  // second pass: soft rules skipped, still listed
  const pass2 = await core.runFilters(all, request().affinity('image==redis', 'container!=~web').secondPass().build());
  assert.deepEqual(pass2.nodes.map((n) => n.name), ['node-1']);
  assert.deepEqual(pass2.conditions[0].conditions, ['image==redis (soft=false)', 'container!=web (soft=true)']);
});

test('an invalid expression fails the filter with the parser message', async () => {
  const core = createCore({ plugins: [affinity()] });
  const out = await core.runFilters(all, request().affinity('x==y').build());
  assert.equal(out.size, 0);
  assert.deepEqual(out.exhausted, { plugin: NAME, message: `error from ${NAME} filter: Key 'x' is invalid` });
});
