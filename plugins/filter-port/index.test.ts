import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore } from '../../core/index.ts';
import { container, node, request } from '../../test/kit/index.ts';
import port, { NAME, REASON_PORT_TAKEN, REASON_PORT_TAKEN_HOST } from './index.ts';

test('drops nodes whose host port is in use, and says why', async () => {
  const core = createCore({ plugins: [port()] });
  const a = node('a').usedPorts(80).build();
  const b = node('b').build();
  const out = await core.runFilters([a, b], request().publish('80:80').build());
  assert.deepEqual(out.nodes.map((n) => n.name), ['b']);
  assert.deepEqual(out.rejected, [{ node: a.id, plugin: NAME, reason: REASON_PORT_TAKEN('80') }]);
  assert.deepEqual(out.conditions, [{ plugin: NAME, conditions: ['port 80 (Bridge mode)'] }]);
  assert.equal(REASON_PORT_TAKEN('80'), 'unable to find a node with port 80 available');
});

test('bridge mode conflict table (IPs, all interfaces, protocols, random ports, states)', async () => {
  const rows: [existing: string, wanted: string, conflict: boolean, state?: string][] = [
    ['80:80', '80:80', true],
    ['80:80', '8080:80', false],
    ['8080:80', '8080:81', true], // host port equal, container port differs
    ['127.0.0.1:80:80', '127.0.0.2:80:80', false],
    ['127.0.0.1:80:80', '127.0.0.1:80:80', true],
    ['127.0.0.1:80:80', '80:80', true], // wanted binds all interfaces
    ['0.0.0.0:80:80', '127.0.0.1:80:80', true], // existing binds all interfaces
    ['53:53/udp', '53:53/tcp', true], // protocol not compared (legacy)
    ['80', '80:80', false], // existing random port never conflicts
    ['80:80', '80', false], // wanted random port never conflicts
    ['80:80', '80:80', true, 'exited'], // stopped containers keep their ports
    ['80:80', '80:80', true, 'pending'], // in-flight creations count
  ];
  const core = createCore({ plugins: [port()] });
  for (const [existing, wanted, conflict, state = 'running'] of rows) {
    const n = node('n').container(container('c').publish(existing).state(state)).build();
    const out = await core.runFilters([n], request().publish(wanted).build());
    assert.equal(out.size, conflict ? 0 : 1, `${existing} (${state}) vs ${wanted}`);
  }
  // `::` binds all interfaces too (built by hand: the `-p` syntax cannot carry it)
  const v6 = node('v6').container({ ...container('c').build(), portBindings: [{ containerPort: '80/tcp', hostIp: '::', hostPort: '80' }] }).build();
  assert.equal((await core.runFilters([v6], request().publish('127.0.0.1:80:80').build())).size, 0);
});

test('each requested binding narrows in turn', async () => {
  const core = createCore({ plugins: [port()] });
  const a = node('a').usedPorts(80).build();
  const b = node('b').usedPorts(443).build();
  const c = node('c').build();
  const out = await core.runFilters([a, b, c], request().publish('80:80').publish('443:443').build());
  assert.deepEqual(out.nodes.map((n) => n.name), ['c']);
  assert.deepEqual(out.rejected.map((r) => r.reason), [REASON_PORT_TAKEN('80'), REASON_PORT_TAKEN('443')]);
  assert.deepEqual(out.conditions[0].conditions, ['port 80 (Bridge mode)', 'port 443 (Bridge mode)']);
});

test('host mode compares exposed port keys of host-mode containers only', async () => {
  const core = createCore({ plugins: [port()] });
  const a = node('a').container(container('h').networkMode('host').expose('80/tcp')).build();
  const b = node('b').container(container('br').expose('80/tcp')).build(); // bridge: irrelevant
  const c = node('c').container(container('u').networkMode('host').expose('80/udp')).build();
  const d = node('d').usedPorts(80).build(); // bridge bindings are not checked in host mode
  const out = await core.runFilters([a, b, c, d], request().net('host').expose('80/tcp').build());
  assert.deepEqual(out.nodes.map((n) => n.name), ['b', 'c', 'd']);
  assert.deepEqual(out.rejected, [{ node: a.id, plugin: NAME, reason: REASON_PORT_TAKEN_HOST('80/tcp') }]);
  assert.deepEqual(out.conditions[0].conditions, ['port 80/tcp (Host mode)']);
  assert.equal(REASON_PORT_TAKEN_HOST('80/tcp'), 'unable to find a node with port 80/tcp available in the Host mode');
  const none = await core.runFilters([a], request().net('host').expose('80/tcp').build());
  assert.deepEqual(none.exhausted, { plugin: NAME });
});
