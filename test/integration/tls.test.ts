/**
 * TLS end to end, with a PKI made by openssl at test time (test/security/certs.ts):
 * - a manager with --tlsverify in front of engines on TLS (dockerd --tlsverify): the docker CLI
 *   with a client certificate signed by the CA works (`info`, `run`); a client without a
 *   certificate, one with a certificate from another CA, and a plain-HTTP client are refused;
 * - a plain manager in front of TLS engines (--engine-tlsverify …, its own client certificate);
 * - a TLS manager in front of plain engines (--no-engine-tls).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { createPki, type CertFiles, type Pki } from '../security/certs.ts';
import { dockerCli, startEngines, startManager, type ManagerProcess, type TestEngine } from '../cluster/index.ts';

const FAST = ['--engine-refresh-min-interval', '1s', '--engine-refresh-max-interval', '2s'];
/** Engine IPs are picked by the kit (preferred ones first): the engine certificate names them all. */
const ENGINE_IPS = [...Array.from({ length: 21 }, (_, i) => `127.0.0.${230 + i}`), ...Array.from({ length: 100 }, (_, i) => `127.0.0.${100 + i}`)];

let pki: Pki;
let managerCert: CertFiles;
let clientCert: CertFiles;
let engineClientCert: CertFiles;
let tlsEngines: TestEngine[] = [];
let plainEngines: TestEngine[] = [];
const stops: (() => Promise<void>)[] = [];

before(async () => {
  pki = createPki();
  const engineCert = pki.issue('engine', { server: true, client: true, ips: ENGINE_IPS });
  // The manager's certificate serves the API and is its client certificate towards engines (legacy).
  managerCert = pki.issue('manager', { server: true, client: true, ips: ['127.0.0.1'] });
  clientCert = pki.issue('client', { client: true });
  engineClientCert = pki.issue('engine-client', { client: true });
  const group = await startEngines({ count: 2, reuse: false, ips: ['127.0.0.230', '127.0.0.231'], tls: { ca: pki.ca, cert: engineCert.cert, key: engineCert.key } });
  stops.push(group.stop);
  tlsEngines = group.engines;
  plainEngines = (await startEngines({ count: 2 })).engines; // shared plain engines (never stopped here)
});

after(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  pki?.cleanup();
});

/** docker CLI global flags for a TLS client. */
const cliTls = (c: CertFiles) => ['--tlsverify', '--tlscacert', pki.ca, '--tlscert', c.cert, '--tlskey', c.key];

async function manager(args: string[], readiness?: CertFiles): Promise<ManagerProcess> {
  const m = await startManager([...FAST, ...args], readiness ? { tls: { ca: pki.ca, cert: readiness.cert, key: readiness.key } } : {});
  stops.push(() => m.stop());
  return m;
}

/** `docker info` until every node is Healthy (validation is asynchronous); returns the last output. */
async function waitHealthy(host: string, flags: string[], count: number): Promise<string> {
  let last = '';
  for (let i = 0; i < 60; i++) {
    const r = await dockerCli(host, [...flags, 'info']);
    last = r.stdout + r.stderr;
    if ((r.stdout.match(/Status: Healthy/g) ?? []).length === count) return r.stdout;
    await new Promise((res) => setTimeout(res, 500));
  }
  assert.fail(`not all ${count} nodes became Healthy:\n${last}`);
}

async function runEcho(host: string, flags: string[], word: string): Promise<void> {
  const r = await dockerCli(host, [...flags, 'run', '--rm', 'busybox', 'echo', word]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), word);
}

/** A raw TLS handshake to the manager: resolves with the error that ended it, or '' if it was accepted. */
function handshake(host: string, opts: tls.ConnectionOptions): Promise<string> {
  const u = new URL(host.replace(/^tcp:/, 'http:'));
  return new Promise((resolve) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), ca: readFileSync(pki.ca), ...opts, checkServerIdentity: () => undefined });
    let settled = false;
    const done = (v: string) => { if (!settled) { settled = true; s.destroy(); resolve(v); } };
    s.on('error', (err) => done(err.message || 'error'));
    s.on('secureConnect', () => {
      // TLS 1.3: the server checks the client certificate after the client's Finished; a refusal
      // arrives as an alert on the first read. Ask for something and see what comes back.
      s.write(`GET /_ping HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`);
      s.once('data', (d: Buffer) => done(d.toString('utf8').startsWith('HTTP/1.1 200') ? '' : `unexpected answer: ${d.toString('utf8').slice(0, 40)}`));
      s.once('end', () => done('closed by the server'));
    });
    setTimeout(() => done('no answer'), 10_000);
  });
}

