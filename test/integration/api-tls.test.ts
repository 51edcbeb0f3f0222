/**
 * TLS end to end, as the original used one certificate for everything: docker CLI 28 →
 * (client cert) manager API (--tlsverify) → (manager cert as client cert) TLS engine on 2376.
 * Proxied calls, hijacked attach/exec and streams all cross both TLS hops.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dockerCli, startEngines, type EngineGroup } from '../cluster/index.ts';
import { createPki, type CertFiles, type Pki } from '../security/certs.ts';
import { dockerTty, startTestManager, uniqueName, type TestManager } from './api-manager.ts';

let pki: Pki;
let group: EngineGroup;
let m: TestManager;
let client: CertFiles;
const tlsArgs = () => ['--tlsverify', '--tlscacert', pki.ca, '--tlscert', client.cert, '--tlskey', client.key];
const docker = (...args: string[]) => dockerCli(m.host, [...tlsArgs(), ...args]);

before(async () => {
  pki = createPki();
  const ip = '127.0.0.48';
  const engineCert = pki.issue('engine', { server: true, client: true, ips: [ip, '127.0.0.1'] });
  const manager = pki.issue('manager', { server: true, client: true, ips: ['127.0.0.1'] });
  client = pki.issue('cli', { client: true });
  group = await startEngines({ reuse: false, count: 1, ips: [ip], names: ['tls-1'], tls: { ca: pki.ca, cert: engineCert.cert, key: engineCert.key } });
  m = await startTestManager({
    engines: group.engines,
    engineTls: { ca: readFileSync(pki.ca), cert: readFileSync(manager.cert), key: readFileSync(manager.key) },
    api: { tls: { cert: manager.cert, key: manager.key, ca: pki.ca, verify: true } },
  });
});
after(async () => {
  await m?.stop();
  await group?.stop();
  pki?.cleanup();
});

test('run, exec, logs and a terminal over TLS on both hops', async () => {
  assert.equal(group.engines[0].port, 2376);
  const r = await docker('run', '--rm', 'busybox', 'echo', 'over-tls');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'over-tls\n');
  const name = uniqueName('tls');
  try {
    const d = await docker('run', '-d', '--name', name, 'busybox', 'sh', '-c', 'echo logged; sleep 300');
    assert.equal(d.code, 0, d.stderr);
    assert.equal((await docker('exec', name, 'echo', 'exec-tls')).stdout, 'exec-tls\n');
    let logs = '';
    for (let i = 0; i < 50 && logs !== 'logged\n'; i++) {
      logs = (await docker('logs', name)).stdout;
      if (logs !== 'logged\n') await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(logs, 'logged\n');
    const t = await dockerTty(m.host, `${tlsArgs().join(' ')} exec -it ${name} sh -c 'echo tty-tls; tty'`);
    assert.equal(t.code, 0, t.output);
    assert.match(t.output, /tty-tls/);
    assert.match(t.output, /\/dev\/pts\/\d+/);
  } finally {
    await docker('rm', '-f', name);
  }
  const plain = await dockerCli(m.host, ['version']);
  assert.notEqual(plain.code, 0, 'no client certificate, no answer');
});
