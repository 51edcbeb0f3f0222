/**
 * The engine layer against real dockerd engines: validation, cached containers, enriched events,
 * the create pipeline, name conflicts, engine errors passing through, and the health state machine.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createCore, type Core } from '../../core/core.ts';
import { isSwarmError } from '../../core/errors.ts';
import type { FailoverEvent } from '../../core/types.ts';
import { createCluster } from '../../core/engine/index.ts';
import type { EngineImpl } from '../../core/engine/engine.ts';
import type { Cluster, ClusterEvent } from '../../core/engine/cluster-api.ts';
import health from '../../plugins/filter-health/index.ts';
import port from '../../plugins/filter-port/index.ts';
import constraint from '../../plugins/filter-constraint/index.ts';
import affinity from '../../plugins/filter-affinity/index.ts';
import spread from '../../plugins/strategy-spread/index.ts';
import binpack from '../../plugins/strategy-binpack/index.ts';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { pino } from 'pino';
import { dockerCli, restartEngine, startEngines, stopEngine, type EngineGroup } from '../cluster/index.ts';
import { createPki, type Pki } from '../security/certs.ts';

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Wait for a condition driven by the cluster (events, refresh); fails with `what` after `ms`. */
async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function collect(cluster: Cluster): ClusterEvent[] {
  const seen: ClusterEvent[] = [];
  cluster.events.on('event', (e: ClusterEvent) => seen.push(e));
  return seen;
}

