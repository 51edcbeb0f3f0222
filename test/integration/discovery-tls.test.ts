// TLS to the discovery store: `--discovery-opt kv.cacertfile/kv.certfile/kv.keyfile` against an
// etcd that requires client certificates, and against the Consul emulator with verify_incoming.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { createCore } from '../../core/core.ts';
import type { SwarmPlugin } from '../../core/plugin.ts';
import etcd from '../../plugins/discovery-etcd/index.ts';
import consul from '../../plugins/discovery-consul/index.ts';
import { startConsulServer, type ConsulServer } from '../consul-compatible-server/index.ts';
import { createPki, type CertFiles, type Pki } from '../security/certs.ts';
import { leftovers, portIsFree, runDir, startProc, terminate, waitFor, type Proc } from '../cluster/proc.ts';
import { record } from './discovery-kv-scenarios.ts';

let pki: Pki;
let server: CertFiles;
let client: CertFiles;
let foreign: CertFiles;
let etcdProc: Proc | undefined;
let etcdEndpoint: string;
let consulSrv: ConsulServer;

/** A free port in this suite's range (hand-started servers use 127.0.0.1:42000–42999). */
async function port(from: number): Promise<number> {
  for (let p = from; p < from + 100; p++) if (await portIsFree('127.0.0.1', p)) return p;
  throw new Error(`no free port from ${from}`);
}

function httpsOk(url: string, files: CertFiles): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key), timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

before(async () => {
  pki = createPki();
  server = pki.issue('store', { server: true, ips: ['127.0.0.1'] });
  client = pki.issue('swarm', { client: true });
  foreign = pki.foreign('intruder');
  const p = await port(42300);
  const peer = await port(p + 1);
  etcdEndpoint = `127.0.0.1:${p}`;
  const dir = runDir(`etcd-tls-${p}`);
  etcdProc = startProc('etcd', [
    '--name', 'tls', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', `https://${etcdEndpoint}`, '--advertise-client-urls', `https://${etcdEndpoint}`,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `tls=http://127.0.0.1:${peer}`,
    '--cert-file', server.cert, '--key-file', server.key, '--trusted-ca-file', pki.ca, '--client-cert-auth',
    '--log-level', 'warn',
  ], join(dir, 'etcd.log'));
  leftovers.pids.add(etcdProc.pid);
  await waitFor('etcd with TLS', () => httpsOk(`https://${etcdEndpoint}/health`, client), { timeoutMs: 30_000 });
  consulSrv = await startConsulServer({ host: '127.0.0.1', port: 0, sessionTtlMinMs: 1000, tls: { ca: pki.ca, cert: server.cert, key: server.key } });
});

after(async () => {
  if (etcdProc) { await terminate(etcdProc, 10_000); leftovers.pids.delete(etcdProc.pid); }
  await consulSrv?.close();
  pki?.cleanup();
});

const tlsOpts = (files: CertFiles) => ({ 'kv.cacertfile': files.ca, 'kv.certfile': files.cert, 'kv.keyfile': files.key });

async function roundTrip(plugin: SwarmPlugin, url: string, opts: Record<string, string>): Promise<string[]> {
  const core = createCore({ plugins: [plugin] });
  const o = { heartbeat: 1000, ttl: 10_000, opts };
  const b = await core.discovery(url, o);
  try {
    await b.register('10.0.9.1:2375');
    const rec = record(b);
    try {
      return await rec.until('the TLS registration', (l) => l.includes('10.0.9.1:2375'), 20_000);
    } finally {
      await rec.stop();
    }
  } finally {
    await b.close?.();
  }
}

for (const [name, plugin, url] of [
  ['etcd', () => etcd(), () => `etcd://${etcdEndpoint}/tls`],
  ['consul', () => consul(), () => `consul://${consulSrv.endpoint}/tls`],
] as const) {
  test(`${name}: with kv.cacertfile/kv.certfile/kv.keyfile the store is used over TLS with a client certificate`, { timeout: 60_000 }, async () => {
    assert.deepEqual(await roundTrip(plugin(), url(), tlsOpts(client)), ['10.0.9.1:2375']);
  });

  test(`${name}: without TLS options, or with a certificate from another CA, registration fails in one line`, { timeout: 60_000 }, async () => {
    const core = createCore({ plugins: [plugin()] });
    for (const opts of [{}, tlsOpts({ ...foreign, ca: pki.ca })]) {
      const b = await core.discovery(url(), { heartbeat: 1000, ttl: 10_000, opts });
      await assert.rejects(b.register('10.0.9.2:2375'), (err: Error) => {
        assert.ok(err.message.startsWith(`${name} ${url().split('://')[1].split('/')[0]}: register 10.0.9.2:2375: `), err.message);
        assert.ok(!err.message.includes('\n'), err.message);
        return true;
      });
      await b.close?.();
    }
  });
}