test('--tlsverify manager in front of TLS engines: the CLI with a CA-signed client certificate works', { timeout: 180_000 }, async () => {
  const m = await manager(['--tlsverify', '--tlscacert', pki.ca, '--tlscert', managerCert.cert, '--tlskey', managerCert.key,
    `nodes://${tlsEngines.map((e) => e.addr).join(',')}`], clientCert);
  assert.ok(tlsEngines.every((e) => e.port === 2376 && e.tls));
  const info = await waitHealthy(m.host, cliTls(clientCert), tlsEngines.length);
  for (const e of tlsEngines) assert.ok(info.includes(e.addr), `${e.addr} missing from docker info`);
  await runEcho(m.host, cliTls(clientCert), 'ok');

  // Refused at the handshake: no certificate, a certificate from another CA.
  const noCert = await handshake(m.host, {});
  assert.notEqual(noCert, '', 'a client without a certificate was served');
  const foreign = pki.foreign('intruder');
  const foreignRes = await handshake(m.host, { cert: readFileSync(foreign.cert), key: readFileSync(foreign.key) });
  assert.notEqual(foreignRes, '', 'a client with a foreign-CA certificate was served');
  assert.equal(await handshake(m.host, { cert: readFileSync(clientCert.cert), key: readFileSync(clientCert.key) }), '', 'the good client is served');

  // The same through the docker CLI.
  const cliNoCert = await dockerCli(m.host, ['--tlsverify', '--tlscacert', pki.ca, 'version', '--format', '{{.Server.Version}}']);
  assert.notEqual(cliNoCert.code, 0);
  assert.match(cliNoCert.stderr, /tls|certificate|connection reset|EOF/i);
  const cliForeign = await dockerCli(m.host, ['--tlsverify', '--tlscacert', pki.ca, '--tlscert', foreign.cert, '--tlskey', foreign.key, 'ps']);
  assert.notEqual(cliForeign.code, 0);
  assert.match(cliForeign.stderr, /tls|certificate|connection reset|EOF/i);
  // Plain HTTP to the TLS port is no API either.
  const plain = await dockerCli(m.host, ['version', '--format', '{{.Server.Version}}']);
  assert.notEqual(plain.code, 0);
  assert.doesNotMatch(plain.stdout, /swarm/);
});

test('a manager with --tls only (no client verification) serves any TLS client', { timeout: 120_000 }, async () => {
  const m = await manager(['--tls', '--tlscert', managerCert.cert, '--tlskey', managerCert.key,
    `nodes://${tlsEngines.map((e) => e.addr).join(',')}`], clientCert);
  // The CLI still verifies the manager with the CA; it shows no certificate of its own.
  const flags = ['--tlsverify', '--tlscacert', pki.ca];
  await waitHealthy(m.host, flags, tlsEngines.length);
  await runEcho(m.host, flags, 'tls-only');
});

test('a plain manager in front of TLS engines (--engine-tlsverify with its own client certificate)', { timeout: 120_000 }, async () => {
  const m = await manager(['--engine-tlsverify', '--engine-tlscacert', pki.ca, '--engine-tlscert', engineClientCert.cert,
    '--engine-tlskey', engineClientCert.key, `nodes://${tlsEngines.map((e) => e.addr).join(',')}`]);
  await waitHealthy(m.host, [], tlsEngines.length);
  await runEcho(m.host, [], 'plain-to-tls');
});

test('a plain manager without engine TLS cannot validate TLS engines', { timeout: 60_000 }, async () => {
  const m = await manager([`nodes://${tlsEngines[0]!.addr}`]);
  await new Promise((r) => setTimeout(r, 3000));
  const info = await dockerCli(m.host, ['info']);
  assert.equal(info.code, 0, info.stderr);
  assert.doesNotMatch(info.stdout, /Status: Healthy/);
  assert.match(info.stdout, /Status: Pending/);
});

test('a TLS manager in front of plain engines (--no-engine-tls)', { timeout: 120_000 }, async () => {
  const m = await manager(['--tlsverify', '--tlscacert', pki.ca, '--tlscert', managerCert.cert, '--tlskey', managerCert.key,
    '--no-engine-tls', `nodes://${plainEngines.map((e) => e.addr).join(',')}`], clientCert);
  await waitHealthy(m.host, cliTls(clientCert), plainEngines.length);
  await runEcho(m.host, cliTls(clientCert), 'tls-to-plain');
});
