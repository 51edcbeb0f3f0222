// Test-time PKI made with the openssl CLI: a CA, and leaf certificates signed by it.
// Made fresh for each test run so no private key is ever committed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles { ca: string; cert: string; key: string }

export interface Pki {
  dir: string;
  ca: string;
  caKey: string;
  /** Issue a leaf certificate usable for the given purposes, valid for the given IPs/names. */
  issue(name: string, opts: { server?: boolean; client?: boolean; ips?: string[]; dns?: string[] }): CertFiles;
  /** A second, unrelated CA: certificates from it must be refused. */
  foreign(name: string): CertFiles;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, prefix: string): { ca: string; caKey: string } {
  const caKey = join(dir, `${prefix}-key.pem`);
  const ca = join(dir, `${prefix}.pem`);
  openssl(['genrsa', '-out', caKey, '2048'], dir);
  openssl(['req', '-x509', '-new', '-key', caKey, '-sha256', '-days', '2', '-subj', `/CN=${prefix}`, '-out', ca], dir);
  return { ca, caKey };
}

function issueFrom(dir: string, ca: string, caKey: string, name: string,
  opts: { server?: boolean; client?: boolean; ips?: string[]; dns?: string[] }): CertFiles {
  const key = join(dir, `${name}-key.pem`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}-cert.pem`);
  const ext = join(dir, `${name}.ext`);
  const usages = [opts.server ? 'serverAuth' : '', opts.client ? 'clientAuth' : ''].filter(Boolean).join(',');
  const alt = [...(opts.ips ?? []).map((ip) => `IP:${ip}`), ...(opts.dns ?? []).map((d) => `DNS:${d}`)];
  writeFileSync(ext, [
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature,keyEncipherment',
    usages ? `extendedKeyUsage=${usages}` : '',
    alt.length ? `subjectAltName=${alt.join(',')}` : '',
  ].filter(Boolean).join('\n') + '\n');
  openssl(['genrsa', '-out', key, '2048'], dir);
  openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-sha256',
    '-extfile', ext, '-out', cert], dir);
  return { ca, cert, key };
}

export function createPki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-pki-'));
  const { ca, caKey } = makeCa(dir, 'ca');
  let foreignCa: { ca: string; caKey: string } | undefined;
  return {
    dir, ca, caKey,
    issue: (name, opts) => issueFrom(dir, ca, caKey, name, opts),
    foreign(name) {
      foreignCa ??= makeCa(dir, 'foreign-ca');
      return issueFrom(dir, foreignCa.ca, foreignCa.caKey, name, { client: true, server: true, ips: ['127.0.0.1'] });
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