describe('engine layer on the shared engines', () => {
  let group: EngineGroup;
  let core: Core;
  let cluster: Cluster;
  let events: ClusterEvent[];
  const created: string[] = [];

  before(async () => {
    group = await startEngines();
    core = createCore({ plugins: [health(), port(), constraint(), affinity(), spread()] });
    cluster = createCluster(core, { refreshMinInterval: 2000, refreshMaxInterval: 3000, failureRetry: 3, overcommit: 0.05, createRetry: 0 });
    events = collect(cluster);
    for (const e of group.engines) cluster.addEngine(e.addr);
    await until('all engines healthy', () => cluster.engines().length === group.engines.length
      && cluster.engines().every((e) => e.state === 'healthy'));
  });

  after(async () => {
    for (const name of created) await cluster.removeContainer(name, { force: true, volumes: true }).catch(() => undefined);
    await cluster.close();
    await group.stop();
  });

  test('validation: Healthy with engine name, labels and ID `dockerID|addr`', () => {
    for (const te of group.engines) {
      const e = cluster.engine(te.addr)!;
      assert.equal(e.state, 'healthy');
      assert.equal(e.name, te.name);
      assert.equal(cluster.engine(te.name), e);
      assert.match(e.id, new RegExp(`^[A-Z0-9:]+\\|${te.addr.replace(/\./g, '\\.')}$`));
      assert.equal(cluster.engine(e.id), e);
      for (const [k, v] of Object.entries(te.labels)) assert.equal(e.labels[k], v);
      assert.equal(e.labels.ostype, 'linux');
      assert.ok(e.labels.storagedriver);
      assert.ok(e.cpus > 0 && e.memory > 0);
      assert.match(e.apiVersion, /^1\.\d+$/);
      assert.match(e.minApiVersion, /^1\.\d+$/);
      assert.equal(e.healthIndicator(), 100);
      assert.equal(e.endpoint.host, te.ip);
      assert.equal(e.endpoint.port, te.port);
    }
    const names = cluster.engines().map((e) => e.name);
    assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })));
    const connects = events.filter((e) => e.Type === 'swarm' && e.Action === 'engine_connect');
    assert.equal(connects.length, group.engines.length);
    assert.equal(connects[0].status, 'engine_connect');
    assert.equal(connects[0].from, 'swarm');
  });

  test('node views: overcommitted totals and reservations', () => {
    for (const n of cluster.nodes()) {
      const e = cluster.engine(n.addr)!;
      assert.equal(n.totalCpus, e.cpus + Math.trunc((e.cpus * 5) / 100));
      assert.equal(n.totalMemory, e.memory + Math.trunc((e.memory * 5) / 100));
      assert.equal(n.state, 'healthy');
      assert.equal(n.ip, e.ip);
      assert.ok(n.images.some((i) => i.repoTags.includes('busybox:latest')));
    }
  });

  test('containers created directly on an engine are cached (event-driven) and enriched events are emitted', async () => {
    const te = group.engines[1];
    const name = unique('direct');
    const res = await dockerCli(te.host, ['create', '--name', name, '-p', '18081:80', 'busybox', 'sleep', '60']);
    assert.equal(res.code, 0, res.stderr);
    created.push(name);
    await until('container cached', () => cluster.container(name) !== undefined);
    const hit = cluster.container(name)!;
    assert.equal(hit.engine.addr, te.addr);
    assert.equal(hit.container.view.state, 'created');
    assert.deepEqual(hit.container.view.portBindings.map((b) => b.hostPort), ['18081']);
    assert.equal(cluster.container(`${te.name}/${name}`)?.container.view.id, hit.container.view.id);
    assert.equal(cluster.container(hit.container.view.id.slice(0, 12))?.container.view.id, hit.container.view.id);

    await until('create event', () => events.some((e) => e.Type === 'container' && e.Action === 'create' && e.Actor?.Attributes?.name === name));
    const ev = events.find((e) => e.Type === 'container' && e.Action === 'create' && e.Actor?.Attributes?.name === name)!;
    const engine = cluster.engine(te.addr)!;
    assert.equal(ev.from, `busybox node:${te.name}`);
    assert.equal(ev.Actor.Attributes['node.name'], te.name);
    assert.equal(ev.Actor.Attributes['node.id'], engine.id);
    assert.equal(ev.Actor.Attributes['node.addr'], te.addr);
    assert.equal(ev.Actor.Attributes['node.ip'], te.ip);
    assert.deepEqual(ev.node, { Name: te.name, Id: engine.id, Addr: te.addr, Ip: te.ip });

    // Start and remove directly: the cache follows the engine's events.
    assert.equal((await dockerCli(te.host, ['start', name])).code, 0);
    await until('running state', () => cluster.container(name)?.container.view.state === 'running');
    // An exec made directly on the engine is routed to its container (learnt from exec_create).
    const execEvents = () => events.filter((e) => String(e.Action).startsWith('exec_create') && e.Actor?.Attributes?.name === name);
    assert.equal((await dockerCli(te.host, ['exec', name, 'true'])).code, 0);
    await until('exec_create event', () => execEvents().length > 0);
    const execId = execEvents()[0].Actor.Attributes.execID;
    assert.equal(cluster.execOwner(execId)?.container.view.id, hit.container.view.id);
    assert.equal(cluster.execOwner('0123456789abcdef'), undefined);
    assert.equal((await dockerCli(te.host, ['rm', '-f', name])).code, 0);
    await until('container gone', () => cluster.container(name) === undefined);
  });

  test('createContainer schedules, creates and caches; CPUs become engine shares', async () => {
    const name = unique('made');
    const out = await cluster.createContainer({ Image: 'busybox', Cmd: ['sleep', '60'], HostConfig: { CpuShares: 1 } }, name);
    created.push(name);
    const engine = out.engine;
    assert.equal(cluster.container(name)?.container.view.id, out.container.view.id);
    const swarmId = out.container.view.labels['com.docker.swarm.id'];
    assert.match(swarmId, /^[0-9a-f]{64}$/);
    assert.equal(cluster.container(swarmId)?.container.view.id, out.container.view.id);
    assert.equal(out.container.view.cpus, 1);
    const node = cluster.nodes().find((n) => n.addr === engine.addr)!;
    assert.ok(node.usedCpus >= 1);
    const te = group.engines.find((e) => e.addr === engine.addr)!;
    const shares = await dockerCli(te.host, ['inspect', '-f', '{{.HostConfig.CpuShares}}', name]);
    assert.equal(shares.stdout.trim(), String(Math.ceil(1024 / engine.cpus)));

    await cluster.startContainer(name);
    assert.equal(cluster.container(name)?.container.view.state, 'running');
  });

  test('a named create is cached from its spec at once; an engine inspect replaces it soon after', async () => {
    const name = unique('spec');
    const out = await cluster.createContainer({ Image: 'busybox', Cmd: ['sleep', '60'], Labels: { k: 'v' } }, name);
    created.push(name);
    const hit = cluster.container(name)!;
    assert.equal(hit.container.view.id, out.container.view.id);
    assert.equal(hit.container.view.state, 'created');
    assert.deepEqual(hit.container.view.names, [`/${name}`]);
    assert.equal(hit.container.view.labels.k, 'v');
    // Without a start, the engine's own inspect follows (CREATED_INSPECT_DELAY): the image ID shows then.
    await until('engine inspect of the created container', () => /^sha256:/.test(String(cluster.container(name)?.container.inspect?.Image ?? '')));
    const shown = cluster.container(name)!.container;
    assert.equal(shown.summary.Command, 'sleep 60');
    assert.equal(shown.view.state, 'created');
    assert.equal(shown.view.labels.k, 'v');
    await cluster.startContainer(name);
    assert.equal(cluster.container(name)?.container.view.state, 'running');
    assert.equal(cluster.container(name)?.container.inspect?.State?.Running, true);
  });

  test('a taken name is a 409 with the legacy text, for create and rename', async () => {
    const name = unique('taken');
    await cluster.createContainer({ Image: 'busybox', Cmd: ['true'] }, name);
    created.push(name);
    const message = `Conflict: The name ${name} is already assigned. You have to delete (or rename) that container to be able to assign ${name} to a container again.`;
    await assert.rejects(cluster.createContainer({ Image: 'busybox' }, name), (err: unknown) =>
      isSwarmError(err, 'SWARM_ERR_CONFLICT') && err.statusCode === 409 && err.message === message);
    await assert.rejects(cluster.createContainer({ Image: 'busybox' }, `/${name}`), (err: unknown) => isSwarmError(err, 'SWARM_ERR_CONFLICT'));

    const other = unique('other');
    await cluster.createContainer({ Image: 'busybox', Cmd: ['true'] }, other);
    created.push(other);
    await assert.rejects(cluster.renameContainer(other, name), (err: unknown) => isSwarmError(err, 'SWARM_ERR_CONFLICT') && err.statusCode === 409);
    const renamed = unique('renamed');
    await cluster.renameContainer(other, renamed);
    created.push(renamed);
    assert.equal(cluster.container(other), undefined);
    assert.ok(cluster.container(renamed));
  });

  test('concurrent creates of one name: exactly one wins, the other gets 409', async () => {
    const name = unique('race');
    const results = await Promise.allSettled([
      cluster.createContainer({ Image: 'busybox', Cmd: ['true'] }, name),
      cluster.createContainer({ Image: 'busybox', Cmd: ['true'] }, name),
    ]);
    created.push(name);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(isSwarmError(failed.reason, 'SWARM_ERR_CONFLICT'));
  });

  test('concurrent creates see each other\'s pending port reservation', async () => {
    const names = [unique('p1'), unique('p2')];
    const body = { Image: 'busybox', Cmd: ['true'], HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '18090' }] } } };
    const out = await Promise.all(names.map((n) => cluster.createContainer(body, n)));
    created.push(...names);
    assert.notEqual(out[0].engine.addr, out[1].engine.addr);
  });

  test('engine errors keep their status: unknown image (pull fails) and an invalid reference', async () => {
    const missing = unique('swarm-test-no-such-image');
    await assert.rejects(cluster.createContainer({ Image: `${missing}:1` }, unique('nf')), (err: unknown) => {
      assert.ok(isSwarmError(err));
      assert.ok(err.statusCode >= 400, `status ${err.statusCode}`);
      assert.doesNotMatch(err.message, /HTTP code/);
      assert.notEqual(err.code, 'SWARM_ERR_NO_SUITABLE_NODE');
      return true;
    });
    await assert.rejects(cluster.createContainer({ Image: 'Bad Ref' }, unique('bad')), (err: unknown) =>
      isSwarmError(err) && err.statusCode === 400 && /invalid reference format/.test(err.message));
  });

  test('an image missing on the chosen node and not pullable: retried with image affinity where it exists', async () => {
    const [first, second] = group.engines;
    const image = `${unique('swarm-test-local')}:1`;
    assert.equal((await dockerCli(second.host, ['tag', 'busybox:latest', image])).code, 0);
    try {
      await until('image cached', () => cluster.imageOwners(image).length === 1);
      const name = unique('affine');
      // The soft constraint makes pass 1 pick the node without the image; its pull fails (offline).
      const made = await cluster.createContainer({ Image: image, Cmd: ['true'], Env: [`constraint:node==~${first.name}`] }, name);
      created.push(name);
      assert.equal(made.engine.addr, second.addr);
      const labels = made.container.view.labels;
      assert.equal(labels['com.docker.swarm.affinities'], undefined); // the retry's affinity is not persisted
      await cluster.removeContainer(name, { force: true, volumes: false });
    } finally {
      await dockerCli(second.host, ['rmi', image]);
    }
  });

  test('lookups: images, networks, volumes, unknown references', async () => {
    assert.equal(cluster.imageOwners('busybox').length, group.engines.length);
    assert.equal(cluster.imageOwners('busybox:latest').length, group.engines.length);
    assert.equal(cluster.imageOwners('busybox:nope').length, 0);
    // imageExists answers from the same cached owners, and the lists handed out are copies of them.
    assert.equal(cluster.imageExists?.('busybox'), true);
    assert.equal(cluster.imageExists?.('busybox:nope'), false);
    cluster.imageOwners('busybox').length = 0;
    assert.equal(cluster.imageOwners('busybox').length, group.engines.length);
    assert.equal(cluster.imageExists?.('busybox'), true);
    assert.equal(cluster.network('bridge'), undefined); // one local bridge per engine: ambiguous
    const te = group.engines[0];
    assert.equal(cluster.network(`${te.name}/bridge`)?.engine.addr, te.addr);
    assert.equal(cluster.container(unique('nobody')), undefined);
    await assert.rejects(cluster.startContainer(unique('nobody')), (err: unknown) => isSwarmError(err, 'SWARM_ERR_NOT_FOUND'));

    const vol = unique('vol');
    assert.equal((await dockerCli(te.host, ['volume', 'create', vol])).code, 0);
    try {
      await until('volume cached', () => cluster.volume(vol) !== undefined);
      assert.equal(cluster.volume(`${te.name}/${vol}`)?.engine.addr, te.addr);
    } finally {
      await dockerCli(te.host, ['volume', 'rm', vol]);
    }
  });

  test('ClusterAccess: forget frees the name, restore puts it back, inspect gives a create body in CPUs', async () => {
    const name = unique('access');
    const made = await cluster.createContainer({ Image: 'busybox', Cmd: ['true'], HostConfig: { CpuShares: 1, Memory: 8 * 1024 * 1024 } }, name);
    created.push(name);
    const access = core.cluster;
    const body = await access.inspectContainer(made.container.view.id);
    assert.equal((body.HostConfig as Record<string, unknown>).CpuShares, 1);
    assert.equal((body.HostConfig as Record<string, unknown>).Memory, 8 * 1024 * 1024);
    assert.equal(body.Image, 'busybox');
    assert.equal((body.Labels as Record<string, string>)['com.docker.swarm.id'], made.container.view.labels['com.docker.swarm.id']);
    access.forgetContainer(made.engine.id, made.container.view.id);
    assert.equal(cluster.container(name), undefined);
    access.restoreContainer(made.engine.id, made.container.view);
    assert.equal(cluster.container(name)?.container.view.id, made.container.view.id);
    const node = access.nodes().find((n) => n.id === made.engine.id)!;
    assert.ok(node.containers.some((c) => c.id === made.container.view.id));
  });

  test('status and anyEngine', async () => {
    const s = cluster.status();
    assert.equal(s.role, 'primary');
    assert.equal(s.strategy, 'spread');
    assert.deepEqual(s.filters, ['health', 'port', 'constraint', 'affinity']);
    const any = cluster.anyEngine();
    assert.ok(any && any.state === 'healthy');
  });

  test('plan explains without creating', async () => {
    const name = unique('plan');
    const te = group.engines[2];
    const report = await cluster.plan({ Image: 'busybox', Env: [`constraint:node==${te.name}`] }, name);
    assert.equal(report.error, undefined);
    assert.equal(report.node?.addr, te.addr);
    assert.equal(cluster.container(name), undefined);
    const bad = await cluster.plan({ Image: 'busybox', Env: ['constraint:node==nowhere'] }, name);
    assert.match(bad.error ?? '', /Unable to find a node that satisfies/);
    assert.ok(bad.rejected.some((r) => r.plugin === 'filter-constraint'), JSON.stringify(bad.rejected));
    assert.ok(report.scores.length >= 1);
  });
});

