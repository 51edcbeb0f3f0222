/**
 * Real Docker engines for tests: one `dockerd` per loopback IP, each with its own data and
 * exec root, Linux bridge, host name (UTS namespace), trust key (so `docker info` IDs differ)
 * and address pool, so several engines live side by side on one machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { importBusybox } from './busybox.ts';
import { allocateIp, unlockIp } from './ip-lock.ts';
import { isAlive, leftovers, runDir, signal, startProc, strayPids, terminate, unmountBelow, waitFor, type Proc } from './proc.ts';

export interface TlsFiles {
  /** CA that signed the server and client certificates. */
  ca: string;
  /** Server certificate and key used by dockerd. */
  cert: string;
  key: string;
  /** Client certificate for the kit's own calls (ping, image import); defaults to cert/key. */
  clientCert?: string;
  clientKey?: string;
}

export interface TestEngine {
  name: string;
  ip: string;
  port: number;
  /** ip:port */
  addr: string;
  /** tcp://ip:port */
  host: string;
  labels: Record<string, string>;
  pid: number;
  /** Set when the engine requires TLS (port 2376). */
  tls?: TlsFiles;
}

export interface StartEnginesOptions {
  count?: number;
  labels?: Record<string, string>[];
  /** Host names (docker info Name); default node-1, node-2, … */
  names?: string[];
  /** Preferred IPs; taken if free, else an IP from 127.0.0.100-199 is used. */
  ips?: string[];
  tls?: TlsFiles;
  /** Default true: return the shared engines from SWARM_TEST_ENGINES when they fit. */
  reuse?: boolean;
  /** Start-up timeout per engine, ms (default 60 s: each engine also starts its containerd). */
  timeoutMs?: number;
}

export interface EngineGroup {
  engines: TestEngine[];
  stop(): Promise<void>;
}

/** Layout of the shared cluster (see the team brief). */
export const DEFAULT_LABELS: Record<string, string>[] = [
  { storage: 'ssd', zone: 'a' },
  { storage: 'disk', zone: 'b' },
  { storage: 'ssd', zone: 'b' },
];
export const DEFAULT_IPS = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
export const ENV_VAR = 'SWARM_TEST_ENGINES';

interface EngineState {
  engine: TestEngine;
  dir: string;
  bridge: string;
  args: string[];
  proc?: Proc;
  timeoutMs: number;
}

/** Engines started by this process, by addr. Shared engines from the env are not in here. */
const started = new Map<string, EngineState>();

export function sharedEngines(): TestEngine[] | undefined {
  const raw = process.env[ENV_VAR];
  if (!raw) return undefined;
  const list = JSON.parse(raw) as TestEngine[];
  if (!Array.isArray(list) || list.some((e) => typeof e.host !== 'string')) {
    throw new Error(`${ENV_VAR} must be a JSON array of TestEngine`);
  }
  return list;
}

export async function startEngines(opts: StartEnginesOptions = {}): Promise<EngineGroup> {
  const reuse = opts.reuse ?? true;
  const count = opts.count ?? 3;
  if (reuse) {
    const shared = sharedEngines();
    if (shared && count <= shared.length && !opts.tls && !opts.labels && !opts.names) {
      return { engines: shared.slice(0, count), stop: async () => {} }; // shared: never stopped by a test
    }
  }
  // reuse:true without a shared cluster starts the shared layout, so a test file also runs alone.
  const preferred = opts.ips ?? (reuse ? DEFAULT_IPS : []);
  const states: EngineState[] = [];
  const group: EngineGroup = {
    engines: [],
    stop: async () => {
      await Promise.all(states.map((s) => destroy(s)));
    },
  };
  try {
    // Allocate sequentially (lock files), then boot in parallel: containerd start-up dominates.
    for (let i = 0; i < count; i++) {
      const port = opts.tls ? 2376 : 2375;
      const ip = await allocateIp(port, preferred[i]);
      const engine: TestEngine = {
        name: opts.names?.[i] ?? `node-${i + 1}`,
        ip,
        port,
        addr: `${ip}:${port}`,
        host: `tcp://${ip}:${port}`,
        labels: opts.labels?.[i] ?? DEFAULT_LABELS[i] ?? {},
        pid: 0,
        ...(opts.tls ? { tls: opts.tls } : {}),
      };
      const state = prepare(engine, opts.timeoutMs ?? 60_000);
      states.push(state);
      group.engines.push(engine);
    }
    await Promise.all(states.map((s) => boot(s)));
  } catch (err) {
    await group.stop();
    throw err;
  }
  return group;
}

