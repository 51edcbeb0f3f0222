/**
 * Process plumbing shared by the cluster kit: the per-run work dir, free ports,
 * polling, and stopping exactly the processes this kit started (by PID, never by name).
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, existsSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Per-process work dir; everything the kit creates lives below it and goes away on exit. */
export const RUN_DIR = `/tmp/swarm-test-${process.pid}`;
/** Survives runs on purpose: the busybox tarball is built once per machine. */
export const CACHE_DIR = '/tmp/swarm-test-cache';

let swept = false;

export function runDir(sub?: string): string {
  if (!swept) {
    swept = true;
    sweepStaleRuns();
  }
  const dir = sub ? join(RUN_DIR, sub) : RUN_DIR;
  mkdirSync(dir, { recursive: true });
  installExitReaper();
  return dir;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined/false, or throws on timeout. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs?: number; intervalMs?: number; abort?: () => string | undefined } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastErr: unknown;
  for (;;) {
    const reason = opts.abort?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      lastErr = err; // keep polling: the server is usually just not up yet
    }
    if (Date.now() > deadline) {
      const tail = lastErr instanceof Error ? ` (last error: ${lastErr.message})` : '';
      throw new Error(`timed out waiting for ${what}${tail}`);
    }
    await sleep(opts.intervalMs ?? 200);
  }
}

/** Asks the kernel for a free TCP port on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when nothing listens on host:port (we can bind it ourselves). */
export function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** Alive and not a zombie. Works for PIDs that are not our children too. */
export function isAlive(pid: number): boolean {
  if (!pid || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false; // vanished between the two checks
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // already gone is fine
  }
}

/** A child process we started, with its output going to a log file. */
export interface Proc {
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<number | null>;
  exitCode(): number | null | undefined; // undefined while running
  logs(): string;
}

export function startProc(cmd: string, args: string[], logFile: string, opts: SpawnOptions = {}): Proc {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (c, s) => {
      code = c ?? (s ? -1 : null);
      resolve(code);
    });
    child.once('error', (err) => {
      code = -1;
      appendFileSync(logFile, `spawn ${cmd} failed: ${err.message}\n`);
      resolve(-1);
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    logFile,
    exited,
    exitCode: () => code,
    logs: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
}

/** SIGTERM, wait up to `timeoutMs`, then SIGKILL. Resolves once the process is gone. */
export async function terminate(p: Proc, timeoutMs = 20_000): Promise<void> {
  if (p.exitCode() !== undefined) return;
  signal(p.pid, 'SIGCONT'); // a paused process cannot handle SIGTERM
  signal(p.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    p.exited.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
  ]);
  clearTimeout(timer); // a pending timer would keep the process alive for timeoutMs
  if (!done) {
    signal(p.pid, 'SIGKILL');
    await p.exited;
  }
}

/* ---- cleanup on exit: whatever a test forgot to stop is stopped after the process ends ---- */

interface Leftovers {
  pids: Set<number>;
  bridges: Set<string>;
  dirs: Set<string>;
  files: Set<string>;
}
export const leftovers: Leftovers = { pids: new Set(), bridges: new Set(), dirs: new Set(), files: new Set() };
let reaperInstalled = false;

function installExitReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  leftovers.dirs.add(RUN_DIR);
  process.once('exit', reapSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      // Someone else (e.g. test/cluster/shared.ts) handles this signal gracefully: let them.
      if (process.listenerCount(sig) > 1) return;
      process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[sig]);
    };
    process.on(sig, onSignal);
  }
}

/**
 * Runs in the 'exit' event, so it must be synchronous: signal our PIDs now and hand the slow
 * part (wait, SIGKILL, unmount, delete bridges and dirs) to a detached shell that outlives us.
 */
function reapSync(): void {
  const pids = [...leftovers.pids].filter(isAlive);
  if (pids.length === 0 && leftovers.bridges.size === 0 && leftovers.dirs.size === 0 && leftovers.files.size === 0) return;
  for (const pid of pids) {
    signal(pid, 'SIGCONT');
    signal(pid, 'SIGTERM');
  }
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    `for i in $(seq 1 100); do alive=0; for p in ${pids.join(' ')}; do kill -0 $p 2>/dev/null && alive=1; done; [ $alive = 0 ] && break; sleep 0.2; done`,
    ...pids.map((p) => `kill -9 ${p} 2>/dev/null`),
    ...[...leftovers.dirs].map((d) => `grep -o " ${d}[^ ]*" /proc/mounts | sort -r | while read m; do umount -l "$m"; done`),
    ...[...leftovers.bridges].map((b) => `ip link del ${q(b)} 2>/dev/null`),
    ...[...leftovers.dirs].map((d) => `rm -rf ${q(d)}`),
    ...[...leftovers.files].map((f) => `rm -f ${q(f)}`),
    'true',
  ].join('\n');
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
}

/** Lazily unmounts anything still mounted below `dir` (a SIGKILLed dockerd leaves shm mounts). */
export function unmountBelow(dir: string): void {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(dir + '/')))
    .sort()
    .reverse();
  for (const m of mounts) spawnSync('umount', ['-l', m]);
}

/**
 * PIDs of processes whose command line mentions `dirPrefix` (containerd and its shims run with
 * our exec-root in their arguments) or whose cgroup is one of `containerIds` (docker/<id>).
 * After a dockerd crash these outlive it; they are ours because the paths and IDs are.
 */
export function strayPids(dirPrefix: string, containerIds: string[]): number[] {
  const ids = new Set(containerIds);
  const out: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  for (const name of entries) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(dirPrefix)) {
        out.push(pid);
        continue;
      }
      if (ids.size === 0) continue;
      const cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      const m = cg.match(/\/docker\/([0-9a-f]{64})/);
      if (m && ids.has(m[1]!)) out.push(pid);
    } catch {
      /* process ended while we looked */
    }
  }
  return out;
}

/**
 * Removes work dirs of kit runs whose process died without cleaning up (SIGKILL), once no
 * process uses them any more; a dir some process still references is left alone.
 */
function sweepStaleRuns(): void {
  let names: string[] = [];
  try {
    names = readdirSync('/tmp').filter((n) => /^swarm-test-\d+$/.test(n));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.slice('swarm-test-'.length));
    if (pid === process.pid || isAlive(pid)) continue;
    const dir = `/tmp/${name}`;
    if (strayPids(`${dir}/`, []).length > 0) continue;
    unmountBelow(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
