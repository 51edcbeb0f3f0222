// A real core with a cluster made of plain data: nodes and containers are records, and the
// create path enforces what matters here (cluster-wide name uniqueness, healthy nodes only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCore, SwarmError, type ClusterAccess } from '../../core/index.ts';
import type { ContainerView, CreateSpec, NodeState, NodeView } from '../../core/types.ts';
import reschedule, { NAME, POLICY_LABEL, SWARM_ID_LABEL, reschedulePolicies, containerName } from './index.ts';

interface StoredContainer { view: ContainerView; body: Record<string, unknown> }

class DataCluster implements ClusterAccess {
  readonly nodeState = new Map<string, NodeState>();
  readonly stored = new Map<string, StoredContainer[]>();
  readonly removed: { id: string; force: boolean; volumes: boolean }[] = [];
  readonly started: string[] = [];
  failStart = false;
  private seq = 0;

  addNode(id: string, state: NodeState = 'healthy'): this {
    this.nodeState.set(id, state);
    this.stored.set(id, []);
    return this;
  }

  /** A container as the engine would hold it; the body is what `inspectContainer` returns. */
  put(nodeId: string, name: string, opts: { state?: string; labels?: Record<string, string> } = {}): ContainerView {
    const labels = { [SWARM_ID_LABEL]: `swarm-${name}-${++this.seq}`, ...opts.labels };
    const view = container(`id-${name}-${this.seq}`, name, opts.state ?? 'running', labels);
    this.stored.get(nodeId)!.push({ view, body: { Image: 'busybox:latest', Cmd: ['sleep', '1000'], Labels: labels, HostConfig: { Memory: 0 } } });
    return view;
  }

  nodes(): readonly NodeView[] {
    return [...this.stored.keys()].map((id) => node(id, this.nodeState.get(id)!, this.stored.get(id)!.map((s) => s.view)));
  }

  where(name: string): string[] {
    return [...this.stored].filter(([, cs]) => cs.some((c) => c.view.names.includes(`/${name}`))).map(([id]) => id);
  }

  find(name: string): StoredContainer | undefined {
    for (const cs of this.stored.values()) {
      const hit = cs.find((c) => c.view.names.includes(`/${name}`));
      if (hit) return hit;
    }
    return undefined;
  }

  async createContainer(body: CreateSpec, name: string): Promise<{ id: string; node: NodeView }> {
    if (this.where(name).length > 0) {
      throw new SwarmError('SWARM_ERR_CONFLICT', `Conflict: The name ${name} is already assigned.`);
    }
    const target = this.nodes().filter((n) => n.state === 'healthy').sort((a, b) => a.containers.length - b.containers.length)[0];
    if (!target) throw new SwarmError('SWARM_ERR_NO_SUITABLE_NODE', 'No healthy node available in the cluster');
    const labels = { ...(body.Labels as Record<string, string>) };
    const view = container(`id-${name}-${++this.seq}`, name, 'created', labels);
    this.stored.get(target.id)!.push({ view, body: { ...body } });
    return { id: view.id, node: this.nodes().find((n) => n.id === target.id)! };
  }

  async startContainer(id: string): Promise<void> {
    if (this.failStart) throw new Error('cannot start');
    for (const cs of this.stored.values()) {
      const c = cs.find((s) => s.view.id === id);
      if (c) { c.view = { ...c.view, state: 'running' }; this.started.push(id); return; }
    }
    throw new SwarmError('SWARM_ERR_NOT_FOUND', `No such container: ${id}`);
  }

  async removeContainer(id: string, options: { force: boolean; volumes: boolean }): Promise<void> {
    for (const cs of this.stored.values()) {
      const i = cs.findIndex((s) => s.view.id === id);
      if (i >= 0) { cs.splice(i, 1); this.removed.push({ id, ...options }); return; }
    }
    throw new SwarmError('SWARM_ERR_NOT_FOUND', `No such container: ${id}`);
  }

  private forgotten = new Map<string, StoredContainer>();

  forgetContainer(nodeId: string, containerId: string): void {
    const cs = this.stored.get(nodeId)!;
    const i = cs.findIndex((s) => s.view.id === containerId);
    if (i >= 0) this.forgotten.set(containerId, cs.splice(i, 1)[0]);
  }

  restoreContainer(nodeId: string, view: ContainerView): void {
    const saved = this.forgotten.get(view.id);
    this.stored.get(nodeId)!.push({ view, body: saved?.body ?? {} });
  }

  /** The engine comes back and reports everything it still has, forgotten containers included. */
  reconnect(nodeId: string): void {
    this.nodeState.set(nodeId, 'healthy');
    for (const [id, s] of this.forgotten) {
      if (!this.stored.get(nodeId)!.some((c) => c.view.id === id)) this.stored.get(nodeId)!.push(s);
      this.forgotten.delete(id);
    }
  }