function octet(ip: string): number {
  return Number(ip.split('.')[3]);
}

function prepare(engine: TestEngine, timeoutMs: number): EngineState {
  const n = octet(engine.ip);
  const dir = runDir(`e${n}`);
  const bridge = `swtest${n}`;
  for (const d of ['data', 'exec']) mkdirSync(join(dir, d), { recursive: true });
  // Our own daemon.json: a host /etc/docker/daemon.json must not leak into test engines, and
  // each engine needs its own trust key (20.10 has no flag for it), else every `docker info`
  // reports the same ID.
  writeFileSync(join(dir, 'daemon.json'), JSON.stringify({ 'deprecated-key-path': join(dir, 'key.json') }) + '\n');
  const args = [
    '--data-root', join(dir, 'data'),
    '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'docker.pid'),
    '--config-file', join(dir, 'daemon.json'),
    '-H', engine.host,
    '--storage-driver', 'vfs',
    '--iptables=false',
    '--bridge', bridge,
    '--ip', engine.ip,
    // Networks created by tests must not overlap between engines sharing the host's routes.
    '--default-address-pool', `base=10.${n}.0.0/16,size=24`,
    '--shutdown-timeout', '5',
    ...Object.entries(engine.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    ...(engine.tls
      ? ['--tlsverify', '--tlscacert', engine.tls.ca, '--tlscert', engine.tls.cert, '--tlskey', engine.tls.key]
      : []),
  ];
  const state: EngineState = { engine, dir, bridge, args, timeoutMs };
  started.set(engine.addr, state);
  return state;
}

function ipCmd(args: string[], mayFail = false): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0 && !mayFail) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
}

function bridgeExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

function createBridge(s: EngineState): void {
  // We hold the IP lock, so a bridge with our name is a leftover of a dead run: replace it.
  if (bridgeExists(s.bridge)) ipCmd(['link', 'del', s.bridge], true);
  ipCmd(['link', 'add', s.bridge, 'type', 'bridge']);
  leftovers.bridges.add(s.bridge);
  ipCmd(['addr', 'add', `172.31.${octet(s.engine.ip)}.1/24`, 'dev', s.bridge]);
  ipCmd(['link', 'set', s.bridge, 'up']);
}

/**
 * Test engines never reach outside the machine: registry traffic (pulls, logins) goes to a proxy
 * address on loopback where nothing listens, so it fails at once, and dockerd does not even resolve
 * the registry's name (with a proxy, name resolution is the proxy's job). SWARM_KIT_ONLINE=1 lets
 * engines of a machine that may use a registry pull for real.
 */
export const OFFLINE_PROXY = 'http://127.0.0.1:9';
const OFFLINE_ENV = {
  HTTP_PROXY: OFFLINE_PROXY, HTTPS_PROXY: OFFLINE_PROXY, http_proxy: OFFLINE_PROXY, https_proxy: OFFLINE_PROXY,
  NO_PROXY: '127.0.0.0/8,localhost', no_proxy: '127.0.0.0/8,localhost',
};

/** Starts (or restarts) the daemon for a prepared engine and waits until it serves /_ping. */
async function boot(s: EngineState): Promise<void> {
  if (!bridgeExists(s.bridge)) createBridge(s);
  // After a crash dockerd finds the old containerd's pid file; if that PID is still a zombie
  // (not yet reaped by PID 1) it believes containerd runs and waits for it until it gives up.
  const ctrPidFile = join(s.dir, 'exec', 'containerd', 'containerd.pid');
  if (existsSync(ctrPidFile) && !isAlive(Number(readFileSync(ctrPidFile, 'utf8').trim()))) rmSync(ctrPidFile, { force: true });
  // unshare (no --fork) execs sh, which execs dockerd: the child PID is dockerd's PID.
  const proc = startProc(
    'unshare',
    ['--uts', 'sh', '-c', 'hostname "$0" && exec dockerd "$@"', s.engine.name, ...s.args],
    join(s.dir, 'dockerd.log'),
    { env: process.env.SWARM_KIT_ONLINE === '1' ? process.env : { ...process.env, ...OFFLINE_ENV } },
  );
  s.proc = proc;
  s.engine.pid = proc.pid;
  leftovers.pids.add(proc.pid);
  try {
    await waitFor(`engine ${s.engine.name} at ${s.engine.host}`, () => ping(s.engine), {
      timeoutMs: s.timeoutMs,
      abort: () => (proc.exitCode() !== undefined ? `dockerd exited with ${proc.exitCode()}` : undefined),
    });
    if (!(await hasImage(s.engine, 'busybox:latest'))) {
      await importBusybox(s.engine.host, cliTlsArgs(s.engine));
    }
  } catch (err) {
    const tail = proc.logs().split('\n').slice(-30).join('\n');
    throw new Error(`${(err as Error).message}\n--- dockerd log (${s.dir}/dockerd.log) ---\n${tail}`, { cause: err });
  }
}

