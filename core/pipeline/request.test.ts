import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSwarmError } from '../errors.ts';
import { RULE_LABELS, buildRequest, goJsonStrings, withRules } from './request.ts';

test('env rules are stripped by the text before the first ":" and merged after label rules', () => {
  const body = {
    Image: 'busybox',
    Env: ['A=1', 'constraint:storage==ssd', 'affinity:container==web', 'whitelist:node==n1|n2',
      'reschedule:on-node-failure', 'constraint:x:y==z', 'Constraint:kk==v', 'PATH=/bin:/usr/bin', 'constraintfoo:bar'],
    Labels: { 'com.docker.swarm.constraints': '["region==eu"]', other: 'x' },
  };
  const r = buildRequest(body, 'c1', { id: 'fixed' });
  assert.equal(r.id, 'fixed');
  assert.equal(r.name, 'c1');
  assert.equal(r.image, 'busybox');
  assert.deepEqual(r.rules.constraint, ['region==eu', 'storage==ssd', 'x:y==z']);
  assert.deepEqual(r.rules.affinity, ['container==web']);
  assert.deepEqual(r.rules.whitelist, ['node==n1|n2']);
  assert.deepEqual(r.rules.reschedule, ['on-node-failure']);
  const spec = r.spec as { Env: string[]; Labels: Record<string, string> };
  assert.deepEqual(spec.Env, ['A=1', 'Constraint:kk==v', 'PATH=/bin:/usr/bin', 'constraintfoo:bar']);
  assert.equal(spec.Labels[RULE_LABELS.constraint], '["region==eu","storage==ssd","x:y==z"]');
  assert.equal(spec.Labels[RULE_LABELS.affinity], '["container==web"]');
  assert.equal(spec.Labels[RULE_LABELS.whitelist], '["node==n1|n2"]');
  assert.equal(spec.Labels[RULE_LABELS.reschedule], '["on-node-failure"]');
  assert.equal(spec.Labels.other, 'x');
  // the input is never mutated
  assert.equal(body.Env.length, 9);
  assert.equal(Object.keys(body.Labels).length, 2);
  assert.equal(r.enforceSoft, true);
});

test('label JSON: invalid JSON and non-arrays are silently ignored; non-string elements become ""', () => {
  const rows: [string, string[]][] = [
    ['not json', []],
    ['"storage==ssd"', []],
    ['{"a":1}', []],
    ['null', []],
    ['[]', []],
    ['["a==b", 3]', ['a==b', '']],
  ];
  for (const [label, want] of rows) {
    const r = buildRequest({ Labels: { 'com.docker.swarm.constraints': label } }, '');
    assert.deepEqual(r.rules.constraint, want, label);
  }
  // an ignored label is left as it was unless env rules replace it
  const kept = buildRequest({ Labels: { 'com.docker.swarm.constraints': 'not json' } }, '');
  assert.equal((kept.spec as { Labels: Record<string, string> }).Labels['com.docker.swarm.constraints'], 'not json');
  const replaced = buildRequest({ Env: ['constraint:kk==v'], Labels: { 'com.docker.swarm.constraints': 'not json' } }, '');
  assert.equal((replaced.spec as { Labels: Record<string, string> }).Labels['com.docker.swarm.constraints'], '["kk==v"]');
});

test('labels are written back as Go would encode them', () => {
  assert.equal(goJsonStrings(['a<b', 'c>d&e']), '["a\\u003cb","c\\u003ed\\u0026e"]');
  const r = buildRequest({ Env: ['affinity:kk==a<b'] }, '');
  assert.equal((r.spec as { Labels: Record<string, string> }).Labels[RULE_LABELS.affinity], '["kk==a\\u003cb"]');
});

test('a body without Env or Labels keeps them absent', () => {
  const r = buildRequest({ Image: 'busybox' }, '');
  assert.equal('Env' in r.spec, false);
  assert.equal('Labels' in r.spec, false);
  assert.match(r.id, /^[0-9a-f]{32}$/);
  assert.notEqual(buildRequest({}, '').id, r.id);
});