describe('engine health state machine on a private engine', () => {
  let group: EngineGroup;
  let core: Core;
  let cluster: Cluster;

  before(async () => {
    group = await startEngines({ count: 2, reuse: false, names: ['fault-1', 'fault-2'], labels: [{ role: 'fault' }, { role: 'fault' }] });
    core = createCore({ plugins: [health(), spread()] });
  });

  after(async () => {
    await cluster?.close();
    await group.stop();
  });

  test('stopped engine: Unhealthy after the retries, then Healthy again when restarted', async () => {
    const failovers: FailoverEvent[] = [];
    core.hooks.failover.tap('test-recorder', (e) => { failovers.push(e); });
    cluster = createCluster(core, {
      refreshMinInterval: 1000, refreshMaxInterval: 1000, failureRetry: 2, overcommit: 0.05, createRetry: 0,
      eventRestartUnit: 100, requestTimeout: 15_000,
    });
    const events = collect(cluster);
    const te = group.engines[0];
    cluster.addEngine(te.addr);
    await until('healthy', () => cluster.engine(te.addr)?.state === 'healthy', 60_000);
    const engine = cluster.engine(te.addr)!;
    assert.equal(engine.name, 'fault-1');
    assert.equal(engine.labels.role, 'fault');
    assert.ok(failovers.some((f) => f.kind === 'node-up'));

    // A running container that ignores SIGTERM keeps dockerd shutting down for ~10 s: meanwhile it
    // still serves connections it already has, and must not be seen as alive again.
    const sleeper = unique('sleeper');
    await cluster.createContainer({ Image: 'busybox', Cmd: ['sleep', '600'] }, sleeper);
    await cluster.startContainer(sleeper);
    const stopping = stopEngine(te);
    await until('unhealthy', () => engine.state === 'unhealthy', 60_000);
    await stopping;
    assert.equal(events.filter((e) => e.Type === 'swarm' && e.Action === 'engine_reconnect').length, 0, 'no flapping while dockerd shuts down');
    assert.equal(engine.state, 'unhealthy');
    assert.notEqual(engine.error, '');
    assert.equal(engine.healthIndicator(), 0);
    const down = events.find((e) => e.Type === 'swarm' && e.Action === 'engine_disconnect');
    assert.ok(down, 'engine_disconnect emitted');
    assert.equal(down.node.Addr, te.addr);
    assert.equal(down.node.Name, 'fault-1');
    await until('node-down failover', () => failovers.some((f) => f.kind === 'node-down'));
    const nodeDown = failovers.find((f) => f.kind === 'node-down')!;
    assert.equal(nodeDown.kind === 'node-down' && nodeDown.node.addr, te.addr);

    await restartEngine(te);
    await until('healthy again', () => engine.state === 'healthy', 60_000);
    assert.equal(engine.error, '');
    assert.equal(engine.healthIndicator(), 100);
    assert.ok(events.some((e) => e.Type === 'swarm' && e.Action === 'engine_reconnect'));
    await until('node-up after reconnect', () => failovers.filter((f) => f.kind === 'node-up').length >= 2);

    // The event monitor came back too: a direct create shows up through events.
    const name = unique('after');
    assert.equal((await dockerCli(te.host, ['create', '--name', name, 'busybox', 'true'])).code, 0);
    await until('cached after reconnect', () => cluster.container(name) !== undefined);
    await cluster.removeContainer(name, { force: true, volumes: false });
    assert.equal(cluster.container(name), undefined);
    await cluster.removeContainer(sleeper, { force: true, volumes: false });
  });

  test('without the event monitor, the refresh loop still brings state and inspect data up to date', async () => {
    const te = group.engines[0];
    const engine = cluster.engine(te.addr) as EngineImpl;
    const name = unique('quiet');
    await cluster.createContainer({ Image: 'busybox', Cmd: ['sleep', '600'] }, name);
    await cluster.startContainer(name);
    engine.stopEvents(); // events are missed until the next refresh tick restarts the monitor
    assert.equal((await dockerCli(te.host, ['kill', name])).code, 0);
    await until('state from the refresh', () => {
      const c = cluster.container(name)?.container;
      return c?.view.state === 'exited' && c.inspect?.State?.Status === 'exited';
    });
    await cluster.removeContainer(name, { force: true, volumes: false });
  });

  test('an engine down when added stays Pending, then is validated once it is up', async () => {
    const te = group.engines[0];
    cluster.removeEngine(te.addr);
    await stopEngine(te);
    const fast = createCluster(createCore({ plugins: [health(), spread()] }), {
      refreshMinInterval: 200, refreshMaxInterval: 300, failureRetry: 2, overcommit: 0.05, createRetry: 0,
      pendingCheckInterval: 100, pendingRetry: { base: 200, unit: 10, cap: 1000 },
    });
    try {
      fast.addEngine(te.addr);
      await until('validation failed', () => (fast.engine(te.addr)?.error ?? '') !== '');
      assert.equal(fast.engine(te.addr)?.state, 'pending');
      assert.equal(fast.engine(te.addr)?.healthIndicator(), 0);
      await restartEngine(te);
      await until('validated after restart', () => fast.engine(te.addr)?.state === 'healthy', 60_000);
      assert.equal(fast.engine(te.addr)?.name, 'fault-1');
    } finally {
      await fast.close();
    }
  });

  test('swarm.createretry: a create on a stopped node not yet flagged unhealthy is retried on another node', async () => {
    const [a, b] = group.engines;
    const warnings: string[] = [];
    // Long intervals: only engine calls (and the event stream breaking) notice that b is gone.
    const slow = createCluster(createCore({ plugins: [health(), constraint(), binpack()] }), {
      refreshMinInterval: 60_000, refreshMaxInterval: 60_000, failureRetry: 100, overcommit: 0.05, createRetry: 3,
      eventRestartUnit: 60_000, logger: pino({ level: 'warn' }, { write: (line: string) => { warnings.push(line); } }),
    });
    const mb = 8 * 1024 * 1024; // engines refuse limits under 6 MB
    try {
      slow.addEngine(a.addr);
      slow.addEngine(b.addr);
      await until('both healthy', () => slow.engines().filter((e) => e.state === 'healthy').length === 2, 60_000);
      const bEngine = slow.engine(b.addr)!;
      // binpack prefers the fuller node: b reserves 16% of its memory, so b wins while its health
      // costs less than that (10 × failures < 15 score points): at most one failure.
      const first = unique('retry-b');
      await slow.createContainer({ Image: 'busybox', Cmd: ['true'], Env: [`constraint:node==${b.name}`],
        HostConfig: { Memory: Math.floor((bEngine.memory * 0.16) / mb) * mb } }, first);
      await stopEngine(b);
      const name = unique('retry');
      const before = `${bEngine.healthIndicator()} ${bEngine.error} ${JSON.stringify(slow.nodes().map((n) => [n.name, n.usedMemory, n.healthIndicator, n.containers.length]))}`;
      const made = await slow.createContainer({ Image: 'busybox', Cmd: ['true'], HostConfig: { Memory: mb } }, name);
      assert.equal(made.engine.addr, a.addr);
      // At least one create went to b, failed and was retried.
      assert.ok(warnings.some((w) => /Failed to create container: .*, retrying/.test(w)), `${before}\n${warnings.join('\n')}`);
      assert.ok(bEngine.healthIndicator() < 100);
      assert.equal(bEngine.state, 'healthy');
      assert.notEqual(bEngine.error, '');
      await slow.removeContainer(name, { force: true, volumes: false });
    } finally {
      await slow.close();
      await restartEngine(b);
    }
  });

  test('an engine address nobody listens on stays Pending with the error; removing it drops it', async () => {
    const addr = '127.0.0.39:2399';
    cluster.addEngine(addr);
    await until('first validation failed', () => (cluster.engine(addr)?.error ?? '') !== '');
    const e = cluster.engine(addr)!;
    assert.equal(e.state, 'pending');
    assert.match(e.error, /ECONNREFUSED|connect/);
    assert.equal(e.id, addr);
    assert.equal(cluster.nodes().find((n) => n.addr === addr)?.state, 'pending');
    cluster.removeEngine(addr);
    assert.equal(cluster.engine(addr), undefined);
  });
});

