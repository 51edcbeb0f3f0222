/**
 * Listeners of the API: unix socket (mode 0600), the legacy hint when port 2375 is taken, TLS with
 * and without client verification (docker CLI 28 as client). No engine is needed. (Replica
 * forwarding is tested with the replication code: core/api/replica.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCore, type Core } from '../../core/core.ts';
import { createCluster } from '../../core/engine/index.ts';
import type { Cluster } from '../../core/engine/cluster-api.ts';
import { startApi, type ApiServer } from '../../core/api/index.ts';
import { dockerCli } from '../cluster/index.ts';
import { createPki, type Pki } from '../security/certs.ts';
import { defaultPlugins } from './api-manager.ts';

const IP = '127.0.0.44';
let core: Core;
let cluster: Cluster;
let dir: string;
let pki: Pki;
const servers: ApiServer[] = [];

async function api(opts: Partial<Parameters<typeof startApi>[0]> & { hosts: string[] }): Promise<ApiServer> {
  const s = await startApi({ core, cluster, ...opts });
  servers.push(s);
  return s;
}

before(() => {
  core = createCore({ plugins: defaultPlugins() });
  cluster = createCluster(core, { refreshMinInterval: 1000, refreshMaxInterval: 2000, failureRetry: 3, overcommit: 0.05, createRetry: 0 });
  dir = mkdtempSync(join(tmpdir(), 'apilisten-'));
  pki = createPki();
});
after(async () => {
  for (const s of servers) await s.close();
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
  pki.cleanup();
});

test('listens on a unix socket (mode 0600) and tcp at once', async () => {
  const sock = join(dir, 'swarm.sock');
  const s = await api({ hosts: [`unix://${sock}`, `tcp://${IP}:0`] });
  assert.equal(s.addresses[0], `unix://${sock}`);
  assert.match(s.addresses[1], new RegExp(`^tcp://${IP.replace(/\./g, '\\.')}:\\d+$`));
  assert.equal(statSync(sock).mode & 0o777, 0o600);
  for (const host of s.addresses) {
    const r = await dockerCli(host, ['version', '--format', '{{.Server.Version}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'swarm/1.2.9');
  }
});

test('a taken port 2375 gets the legacy hint; other ports and protocols fail plainly', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(2375, IP, resolve));
  const other = net.createServer();
  await new Promise<void>((resolve) => other.listen(0, IP, resolve));
  const otherPort = (other.address() as net.AddressInfo).port;
  try {
    await assert.rejects(api({ hosts: [`tcp://${IP}:2375`] }),
      { message: `listen tcp ${IP}:2375: bind: address already in use: is Docker already running on this machine? Try using a different port` });
    await assert.rejects(api({ hosts: [`${IP}:${otherPort}`] }), { message: `listen tcp ${IP}:${otherPort}: bind: address already in use` });
    await assert.rejects(api({ hosts: ['udp://127.0.0.1:1'] }), { message: 'unsupported protocol: "udp"' });
  } finally {
    blocker.close();
    other.close();
  }
});

test('TLS with --tlsverify requires a client certificate signed by the CA', async () => {
  const server = pki.issue('manager', { server: true, client: true, ips: [IP] });
  const client = pki.issue('client', { client: true });
  const foreign = pki.foreign('intruder');
  const s = await api({ hosts: [`tcp://${IP}:0`], tls: { cert: server.cert, key: server.key, ca: pki.ca, verify: true } });
  const host = s.addresses[0];
  const good = await dockerCli(host, ['--tlsverify', '--tlscacert', pki.ca, '--tlscert', client.cert, '--tlskey', client.key,
    'version', '--format', '{{.Server.Version}}']);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stdout.trim(), 'swarm/1.2.9');
  const noCert = await dockerCli(host, ['--tlsverify', '--tlscacert', pki.ca, 'version', '--format', '{{.Server.Version}}']);
  assert.notEqual(noCert.code, 0);
  assert.equal(noCert.stdout.trim(), '');
  const bad = await dockerCli(host, ['--tlsverify', '--tlscacert', pki.ca, '--tlscert', foreign.cert, '--tlskey', foreign.key,
    'version', '--format', '{{.Server.Version}}']);
  assert.notEqual(bad.code, 0);
  const plain = await dockerCli(host, ['version', '--format', '{{.Server.Version}}']);
  assert.notEqual(plain.code, 0, 'plain HTTP to a TLS port fails');
});

test('TLS without verification accepts clients without a certificate', async () => {
  const server = pki.issue('manager2', { server: true, ips: [IP] });
  const s = await api({ hosts: [`tcp://${IP}:0`], tls: { cert: server.cert, key: server.key, verify: false } });
  const r = await dockerCli(s.addresses[0], ['--tls', '--tlscacert', pki.ca, 'version', '--format', '{{.Server.Version}}']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'swarm/1.2.9');
});
