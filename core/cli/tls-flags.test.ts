// `swarm manage` TLS flags as the original checked them (cli/manage.go): which flags need which,
// and what a bad certificate, key or CA file says. Each row runs the CLI as a user does
// (core/cli/bin.js) and must end with one line on stderr and exit code 1 before listening.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createPki, type CertFiles, type Pki } from '../../test/security/certs.ts';

const BIN = resolve(import.meta.dirname, 'bin.js');

let pki: Pki;
let pair: CertFiles;
let dir: string;

before(() => {
  pki = createPki();
  pair = pki.issue('manager', { server: true, client: true, ips: ['127.0.0.1'] });
  dir = mkdtempSync(join(tmpdir(), 'swarm-tls-flags-'));
  writeFileSync(join(dir, 'package.json'), '{"name":"p","private":true}'); // no config file is found above
  writeFileSync(join(dir, 'not-a-cert.txt'), 'vm \n');
});

after(() => {
  pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; stderr: string; killed: boolean }> {
  return new Promise((done) => {
    const env = { ...process.env };
    for (const k of ['SWARM_HOST', 'SWARM_DISCOVERY', 'SWARM_ADVERTISE', 'DEBUG']) delete env[k];
    const child = spawn(process.execPath, [BIN, 'manage', '-H', '127.0.0.1:0', ...args, 'nodes://127.0.0.1:1'], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killed = false;
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    // A manager that started anyway is a failed row: it would listen until killed.
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, 20_000);
    child.on('close', (code) => { clearTimeout(timer); done({ code, stderr, killed }); });
  });
}

const rows = (): { what: string; args: string[]; stderr: RegExp }[] => [
  { what: 'certificate flags without --tls/--tlsverify', args: ['--tlscert', pair.cert, '--tlskey', pair.key], stderr: /^--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify$/ },
  { what: 'only --tlscacert', args: ['--tlscacert', pki.ca], stderr: /^--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify$/ },
  { what: '--tls without --tlskey', args: ['--tls', '--tlscert', pair.cert], stderr: /^--tlscert and --tlskey must be provided when using --tls$/ },
  { what: '--tlsverify without certificate', args: ['--tlsverify', '--tlscacert', pki.ca], stderr: /^--tlscert and --tlskey must be provided when using --tls$/ },
  { what: '--tlsverify without --tlscacert', args: ['--tlsverify', '--tlscert', pair.cert, '--tlskey', pair.key], stderr: /^--tlscacert must be provided when using --tlsverify$/ },
  { what: 'a key that is not the certificate\'s', args: ['--tls', '--tlscert', pair.cert, '--tlskey', pki.caKey], stderr: /^Couldn't load X509 key pair \(.*manager-cert\.pem, .*\): .*\. Key encrypted\?$/ },
  { what: 'a CA file that is missing', args: ['--tlsverify', '--tlscacert', join(dir, 'nope.pem'), '--tlscert', pair.cert, '--tlskey', pair.key], stderr: /^Couldn't read CA certificate: ENOENT: no such file or directory, open '.*nope\.pem'$/ },
  // Node accepts a CA without a certificate in it; the API then read the file's text as a file
  // name: "ENOENT: no such file or directory, open 'vm '".
  { what: 'a CA file without a certificate', args: ['--tlsverify', '--tlscacert', join(dir, 'not-a-cert.txt'), '--tlscert', pair.cert, '--tlskey', pair.key], stderr: /^Couldn't read CA certificate: failed to append certificates from PEM file: ".*not-a-cert\.txt"$/ },
  { what: 'a key given as the CA', args: ['--tlsverify', '--tlscacert', pair.key, '--tlscert', pair.cert, '--tlskey', pair.key], stderr: /^Couldn't read CA certificate: failed to append certificates from PEM file: ".*manager-key\.pem"$/ },
  { what: 'a CA without a certificate for the engines', args: ['--engine-tlsverify', '--engine-tlscacert', join(dir, 'not-a-cert.txt')], stderr: /^Couldn't read CA certificate: failed to append certificates from PEM file: ".*not-a-cert\.txt"$/ },
];

test('manage TLS flags: each bad combination or file is one line on stderr and exit code 1', { timeout: 5 * 60_000 }, async () => {
  const problems: string[] = [];
  for (const row of rows()) {
    const r = await run(row.args);
    const line = r.stderr.replace(/\n$/, '');
    const why = r.killed ? 'still running (it started anyway)'
      : r.code !== 1 ? `exit code ${r.code}`
        : line.includes('\n') ? 'more than one line on stderr'
          : !row.stderr.test(line) ? `stderr ${JSON.stringify(line)} does not match ${row.stderr}` : '';
    if (why) problems.push(`${row.what}: ${why}`);
  }
  assert.deepEqual(problems, []);
});
