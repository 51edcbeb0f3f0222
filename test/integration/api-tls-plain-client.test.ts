/**
 * A plain-HTTP client on a TLS listener gets the 400 Go's HTTPS servers send (dockerd's, and the
 * original's once built with Go ≥ 1.12), which the docker CLI shows as "Client sent an HTTP request
 * to an HTTPS server."; Node's TLS server closed such connections silently (the CLI said "EOF").
 * TLS clients, on TCP and unix listeners, are unaffected. No engine is needed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCore, type Core } from '../../core/core.ts';
import { createCluster } from '../../core/engine/index.ts';
import type { Cluster } from '../../core/engine/cluster-api.ts';
import { startApi, PLAIN_HTTP_TO_TLS } from '../../core/api/index.ts';
import { dockerCli } from '../cluster/index.ts';
import { createPki, type CertFiles, type Pki } from '../security/certs.ts';
import { defaultPlugins } from './api-manager.ts';

const IP = '127.0.0.112';
let core: Core;
let cluster: Cluster;
let dir: string;
let pki: Pki;
let server: CertFiles;

before(() => {
  core = createCore({ plugins: defaultPlugins() });
  cluster = createCluster(core, { refreshMinInterval: 1000, refreshMaxInterval: 2000, failureRetry: 3, overcommit: 0.05, createRetry: 0 });
  dir = mkdtempSync(join(tmpdir(), 'api-tls-plain-'));
  pki = createPki();
  server = pki.issue('manager', { server: true, client: true, ips: [IP] });
});
after(async () => {
  await cluster.close();
  await core.close();
  pki?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** Everything the server sends to `bytes` until it closes the connection. */
function exchange(connect: net.NetConnectOpts, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(connect, () => s.write(bytes));
    let got = '';
    s.setEncoding('latin1').on('data', (d: string) => { got += d; });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

test('plain HTTP to a TLS listener (tcp and unix) is answered 400 "Client sent an HTTP request to an HTTPS server."; TLS clients work', { timeout: 120_000 }, async () => {
  const sock = join(dir, 'swarm.sock');
  const api = await startApi({ core, cluster, hosts: [`tcp://${IP}:0`, `unix://${sock}`], tls: { cert: server.cert, key: server.key, ca: pki.ca, verify: true } });
  try {
    const [tcp] = api.addresses;
    const port = Number(tcp!.slice(tcp!.lastIndexOf(':') + 1));
    assert.equal(await exchange({ host: IP, port }, 'GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n'), PLAIN_HTTP_TO_TLS);
    assert.equal(await exchange({ path: sock }, 'GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n'), PLAIN_HTTP_TO_TLS);
    assert.equal(PLAIN_HTTP_TO_TLS, 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');

    const plain = await dockerCli(tcp!, ['version', '--format', '{{.Server.Version}}']);
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /Client sent an HTTP request to an HTTPS server\./);

    const client = pki.issue('client', { client: true });
    const tlsFlags = ['--tlsverify', '--tlscacert', pki.ca, '--tlscert', client.cert, '--tlskey', client.key];
    const r = await dockerCli(tcp!, [...tlsFlags, 'version', '--format', '{{.Server.Version}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'swarm/1.2.9');
    // The docker CLI speaks plain HTTP on unix sockets: a TLS client on the unix listener instead.
    const ping = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ path: sock, ca: readFileSync(pki.ca), cert: readFileSync(client.cert), key: readFileSync(client.key), checkServerIdentity: () => undefined },
        () => s.write('GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let got = '';
      s.setEncoding('utf8').on('data', (d: string) => { got += d; });
      s.on('error', reject);
      s.on('close', () => resolve(got));
    });
    assert.match(ping, /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nOK$/);
    // Without a client certificate the handshake is still refused (--tlsverify).
    const noCert = await dockerCli(tcp!, ['--tlsverify', '--tlscacert', pki.ca, 'version', '--format', '{{.Server.Version}}']);
    assert.notEqual(noCert.code, 0);
    assert.equal(noCert.stdout.trim(), '');
  } finally {
    await api.close();
  }
});

test('close() does not wait for a client that connected to a TLS listener and sent nothing', { timeout: 60_000 }, async () => {
  const api = await startApi({ core, cluster, hosts: [`tcp://${IP}:0`], tls: { cert: server.cert, key: server.key, verify: false } });
  const tcp = api.addresses[0]!;
  const silent = net.connect({ host: IP, port: Number(tcp.slice(tcp.lastIndexOf(':') + 1)) });
  const closed = new Promise<void>((resolve) => silent.on('close', () => resolve()));
  silent.on('error', () => {});
  await new Promise<void>((resolve) => silent.on('connect', () => resolve()));
  await api.close(); // the test's timeout fails it if close() waits for the silent client
  await closed;
});