export function cliTlsArgs(e: TestEngine): string[] {
  if (!e.tls) return [];
  return [
    '--tlsverify',
    '--tlscacert', e.tls.ca,
    '--tlscert', e.tls.clientCert ?? e.tls.cert,
    '--tlskey', e.tls.clientKey ?? e.tls.key,
  ];
}

/** Minimal HTTP(S) GET against an engine; resolves status + body. */
export function engineGet(e: TestEngine, path: string, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const common = { host: e.ip, port: e.port, path, method: 'GET', timeout: timeoutMs };
    const req = e.tls
      ? httpsRequest({
          ...common,
          ca: readFileSync(e.tls.ca),
          cert: readFileSync(e.tls.clientCert ?? e.tls.cert),
          key: readFileSync(e.tls.clientKey ?? e.tls.key),
          servername: e.ip.startsWith('127.') ? undefined : e.ip,
          checkServerIdentity: () => undefined, // test certs name the engine by IP or not at all
        })
      : httpRequest(common);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function ping(e: TestEngine): Promise<boolean> {
  const r = await engineGet(e, '/_ping');
  return r.status === 200;
}

async function hasImage(e: TestEngine, ref: string): Promise<boolean> {
  const r = await engineGet(e, `/images/${encodeURIComponent(ref)}/json`);
  return r.status === 200;
}

function stateOf(e: TestEngine): EngineState {
  const s = started.get(e.addr);
  if (!s) throw new Error(`engine ${e.name} (${e.addr}) was not started by this process (shared engines are never stopped by tests; use reuse:false)`);
  return s;
}

async function halt(s: EngineState): Promise<void> {
  const proc = s.proc;
  if (proc && proc.exitCode() === undefined) {
    await terminate(proc, 20_000);
    leftovers.pids.delete(proc.pid);
  }
  // A dockerd that was SIGKILLed (by us after the timeout, or by a fault test) leaves its
  // containerd shims and container processes behind; they are found by our paths and IDs.
  let ids: string[] = [];
  try {
    ids = readdirSync(join(s.dir, 'data', 'containers'));
  } catch {
    /* no containers yet */
  }
  const strays = strayPids(`${s.dir}/`, ids);
  if (strays.length === 0) return;
  for (const pid of strays) signal(pid, 'SIGKILL');
  await waitFor(`stray processes of ${s.engine.name} to exit`, () => strays.every((p) => !isAlive(p)), { timeoutMs: 10_000 });
}

/** Stops the engine's daemon (SIGTERM, then SIGKILL); keeps its data, bridge and IP for restartEngine. */
export async function stopEngine(e: TestEngine): Promise<void> {
  await halt(stateOf(e));
}

/** Starts a stopped engine again (or stops and starts a running one), same IP, name, data. e.pid is updated. */
export async function restartEngine(e: TestEngine): Promise<void> {
  const s = stateOf(e);
  await halt(s);
  await boot(s);
  e.pid = s.engine.pid;
}

/** True while the engine's daemon (started by this process) is running. */
export function engineRunning(e: TestEngine): boolean {
  const s = started.get(e.addr);
  return !!s?.proc && s.proc.exitCode() === undefined;
}

async function destroy(s: EngineState): Promise<void> {
  await halt(s);
  unmountBelow(s.dir);
  if (bridgeExists(s.bridge)) ipCmd(['link', 'del', s.bridge], true);
  leftovers.bridges.delete(s.bridge);
  rmSync(s.dir, { recursive: true, force: true });
  unlockIp(s.engine.ip);
  started.delete(s.engine.addr);
}



/** Name of the Linux bridge the kit created for an engine (exists while the engine is not destroyed). */
export function engineBridge(e: TestEngine): string {
  return `swtest${octet(e.ip)}`;
}
