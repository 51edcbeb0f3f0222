/**
 * The cluster kit itself: real engines side by side (own names, labels, images, published
 * ports on their own IPs), stop/restart, etcd and ZooKeeper, and that stop() leaves nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import zookeeper from 'node-zookeeper-client';
import { createPki } from '../security/certs.ts';
import {
  dockerCli,
  engineBridge,
  engineGet,
  isAlive,
  restartEngine,
  startEngines,
  startEtcd,
  startZookeeper,
  stopEngine,
  zkFourLetter,
  type TestEngine,
} from '../cluster/index.ts';

const suffix = randomBytes(3).toString('hex');

async function httpText(url: string): Promise<string> {
  const res = await fetch(url);
  return res.text();
}

async function eventually<T>(fn: () => Promise<T>, tries = 50): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      return await fn();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw last;
}

test('two engines: own names, labels, images and ports; stop removes PIDs, bridges and dirs', async (t) => {
  const group = await startEngines({
    reuse: false,
    count: 2,
    labels: [{ storage: 'ssd', kit: 'one' }, { storage: 'disk', kit: 'two' }],
  });
  const [a, b] = group.engines as [TestEngine, TestEngine];
  const pids = group.engines.map((e) => e.pid);
  const bridges = group.engines.map(engineBridge);
  let stopped = false;
  t.after(async () => {
    if (!stopped) await group.stop();
  });

  assert.notEqual(a.ip, b.ip);
  assert.equal(a.host, `tcp://${a.ip}:2375`);
  assert.equal(a.addr, `${a.ip}:2375`);

  await t.test('docker info shows each engine name, labels and a distinct ID', async () => {
    const infos = [];
    for (const e of group.engines) {
      const r = await dockerCli(e.host, ['info', '--format', '{{json .}}']);
      assert.equal(r.code, 0, r.stderr);
      infos.push(JSON.parse(r.stdout) as { Name: string; ID: string; Labels: string[] });
    }
    assert.deepEqual(infos.map((i) => i.Name), ['node-1', 'node-2']);
    assert.deepEqual([...infos[0]!.Labels].sort(), ['kit=one', 'storage=ssd']);
    assert.deepEqual([...infos[1]!.Labels].sort(), ['kit=two', 'storage=disk']);
    assert.notEqual(infos[0]!.ID, infos[1]!.ID);
  });

  await t.test('busybox runs on each engine', async () => {
    for (const e of group.engines) {
      const r = await dockerCli(e.host, ['run', '--rm', 'busybox', 'echo', `hello from ${e.name}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `hello from ${e.name}\n`);
    }
  });

  await t.test('the same host port is published on both engines, each on its own IP', async () => {
    for (const e of group.engines) {
      const name = `kit-web-${suffix}-${e.name}`;
      const r = await dockerCli(e.host, [
        'run', '-d', '--name', name, '-p', '18080:80', 'busybox',
        'sh', '-c', `echo served-by-${e.name} > /tmp/index.html && exec httpd -f -p 80 -h /tmp`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const port = await dockerCli(e.host, ['port', name, '80']);
      assert.equal(port.stdout.trim().split('\n')[0], `${e.ip}:18080`);
    }
    for (const e of group.engines) {
      const body = await eventually(() => httpText(`http://${e.ip}:18080/index.html`));
      assert.equal(body, `served-by-${e.name}\n`);
    }
    for (const e of group.engines) {
      const r = await dockerCli(e.host, ['rm', '-f', `kit-web-${suffix}-${e.name}`]);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  await t.test('stopEngine / restartEngine keep the engine data', async () => {
    const r = await dockerCli(b.host, ['create', '--name', `kit-keep-${suffix}`, 'busybox', 'true']);
    assert.equal(r.code, 0, r.stderr);
    const oldPid = b.pid;
    await stopEngine(b);
    assert.equal(isAlive(oldPid), false);
    await assert.rejects(engineGet(b, '/_ping'));
    await restartEngine(b);
    assert.notEqual(b.pid, oldPid);
    assert.equal(isAlive(b.pid), true);
    const ps = await dockerCli(b.host, ['ps', '-a', '--format', '{{.Names}}']);
    assert.match(ps.stdout, new RegExp(`^kit-keep-${suffix}$`, 'm'));
    // the other engine was not touched
    assert.equal((await engineGet(a, '/_ping')).status, 200);
    pids[1] = b.pid;
  });

  await t.test('shared-engine guard: engines not started here cannot be stopped', async () => {
    await assert.rejects(stopEngine({ ...a, addr: '127.0.0.250:2375' }), /not started by this process/);
  });

  await group.stop();
  stopped = true;
  for (const pid of pids) assert.equal(isAlive(pid), false, `dockerd ${pid} still running`);
  for (const br of bridges) assert.equal(existsSync(`/sys/class/net/${br}`), false, `bridge ${br} still there`);
  await assert.rejects(engineGet(a, '/_ping'));
});

test('etcd: put/get, and the data survives stop/start on the same port', async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.destroy());
  const client = new Etcd3({ hosts: `http://${etcd.endpoint}` });
  try {
    await client.put(`kit/${suffix}`).value('v1');
    assert.equal(await client.get(`kit/${suffix}`).string(), 'v1');
    const pid = etcd.pid;
    await etcd.stop();
    assert.equal(isAlive(pid), false);
    await etcd.start();
    assert.equal(etcd.running(), true);
    assert.equal(await eventually(() => client.get(`kit/${suffix}`).string()), 'v1');
  } finally {
    client.close();
  }
});

function zkCall<T>(fn: (cb: (err: unknown, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));
}

test('zookeeper: create/get, pause/resume, stop/start keeps data', async (t) => {
  const zk = await startZookeeper();
  t.after(() => zk.destroy());
  const connectClient = async () => {
    const c = zookeeper.createClient(zk.endpoint, { sessionTimeout: 10_000, retries: 3 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('zk connect timeout')), 15_000);
      c.once('connected', () => {
        clearTimeout(timer);
        resolve();
      });
      c.connect();
    });
    return c;
  };
  let client = await connectClient();
  const path = `/kit-${suffix}`;
  await zkCall<string>((cb) => client.create(path, Buffer.from('hello'), (err, p) => cb(err, p)));
  const data = await zkCall<Buffer>((cb) => client.getData(path, (err, d) => cb(err, d)));
  assert.equal(data.toString(), 'hello');

  zk.pause();
  assert.equal(zk.running(), true);
  await assert.rejects(zkFourLetter('127.0.0.1', zk.port, 'srvr'), /timeout/); // stopped, not dead
  zk.resume();
  assert.match(await zkFourLetter('127.0.0.1', zk.port, 'srvr'), /Mode: standalone/);
  const again = await zkCall<Buffer>((cb) => client.getData(path, (err, d) => cb(err, d)));
  assert.equal(again.toString(), 'hello');
  client.close();

  const pid = zk.pid;
  await zk.stop();
  assert.equal(isAlive(pid), false);
  await zk.start();
  client = await connectClient();
  try {
    const kept = await zkCall<Buffer>((cb) => client.getData(path, (err, d) => cb(err, d)));
    assert.equal(kept.toString(), 'hello');
  } finally {
    client.close();
  }
});

test('a TLS engine listens on 2376, answers clients with a CA-signed cert and refuses others', async (t) => {
  const pki = createPki();
  t.after(() => pki.cleanup());
  const ips = Array.from({ length: 100 }, (_, i) => `127.0.0.${100 + i}`);
  const server = pki.issue('engine', { server: true, ips });
  const client = pki.issue('client', { client: true });
  const group = await startEngines({
    reuse: false,
    count: 1,
    names: ['tls-kit'],
    tls: { ...server, clientCert: client.cert, clientKey: client.key },
  });
  t.after(() => group.stop());
  const [e] = group.engines as [TestEngine];
  assert.equal(e.port, 2376);
  assert.equal(e.host, `tcp://${e.ip}:2376`);

  const tlsArgs = ['--tlsverify', '--tlscacert', client.ca, '--tlscert', client.cert, '--tlskey', client.key];
  const ok = await dockerCli(e.host, [...tlsArgs, 'run', '--rm', 'busybox', 'hostname']);
  assert.equal(ok.code, 0, ok.stderr);
  const info = await dockerCli(e.host, [...tlsArgs, 'info', '--format', '{{.Name}}']);
  assert.equal(info.stdout.trim(), 'tls-kit');

  const foreign = pki.foreign('intruder');
  const refused = await dockerCli(e.host, ['--tlsverify', '--tlscacert', client.ca, '--tlscert', foreign.cert, '--tlskey', foreign.key, 'info']);
  assert.notEqual(refused.code, 0);
  const plain = await dockerCli(e.host, ['info']);
  assert.notEqual(plain.code, 0);
});

test('after a dockerd crash (SIGKILL) restartEngine recovers, and stop() leaves no container process', async (t) => {
  const group = await startEngines({ reuse: false, count: 1, names: ['crash-kit'] });
  t.after(() => group.stop());
  const [e] = group.engines as [TestEngine];
  const hostPid = async (name: string) => {
    const r = await dockerCli(e.host, ['inspect', '--format', '{{.State.Pid}}', name]);
    assert.equal(r.code, 0, r.stderr);
    return Number(r.stdout.trim());
  };

  const first = await dockerCli(e.host, ['run', '-d', '--name', `kit-crash1-${suffix}`, 'busybox', 'sleep', '600']);
  assert.equal(first.code, 0, first.stderr);
  const firstPid = await hostPid(`kit-crash1-${suffix}`);
  process.kill(e.pid, 'SIGKILL');
  await restartEngine(e);
  assert.equal(isAlive(firstPid), false, 'the crashed engine\'s container process survived the restart');
  const ps = await dockerCli(e.host, ['ps', '-a', '--format', '{{.Names}} {{.State}}']);
  assert.match(ps.stdout, new RegExp(`^kit-crash1-${suffix} exited$`, 'm'));

  const second = await dockerCli(e.host, ['run', '-d', '--name', `kit-crash2-${suffix}`, 'busybox', 'sleep', '600']);
  assert.equal(second.code, 0, second.stderr);
  const secondPid = await hostPid(`kit-crash2-${suffix}`);
  assert.equal(isAlive(secondPid), true);
  process.kill(e.pid, 'SIGKILL');
  await group.stop();
  assert.equal(isAlive(secondPid), false, 'a container of a crashed engine survived stop()');
});
