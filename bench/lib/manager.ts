/** Helpers around a running `swarm manage`: read its /info, wait for nodes, read /proc figures. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from './http.ts';

export interface ManagerInfo {
  role: string | undefined;
  primary: string | undefined;
  nodes: number;
  healthy: number;
  pending: number;
  containers: number;
}

/** Parse the legacy `SystemStatus` pairs of `GET /info`. */
export function parseInfo(body: string): ManagerInfo {
  const info = JSON.parse(body) as { SystemStatus?: [string, string][] | null; Containers?: number };
  const pairs = info.SystemStatus ?? [];
  const get = (k: string) => pairs.find(([key]) => key.trim() === k)?.[1];
  let healthy = 0;
  let pending = 0;
  for (const [k, v] of pairs) {
    if (k.includes('Status') && k.includes('└')) {
      if (v === 'Healthy') healthy++;
      else if (v === 'Pending') pending++;
    }
  }
  return {
    role: get('Role'),
    primary: get('Primary'),
    nodes: Number(get('Nodes') ?? 0),
    healthy,
    pending,
    containers: info.Containers ?? 0,
  };
}

export async function managerInfo(c: Client, timeoutMs = 10_000): Promise<ManagerInfo> {
  const r = await c.expect('GET', '/v1.41/info', [200], undefined, timeoutMs);
  return parseInfo(r.body);
}

/** Poll /info until `want` nodes are Healthy; returns ms waited. Throws after `timeoutMs`. */
export async function waitHealthy(c: Client, want: number, timeoutMs: number, onPoll?: (i: ManagerInfo) => void, signal?: AbortSignal): Promise<number> {
  const t0 = Date.now();
  let last: ManagerInfo | undefined;
  let lastErr = '';
  while (Date.now() - t0 < timeoutMs) {
    if (signal?.aborted) throw new Error('interrupted');
    try {
      last = await managerInfo(c);
      onPoll?.(last);
      if (last.healthy >= want) return Date.now() - t0;
    } catch (err) {
      lastErr = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`manager did not report ${want} healthy nodes within ${timeoutMs} ms (last: ${last ? `${last.healthy} healthy, ${last.pending} pending of ${last.nodes}` : lastErr})`);
}

/** Resident set size of a process in MB (VmRSS from /proc/<pid>/status). */
export function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

const CLK_TCK = 100; // Linux USER_HZ; getconf CLK_TCK is 100 on every mainstream kernel config

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name (which may contain spaces).
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1000) / CLK_TCK;
}

/** A `swarm manage` child process started by this module. */
export interface SpawnedManager { host: string; pid: number; stop(): Promise<void> }

/**
 * Start `swarm manage` as users launch it: the package's `swarm` executable (core/cli/bin.js, run
 * as a program, so its launcher lines apply, e.g. the V8 young-generation size; see bin.js). The
 * process keeps the PID it was spawned with (the launcher execs node), so /proc figures are the
 * manager's. (The test kit's startManager runs `node --import tsx core/cli/main.ts`, without them.)
 */
export function startBinManager(root: string, host: string, args: string[]): Promise<SpawnedManager> {
  return spawnManager(root, path.join(root, 'core/cli/bin.js'), ['manage', '-H', `tcp://${host}`, ...args], host);
}

/**
 * Start `swarm manage` under `node --cpu-prof` (the kit's startManager cannot pass Node flags,
 * and NODE_OPTIONS refuses --cpu-prof). The profile is written when the manager exits on stop().
 * Node is given the flags itself, so bin.js's launcher lines do not run: the same young-generation
 * size is passed here (`binNodeFlags`).
 */
export function startProfiledManager(root: string, host: string, args: string[], profileDir: string): Promise<SpawnedManager> {
  return spawnManager(root, process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, ...binNodeFlags(root), path.join(root, 'core/cli/bin.js'), 'manage', '-H', `tcp://${host}`, ...args], host);
}

/** The node flags core/cli/bin.js's launcher adds when NODE_OPTIONS sets none (read from its exec line). */
export function binNodeFlags(root: string): string[] {
  const line = readFileSync(path.join(root, 'core/cli/bin.js'), 'utf8').split('\n').find((l) => /exec node --/.test(l));
  return line ? [...line.matchAll(/ (--[a-z-]+=\S+)/g)].map((m) => m[1]) : [];
}

async function spawnManager(root: string, command: string, argv: string[], host: string): Promise<SpawnedManager> {
  const { spawn } = await import('node:child_process');
  // As the test kit does: no DOCKER_* variables (they would point the manager's own client settings elsewhere).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DOCKER_')));
  const proc = spawn(command, argv, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-2000); });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  };
  const c = new Client(host, 1);
  const t0 = Date.now();
  try {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`swarm manage exited with ${proc.exitCode}: ${stderr.trim().split('\n').pop()}`);
      if (Date.now() - t0 > 120_000) throw new Error('swarm manage did not answer /_ping within 120 s');
      try {
        if ((await c.request('GET', '/_ping', undefined, 2_000)).status === 200) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    c.close();
  }
  return { host: `tcp://${host}`, pid: proc.pid!, stop };
}
