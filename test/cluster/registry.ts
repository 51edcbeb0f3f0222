/**
 * A private image registry on loopback: Debian's `docker-registry` (Distribution 2.8) on a free
 * 127.0.0.1 port, filesystem storage in its own dir, optionally behind htpasswd (bcrypt) auth.
 * Kit engines reach it directly (their NO_PROXY covers 127.0.0.0/8, and dockerd treats loopback
 * registries as insecure, so plain HTTP works); nothing leaves the machine. Started and stopped
 * by PID like the KV stores; it never depends on the package's own service on :5000.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePort, leftovers, runDir, startProc, terminate, waitFor } from './proc.ts';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export interface RegistryAuth {
  user: string;
  password: string;
}

export interface TestRegistry {
  /** 127.0.0.1:port — the image name prefix (`docker tag busybox 127.0.0.1:port/x`). */
  addr: string;
  port: number;
  pid: number;
  dir: string;
  auth?: RegistryAuth;
  /** Stops the registry (SIGTERM, SIGKILL after 10 s) and deletes its storage. */
  stop(): Promise<void>;
  logs(): string;
  /** GET on the registry's own API (Basic auth added when the registry has auth). */
  get(path: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }>;
}

export interface StartRegistryOptions {
  auth?: RegistryAuth;
  timeoutMs?: number;
}

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * One htpasswd line with a bcrypt hash. No bcrypt package is installed and `openssl passwd`
 * has no bcrypt, but Debian's libcrypt (libxcrypt) does `$2b$`, and perl-base (Essential) exposes it.
 */
export function htpasswdLine(user: string, password: string): string {
  if (user.includes(':')) throw new Error('htpasswd user names cannot contain ":"');
  const rnd = randomBytes(22);
  let salt = '';
  for (let i = 0; i < 21; i++) salt += BCRYPT_ALPHABET[rnd[i]! % 64];
  salt += BCRYPT_ALPHABET[(rnd[21]! % 4) * 16]; // the 22nd char carries 2 bits; its low 4 must be 0
  const r = spawnSync('perl', ['-e', 'print crypt($ENV{PW}, $ENV{SALT})'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PW: password, SALT: `$2b$05$${salt}` },
    encoding: 'utf8',
  });
  const hash = r.stdout ?? '';
  if (r.status !== 0 || !/^\$2b\$05\$[./A-Za-z0-9]{53}$/.test(hash)) {
    throw new Error(`bcrypt via perl crypt() failed (status ${r.status}): ${r.stderr || hash}`);
  }
  return `${user}:${hash}\n`;
}

function httpGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 5_000, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const port = await freePort();
  const dir = runDir(`registry-${port}`);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (opts.auth) {
    const file = join(dir, 'htpasswd');
    writeFileSync(file, htpasswdLine(opts.auth.user, opts.auth.password), { mode: 0o600 });
    lines.push('auth:', '  htpasswd:', '    realm: swarm-test', `    path: ${file}`);
  }
  const cfg = join(dir, 'config.yml');
  writeFileSync(cfg, lines.join('\n') + '\n');

  const proc = startProc(REGISTRY_BIN, ['serve', cfg], join(dir, 'registry.log'));
  leftovers.pids.add(proc.pid);
  const addr = `127.0.0.1:${port}`;
  const basic: Record<string, string> = opts.auth
    ? { authorization: `Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.password}`).toString('base64')}` }
    : {};
  try {
    // /v2/ answers 200, or 401 with auth: either means it serves.
    await waitFor(`registry on ${addr}`, async () => [200, 401].includes((await httpGet(`http://${addr}/v2/`, {})).status), {
      timeoutMs: opts.timeoutMs ?? 30_000,
      abort: () => (proc.exitCode() !== undefined ? `docker-registry exited with ${proc.exitCode()}` : undefined),
    });
  } catch (err) {
    await terminate(proc, 5_000);
    leftovers.pids.delete(proc.pid);
    const tail = proc.logs().split('\n').slice(-30).join('\n');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n--- registry log ---\n${tail}`, { cause: err });
  }
  return {
    addr,
    port,
    pid: proc.pid,
    dir,
    auth: opts.auth,
    async stop() {
      await terminate(proc, 10_000);
      leftovers.pids.delete(proc.pid);
      rmSync(dir, { recursive: true, force: true });
    },
    logs: () => proc.logs(),
    get: (path: string) => httpGet(`http://${addr}${path}`, basic),
  };
}
