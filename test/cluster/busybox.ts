/**
 * The `busybox:latest` image every test engine has: a tiny rootfs made from Debian's
 * busybox-static (one static binary + applet symlinks), built once and cached as a tarball.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync, symlinkSync, copyFileSync, chmodSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR } from './proc.ts';

const run = promisify(execFile);
export const BUSYBOX_TAR = join(CACHE_DIR, 'busybox-rootfs.tar');
const BUSYBOX_BIN = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p)) ?? '/bin/busybox';

/** Resolves the docker CLI: the 28.x one in /usr/local/bin, else Debian's. */
export const DOCKER_BIN = ['/usr/local/bin/docker', '/usr/bin/docker'].find((p) => existsSync(p)) ?? 'docker';

let building: Promise<string> | undefined;

/** Path of the cached rootfs tarball; built on first use (once per process, atomically on disk). */
export function busyboxTarball(): Promise<string> {
  building ??= buildTarball().catch((err) => {
    building = undefined; // let a later call retry
    throw err;
  });
  return building;
}

async function buildTarball(): Promise<string> {
  if (existsSync(BUSYBOX_TAR)) return BUSYBOX_TAR;
  mkdirSync(CACHE_DIR, { recursive: true });
  const root = mkdtempSync(join(CACHE_DIR, 'rootfs-'));
  try {
    for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev', 'var', 'home']) {
      mkdirSync(join(root, d), { recursive: true });
    }
    chmodSync(join(root, 'tmp'), 0o1777);
    copyFileSync(BUSYBOX_BIN, join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    const { stdout } = await run(BUSYBOX_BIN, ['--list']);
    for (const applet of stdout.split('\n').map((s) => s.trim()).filter(Boolean)) {
      if (applet === 'busybox' || applet.includes('/')) continue;
      symlinkSync('busybox', join(root, 'bin', applet));
    }
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    // Build under a temp name and rename: concurrent runs never see a half-written tarball.
    const tmp = `${BUSYBOX_TAR}.${process.pid}.tmp`;
    await run('tar', ['-C', root, '-cf', tmp, '.']);
    renameSync(tmp, BUSYBOX_TAR);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return BUSYBOX_TAR;
}

/** Imports the tarball as busybox:latest (CMD sh, like the real image) into the engine at `host`. */
export async function importBusybox(host: string, cliArgs: string[] = []): Promise<void> {
  const tar = await busyboxTarball();
  await run(DOCKER_BIN, [...cliArgs, 'import', '--change', 'CMD ["sh"]', tar, 'busybox:latest'], {
    env: { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: join(CACHE_DIR, 'docker-config') },
    timeout: 120_000,
  });
}