test('reschedule policy validation', () => {
  const rows: [string[], string | undefined][] = [
    [['reschedule:on-node-failure'], undefined],
    [['reschedule:off'], undefined],
    [['reschedule:always'], 'invalid reschedule policy: always'],
    [['reschedule:off', 'reschedule:off'], 'too many reschedule policies'],
  ];
  for (const [env, message] of rows) {
    if (message === undefined) assert.doesNotThrow(() => buildRequest({ Env: env }, ''));
    else {
      assert.throws(() => buildRequest({ Env: env }, ''), (err: unknown) =>
        isSwarmError(err, 'SWARM_ERR_BAD_REQUEST') && err.message === message && err.statusCode === 500, env.join());
    }
  }
  assert.throws(() => buildRequest({ Labels: { [RULE_LABELS.reschedule]: '["on-node-failure"]' }, Env: ['reschedule:off'] }, ''),
    { message: 'too many reschedule policies' });
});

test('resources: HostConfig wins unless a legacy top-level field is non-zero', () => {
  const rows: [Record<string, unknown>, number, number, unknown][] = [
    [{ HostConfig: { Memory: 1024, CpuShares: 2 } }, 1024, 2, undefined],
    [{ Memory: 2048, CpuShares: 1, HostConfig: { Memory: 1024, CpuShares: 2 } }, 2048, 1, undefined],
    [{ Memory: 0, HostConfig: { Memory: 1024 } }, 1024, 0, undefined],
    [{ Memory: 4096, Cpuset: '0,1' }, 4096, 0, '0,1'],
    [{}, 0, 0, undefined],
  ];
  for (const [body, memory, cpus, cpuset] of rows) {
    const r = buildRequest(body, '');
    assert.equal(r.memory, memory, JSON.stringify(body));
    assert.equal(r.cpus, cpus, JSON.stringify(body));
    assert.equal((r.spec as { HostConfig?: { CpusetCpus?: string } }).HostConfig?.CpusetCpus, cpuset);
  }
  const folded = buildRequest({ Memory: 2048, HostConfig: { Memory: 1024 } }, '');
  assert.equal((folded.spec as { HostConfig: { Memory: number } }).HostConfig.Memory, 2048);
});

test('ports, network mode, exposed ports, volumes-from and links', () => {
  const r = buildRequest({
    ExposedPorts: { '80/tcp': {}, '53/udp': {} },
    HostConfig: {
      PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '8081' }], '53/udp': [{ HostPort: '' }] },
      NetworkMode: 'container:db',
      VolumesFrom: ['data:ro', 'logs'],
      Links: ['db:database', 'cache'],
    },
  }, 'x');
  assert.deepEqual(r.portBindings, [
    { containerPort: '80/tcp', hostIp: '', hostPort: '8080' },
    { containerPort: '80/tcp', hostIp: '127.0.0.1', hostPort: '8081' },
    { containerPort: '53/udp', hostIp: '', hostPort: '' },
  ]);
  assert.equal(r.networkMode, 'container:db');
  assert.deepEqual(r.exposedPorts, ['80/tcp', '53/udp']);
  assert.deepEqual(r.volumesFrom, ['data', 'logs']);
  assert.deepEqual(r.links, ['db', 'cache']);
});

test('withRules appends and persists', () => {
  const r = buildRequest({ Env: ['constraint:kk==v'] }, '');
  const r2 = withRules(r, 'constraint', ['ostype==linux']);
  assert.deepEqual(r2.rules.constraint, ['kk==v', 'ostype==linux']);
  assert.deepEqual(r.rules.constraint, ['kk==v']);
  assert.equal((r2.spec as { Labels: Record<string, string> }).Labels[RULE_LABELS.constraint], '["kk==v","ostype==linux"]');
  assert.equal(withRules(r, 'constraint', []), r);
});