describe('engine over TLS', () => {
  let pki: Pki;
  let group: EngineGroup;
  let cluster: Cluster | undefined;

  before(async () => {
    pki = createPki();
    const ips = ['127.0.0.36', ...Array.from({ length: 100 }, (_, i) => `127.0.0.${100 + i}`)];
    const server = pki.issue('engine', { server: true, client: true, ips });
    group = await startEngines({ count: 1, reuse: false, names: ['tls-1'], ips: ['127.0.0.36'], tls: server });
  });

  after(async () => {
    await cluster?.close();
    await group.stop();
    pki.cleanup();
  });

  test('validates and creates through TLS with the manager certificate', async () => {
    const manager = pki.issue('manager', { client: true, server: true, ips: ['127.0.0.1'] });
    const engineTls = { ca: readFileSync(manager.ca), cert: readFileSync(manager.cert), key: readFileSync(manager.key) };
    cluster = createCluster(createCore({ plugins: [health(), spread()] }), {
      refreshMinInterval: 1000, refreshMaxInterval: 1000, failureRetry: 3, overcommit: 0.05, createRetry: 0, engineTls,
    });
    const te = group.engines[0];
    cluster.addEngine(te.addr);
    await until('healthy over TLS', () => cluster!.engine(te.addr)?.state === 'healthy', 60_000);
    const engine = cluster.engine(te.addr)!;
    assert.equal(engine.name, 'tls-1');
    assert.ok(engine.endpoint.tls);
    const name = unique('tls');
    const made = await cluster.createContainer({ Image: 'busybox', Cmd: ['true'] }, name);
    assert.equal(made.engine.addr, te.addr);
    await cluster.removeContainer(name, { force: true, volumes: false });
    assert.equal(cluster.container(name), undefined);
  });

  test('an engine refusing the client certificate stays Pending', async () => {
    const stranger = pki.foreign('stranger');
    const other = createCluster(createCore({ plugins: [health(), spread()] }), {
      refreshMinInterval: 1000, refreshMaxInterval: 1000, failureRetry: 3, overcommit: 0.05, createRetry: 0,
      engineTls: { ca: readFileSync(pki.ca), cert: readFileSync(stranger.cert), key: readFileSync(stranger.key) },
    });
    try {
      const te = group.engines[0];
      other.addEngine(te.addr);
      await until('validation failed', () => (other.engine(te.addr)?.error ?? '') !== '', 30_000);
      assert.equal(other.engine(te.addr)?.state, 'pending');
    } finally {
      await other.close();
    }
  });
});