  async inspectContainer(id: string): Promise<Record<string, unknown>> {
    for (const cs of this.stored.values()) {
      const c = cs.find((s) => s.view.id === id);
      if (c) return structuredClone(c.body);
    }
    throw new SwarmError('SWARM_ERR_NOT_FOUND', `No such container: ${id}`);
  }
}

function container(id: string, name: string, state: string, labels: Record<string, string>): ContainerView {
  return { id, names: [`/${name}`], image: 'busybox:latest', imageId: 'sha256:b', state, labels, portBindings: [], networkMode: 'default', exposedPorts: [], cpus: 0, memory: 0, created: 1 };
}

function node(id: string, state: NodeState, containers: ContainerView[]): NodeView {
  return { id, name: id, addr: `${id}:2375`, ip: '127.0.0.1', labels: {}, state, healthIndicator: state === 'healthy' ? 100 : 0, totalCpus: 2, totalMemory: 1 << 30, usedCpus: 0, usedMemory: 0, containers, images: [] };
}

const POLICY = { [POLICY_LABEL]: '["on-node-failure"]' };

function setup(cluster: DataCluster, options = {}) {
  const core = createCore({ plugins: [reschedule(options)] });
  core.attachCluster(cluster);
  const down = (id: string) => {
    cluster.nodeState.set(id, 'unhealthy');
    const n = cluster.nodes().find((x) => x.id === id)!;
    return core.failover({ kind: 'node-down', node: n, containers: n.containers });
  };
  const up = (id: string) => {
    cluster.reconnect(id);
    return core.failover({ kind: 'node-up', node: cluster.nodes().find((x) => x.id === id)! });
  };
  return { core, down, up };
}

test('a running container with the policy is recreated on a healthy node, same name, config and swarm ID, and started', async () => {
  const cluster = new DataCluster().addNode('n1').addNode('n2');
  const orig = cluster.put('n1', 'web', { labels: POLICY });
  const { down } = setup(cluster);
  await down('n1');
  assert.deepEqual(cluster.where('web'), ['n2']);
  const copy = cluster.find('web')!;
  assert.notEqual(copy.view.id, orig.id);
  assert.equal(copy.view.labels[SWARM_ID_LABEL], orig.labels[SWARM_ID_LABEL]);
  assert.deepEqual(copy.body.Cmd, ['sleep', '1000']);
  assert.equal(copy.view.state, 'running');
  assert.deepEqual(cluster.started, [copy.view.id]);
});

test('containers without the policy (or with "off") stay where they are', async () => {
  const cluster = new DataCluster().addNode('n1').addNode('n2');
  cluster.put('n1', 'plain');
  cluster.put('n1', 'off', { labels: { [POLICY_LABEL]: '["off"]' } });
  const { down } = setup(cluster);
  await down('n1');
  assert.deepEqual(cluster.where('plain'), ['n1']);
  assert.deepEqual(cluster.where('off'), ['n1']);
  assert.deepEqual(cluster.started, []);
});

test('a stopped container with the policy is recreated but not started', async () => {
  const cluster = new DataCluster().addNode('n1').addNode('n2');
  cluster.put('n1', 'batch', { state: 'exited', labels: POLICY });
  const { down } = setup(cluster);
  await down('n1');
  assert.deepEqual(cluster.where('batch'), ['n2']);
  assert.equal(cluster.find('batch')!.view.state, 'created');
  assert.deepEqual(cluster.started, []);
});

test('when no node can take it, the container is put back and retried on the next node-down', async () => {
  const cluster = new DataCluster().addNode('n1').addNode('n2', 'unhealthy');
  const orig = cluster.put('n1', 'db', { labels: POLICY });
  const { down } = setup(cluster);
  await down('n1');
  assert.deepEqual(cluster.where('db'), ['n1']);
  assert.equal(cluster.find('db')!.view.id, orig.id);

  cluster.nodeState.set('n2', 'healthy');
  await down('n1');
  assert.deepEqual(cluster.where('db'), ['n2']);
});

test('a start failure leaves the recreated copy in place and does not stop the others', async () => {
  const cluster = new DataCluster().addNode('n1').addNode('n2');
  cluster.put('n1', 'a', { labels: POLICY });
  cluster.put('n1', 'b', { labels: POLICY });
  cluster.failStart = true;
  const { down } = setup(cluster);
  await down('n1');
  assert.deepEqual(cluster.where('a'), ['n2']);
  assert.deepEqual(cluster.where('b'), ['n2']);
});

