import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerView, shiftTimes, summaryFromInspect } from './views.ts';
import { readSpecs } from './specs.ts';
import { containerEventEffect, enrichEvent, lineParser, swarmEvent } from './events.ts';

const inspect = {
  Id: 'abc123',
  Name: '/web',
  Created: '2024-01-01T00:00:00Z',
  Path: 'sleep',
  Args: ['60'],
  Image: 'sha256:img',
  State: { Status: 'running', StartedAt: '2024-01-01T00:00:01Z', FinishedAt: '0001-01-01T00:00:00Z' },
  Config: { Image: 'busybox', Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {}, '53/udp': {} } },
  HostConfig: { NetworkMode: 'bridge', CpuShares: 512, Memory: 1024, PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } },
  NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '53/udp': null }, Networks: { bridge: {} } },
  Mounts: [],
};

test('container view: configured and actual bindings, exposed ports, CPUs from shares', () => {
  const summary = summaryFromInspect(inspect);
  const view = containerView(summary, inspect, 4);
  assert.deepEqual(view.portBindings, [
    { containerPort: '80/tcp', hostIp: '', hostPort: '8080' },
    { containerPort: '80/tcp', hostIp: '0.0.0.0', hostPort: '8080' },
  ]);
  assert.deepEqual(view.exposedPorts, ['80/tcp', '53/udp']);
  assert.equal(view.cpus, 2); // 512 × 4 / 1024
  assert.equal(view.memory, 1024);
  assert.equal(view.networkMode, 'bridge');
  assert.equal(view.state, 'running');
  assert.deepEqual(view.names, ['/web']);
  assert.equal(view.created, Date.parse('2024-01-01T00:00:00Z') / 1000);
});

test('summary from inspect keeps link names and Status of the previous list entry', () => {
  const summary = summaryFromInspect({ ...inspect, Name: '/web2' }, { Names: ['/web', '/app/web'], Status: 'Up 2 minutes' });
  assert.deepEqual(summary.Names, ['/web2', '/app/web']);
  assert.equal(summary.Status, 'Up 2 minutes');
  assert.equal(summary.Command, 'sleep 60');
  assert.deepEqual(summary.Ports, [
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { PrivatePort: 53, Type: 'udp' },
  ]);
});

test('view from a list summary alone uses its published ports', () => {
  const view = containerView({ Id: 'x', Names: ['/a'], State: 'exited', Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 81, Type: 'tcp' }, { PrivatePort: 90, Type: 'tcp' }] }, undefined, 2);
  assert.deepEqual(view.portBindings, [{ containerPort: '80/tcp', hostIp: '0.0.0.0', hostPort: '81' }]);
  assert.equal(view.cpus, 0);
});

test('clock skew shifts Created, StartedAt and FinishedAt but not zero times', () => {
  const out = shiftTimes({ Created: 100 }, inspect, 5000);
  assert.equal(out.summary.Created, 105);
  assert.equal(out.inspect?.Created, '2024-01-01T00:00:05.000Z');
  assert.equal(out.inspect?.State.StartedAt, '2024-01-01T00:00:06.000Z');
  assert.equal(out.inspect?.State.FinishedAt, '0001-01-01T00:00:00Z');
  assert.equal(shiftTimes({ Created: 100 }, inspect, 0).summary.Created, 100);
});

test('specs: built-in labels, daemon labels, node label ignored, invalid label fails', () => {
  const info = { ID: 'ABC', Name: 'node-1', NCPU: 4, MemTotal: 8, Driver: 'vfs', KernelVersion: '6.1', OperatingSystem: 'Debian', OSType: 'linux', Labels: ['storage=ssd', 'node=x', 'ostype=windows', 'eq=a=b'] };
  const s = readSpecs(info, '10.0.0.1:2375');
  assert.deepEqual(s.labels, { storagedriver: 'vfs', kernelversion: '6.1', operatingsystem: 'Debian', ostype: 'linux', storage: 'ssd', eq: 'a=b' });
  assert.equal(s.warnings.length, 2);
  assert.throws(() => readSpecs({ ...info, Labels: ['bad'] }, '10.0.0.1:2375'),
    { message: 'Engine (ID: ABC, Addr: 10.0.0.1:2375) contains an invalid label (bad) not formatted as "key=value".' });
  assert.throws(() => readSpecs({ ...info, NCPU: 0 }, '10.0.0.1:2375'),
    { message: 'cannot get resources for this engine, make sure 10.0.0.1:2375 is a Docker Engine, not a Swarm manager' });
});

test('events: enrichment adds node fields without touching the input', () => {
  const raw = { Type: 'container', Action: 'start', from: 'busybox', Actor: { ID: 'c1', Attributes: { name: 'web' } } };
  const node = { name: 'node-1', id: 'X|10.0.0.1:2375', addr: '10.0.0.1:2375', ip: '10.0.0.1' };
  const e = enrichEvent(raw, node);
  assert.equal(e.from, 'busybox node:node-1');
  assert.deepEqual(e.Actor.Attributes, { name: 'web', 'node.name': 'node-1', 'node.id': 'X|10.0.0.1:2375', 'node.addr': '10.0.0.1:2375', 'node.ip': '10.0.0.1' });
  assert.deepEqual(e.node, { Name: 'node-1', Id: 'X|10.0.0.1:2375', Addr: '10.0.0.1:2375', Ip: '10.0.0.1' });
  assert.equal(raw.from, 'busybox');
  const s = swarmEvent('engine_disconnect', node, 1_700_000_000_123);
  assert.equal(s.Type, 'swarm');
  assert.equal(s.status, 'engine_disconnect');
  assert.equal(s.Action, 'engine_disconnect');
  assert.equal(s.from, 'swarm');
  assert.equal(s.time, 1_700_000_000);
  assert.equal(s.timeNano, 1_700_000_000_123_000_000);
  assert.equal(s.node.Name, 'node-1');
});

test('events: which container actions re-inspect, remove, refresh images, or list', () => {
  assert.equal(containerEventEffect('die'), 'inspect');
  assert.equal(containerEventEffect('health_status: healthy'), 'inspect');
  assert.equal(containerEventEffect('destroy'), 'remove');
  assert.equal(containerEventEffect('commit'), 'images');
  assert.equal(containerEventEffect('exec_start: sh -c ls'), 'none');
  assert.equal(containerEventEffect('create'), 'list');
});

test('line parser joins chunks split anywhere', () => {
  const got: unknown[] = [];
  const bad: string[] = [];
  const feed = lineParser((o) => got.push(o), (l) => bad.push(l));
  feed('{"a":1}\n{"b"');
  feed(':2}\n\nnot json\n{"c":3}');
  feed('\n');
  assert.deepEqual(got, [{ a: 1 }, { b: 2 }, { c: 3 }]);
  assert.deepEqual(bad, ['not json']);
});