/** A TCP forwarder on 127.0.0.31 whose target can be switched (an engine behind a second address). */
async function forwarder(target: { host: string; port: number }) {
  let current = target;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(current.port, current.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.31', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    addr: `127.0.0.31:${port}`,
    /** Send new connections elsewhere and cut the open ones. */
    switchTo(next: { host: string; port: number }) {
      current = next;
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

describe('engine identity', () => {
  let group: EngineGroup;

  before(async () => {
    group = await startEngines();
  });

  after(async () => {
    await group.stop();
  });

  test('the same daemon behind a second address stays Pending: ID duplicated', async () => {
    const [e1] = group.engines;
    const fwd = await forwarder({ host: e1.ip, port: e1.port });
    const core = createCore({ plugins: [health(), spread()] });
    const cluster = createCluster(core, {
      refreshMinInterval: 1000, refreshMaxInterval: 1000, failureRetry: 3, overcommit: 0.05, createRetry: 0,
    });
    try {
      cluster.addEngine(e1.addr);
      await until('first healthy', () => cluster.engine(e1.addr)?.state === 'healthy');
      cluster.addEngine(fwd.addr);
      await until('duplicate refused', () => (cluster.engine(fwd.addr)?.error ?? '') !== '');
      const dup = cluster.engine(fwd.addr)!;
      assert.equal(dup.state, 'pending');
      const dockerId = cluster.engine(e1.addr)!.id.split('|')[0];
      assert.equal(dup.error, `ID duplicated. ${dockerId} shared by this node ${fwd.addr} and another node ${e1.addr}`);

      // Removing the validated one (discovery removal): engine_disconnect and a node-down failover.
      const seen = collect(cluster);
      const failovers: FailoverEvent[] = [];
      core.hooks.failover.tap('test-removal', (e) => { failovers.push(e); });
      cluster.removeEngine(e1.addr);
      assert.equal(cluster.engine(e1.addr), undefined);
      assert.ok(seen.some((e) => e.Type === 'swarm' && e.Action === 'engine_disconnect' && e.node.Addr === e1.addr));
      await until('node-down on removal', () => failovers.some((f) => f.kind === 'node-down' && f.node.addr === e1.addr));
    } finally {
      await cluster.close();
      await fwd.close();
    }
  });

  test('a validated address answering with another daemon ID goes back to Pending', async () => {
    const [e1, e2] = group.engines;
    const fwd = await forwarder({ host: e1.ip, port: e1.port });
    const cluster = createCluster(createCore({ plugins: [health(), spread()] }), {
      refreshMinInterval: 100, refreshMaxInterval: 100, failureRetry: 3, overcommit: 0.05, createRetry: 0,
      specRefreshInterval: 0, eventRestartUnit: 100,
    });
    const events = collect(cluster);
    try {
      cluster.addEngine(fwd.addr);
      await until('healthy through the forwarder', () => cluster.engine(fwd.addr)?.state === 'healthy');
      const engine = cluster.engine(fwd.addr)!;
      const oldId = engine.id.split('|')[0];
      fwd.switchTo({ host: e2.ip, port: e2.port });
      await until('back to pending', () => engine.state === 'pending');
      assert.match(engine.error, new RegExp(`^Engine \\(ID: ${oldId}, Addr: ${fwd.addr}\\) shows up with another ID:.+\\. Please remove it from cluster, it can be added back\\.$`));
      assert.ok(events.some((e) => e.Type === 'swarm' && e.Action === 'engine_disconnect' && e.node.Addr === fwd.addr));
      assert.equal(cluster.containers().some((c) => c.engine.addr === fwd.addr), false);
    } finally {
      await cluster.close();
      await fwd.close();
    }
  });
});