test('when the old node comes back its stale copy is removed with volumes, unique containers stay', async () => {
  const cluster = new DataCluster().addNode('n1').addNode('n2');
  const orig = cluster.put('n1', 'web', { labels: POLICY });
  cluster.put('n1', 'plain');
  const { down, up } = setup(cluster);
  await down('n1');
  await up('n1');
  assert.deepEqual(cluster.removed, [{ id: orig.id, force: true, volumes: true }]);
  assert.deepEqual(cluster.where('web'), ['n2']);
  assert.deepEqual(cluster.where('plain'), ['n1']);
});

test('a node that reports itself up before its containers are listed again: the stale copy goes once it shows up', async () => {
  const cluster = new DataCluster().addNode('n1').addNode('n2');
  const orig = cluster.put('n1', 'web', { labels: POLICY });
  const { core, down } = setup(cluster, { staleCheckInterval: 5 });
  try {
    await down('n1');
    cluster.nodeState.set('n1', 'healthy'); // up, but its container list is not read yet
    await core.failover({ kind: 'node-up', node: cluster.nodes().find((n) => n.id === 'n1')! });
    assert.deepEqual(cluster.removed, []);
    cluster.reconnect('n1'); // the next refresh lists the stale copy
    for (let i = 0; i < 200 && cluster.removed.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(cluster.removed, [{ id: orig.id, force: true, volumes: true }]);
    assert.deepEqual(cluster.where('web'), ['n2']);
  } finally {
    await core.close(); // stops the follow-up checks
  }
});

test('a replica does nothing; it acts once it becomes primary, and stops again when it loses', async () => {
  const cluster = new DataCluster().addNode('n1').addNode('n2').addNode('n3');
  cluster.put('n1', 'x', { labels: POLICY });
  cluster.put('n3', 'y', { labels: POLICY });
  const { core, down } = setup(cluster, { assumePrimary: false });
  await down('n1');
  assert.deepEqual(cluster.where('x'), ['n1']);

  await core.failover({ kind: 'primary-changed', primary: '127.0.0.1:1', self: '127.0.0.1:1', isPrimary: true });
  await down('n1');
  assert.deepEqual(cluster.where('x'), ['n2']);

  await core.failover({ kind: 'primary-changed', primary: '127.0.0.1:2', self: '127.0.0.1:1', isPrimary: false });
  await down('n3');
  assert.deepEqual(cluster.where('y'), ['n3']);
});

test('a manager that becomes primary reschedules what is still on unhealthy nodes, skipping what already has a copy', async () => {
  const cluster = new DataCluster().addNode('n1').addNode('n2').addNode('n3');
  cluster.put('n1', 'left', { labels: POLICY });
  cluster.put('n1', 'moved', { labels: { ...POLICY, [SWARM_ID_LABEL]: 'sid-moved' } });
  cluster.put('n3', 'moved', { labels: { ...POLICY, [SWARM_ID_LABEL]: 'sid-moved' } }); // the old primary's copy
  const { core, down } = setup(cluster, { assumePrimary: false });
  await down('n1'); // seen as a replica: nothing happens
  assert.deepEqual(cluster.where('left'), ['n1']);
  await core.failover({ kind: 'primary-changed', primary: 'me:1', self: 'me:1', isPrimary: true });
  for (let i = 0; i < 200 && cluster.where('left')[0] === 'n1'; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(cluster.where('left'), ['n2']);
  assert.deepEqual(cluster.where('moved').sort(), ['n1', 'n3']); // untouched: no second copy, no conflict
  await core.close();
});

test('a manager that was never told about elections acts as primary (no --replication)', async () => {
  const cluster = new DataCluster().addNode('n1').addNode('n2');
  cluster.put('n1', 'z', { labels: POLICY });
  const { core, down } = setup(cluster);
  assert.deepEqual(core.plugins, [NAME]);
  await down('n1');
  assert.deepEqual(cluster.where('z'), ['n2']);
});

test('policies parse from the JSON label; invalid JSON counts as none; link aliases are not names', () => {
  assert.deepEqual(reschedulePolicies({ [POLICY_LABEL]: '["on-node-failure"]' }), ['on-node-failure']);
  assert.deepEqual(reschedulePolicies({ [POLICY_LABEL]: 'on-node-failure' }), []);
  assert.deepEqual(reschedulePolicies({}), []);
  assert.equal(containerName({ ...container('i', 'web', 'running', {}), names: ['/app/db', '/web'] }), 'web');
  assert.equal(containerName({ ...container('i', 'web', 'running', {}), names: [] }), undefined);
});

test('invalid options name the plugin', () => {
  assert.throws(() => reschedule({ assumePrimary: 'yes' as unknown as boolean }), /plugin failover-reschedule: invalid options/);
});
