/**
 * `GET /info` (drives `docker info`): cluster-wide counts plus the legacy `SystemStatus` pairs,
 * which docker CLI 28 prints as ` <key>: <value>` lines under `Server Version`. Layout (§5.3):
 * Role [Primary] Strategy Filters Nodes, then per node (natural order by name) the name/address
 * line and `└` detail lines, Error (only when set) before UpdatedAt.
 */
import os from 'node:os';
import type { Engine } from '../engine/cluster-api.ts';
import type { NodeView } from '../types.ts';
import type { ApiContext } from './context.ts';
import { SERVER_VERSION } from './versions.ts';

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** Go's `%.4g`: 4 significant digits, trailing zeros dropped. */
export function formatG4(x: number): string {
  if (x === 0) return '0';
  let s = x.toPrecision(4);
  if (s.includes('e')) {
    const [m, e] = s.split('e');
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    const exp = Number(e);
    return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s;
}

/** docker/go-units `BytesSize`: `1.953 GiB`, `0 B`. */
export function bytesSize(n: number): string {
  let size = n;
  let i = 0;
  while (size >= 1024 && i < BINARY_UNITS.length - 1) {
    size /= 1024;
    i++;
  }
  return `${formatG4(size)} ${BINARY_UNITS[i]}`;
}

/** RFC 3339, UTC, second precision. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function containerCounts(states: string[]) {
  let running = 0, paused = 0, stopped = 0;
  for (const s of states) {
    // Paused is checked before running: a paused container is also "running" on the engine.
    if (s === 'paused') paused++;
    else if (s === 'running' || s === 'restarting') running++;
    else stopped++;
  }
  return { total: states.length, running, paused, stopped };
}

function nodeOf(nodes: readonly NodeView[], e: Engine): NodeView | undefined {
  return nodes.find((n) => n.id === e.id) ?? nodes.find((n) => n.addr === e.addr);
}

/** The `SystemStatus` pairs. */
export function systemStatus(ctx: ApiContext): [string, string][] {
  const { cluster } = ctx;
  const status = cluster.status();
  const role = ctx.role().role === 'replica' || status.role === 'replica'
    ? { role: 'replica', primary: ctx.role().primary ?? status.primary }
    : { role: 'primary' };
  const out: [string, string][] = [['Role', role.role]];
  if (role.role === 'replica') out.push(['Primary', role.primary ?? '']);
  out.push(['Strategy', status.strategy]);
  out.push(['Filters', status.filters.join(', ')]);
  const engines = cluster.engines();
  out.push(['Nodes', String(engines.length)]);
  const nodes = cluster.nodes();
  for (const e of engines) {
    const n = nodeOf(nodes, e);
    const healthy = e.state === 'healthy';
    const states = e.containers().map((c) => c.view.state);
    const counts = containerCounts(states);
    out.push([` ${e.name || '(unknown)'}`, e.addr]);
    // A never-validated engine has no ID yet (the engine layer keys it by address meanwhile).
    out.push(['  └ ID', e.state === 'pending' && e.id === e.addr ? '' : e.id]);
    out.push(['  └ Status', capitalize(e.state)]);
    out.push(['  └ Containers', healthy
      ? `${counts.total} (${counts.running} Running, ${counts.paused} Paused, ${counts.stopped} Stopped)`
      : String(counts.total)]);
    out.push(['  └ Reserved CPUs', `${Math.trunc(n?.usedCpus ?? 0)} / ${Math.trunc(n?.totalCpus ?? e.cpus)}`]);
    out.push(['  └ Reserved Memory', `${bytesSize(n?.usedMemory ?? 0)} / ${bytesSize(n?.totalMemory ?? e.memory)}`]);
    const labels = Object.entries(e.labels).map(([k, v]) => `${k}=${v}`).sort();
    out.push(['  └ Labels', labels.join(', ')]);
    if (e.error) out.push(['  └ Error', e.error]);
    out.push(['  └ UpdatedAt', rfc3339(e.updatedAt || Date.now())]);
    out.push(['  └ ServerVersion', e.serverVersion]);
  }
  return out;
}

/** Union of the engines' plugin lists (the original left them empty; CLI 28 prints them). */
function pluginUnion(engines: readonly Engine[]): Record<string, string[] | null> {
  const out: Record<string, Set<string>> = { Volume: new Set(), Network: new Set(), Authorization: new Set(), Log: new Set() };
  for (const e of engines) {
    const p = (e.info?.Plugins ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(out)) for (const v of Array.isArray(p[k]) ? p[k] as unknown[] : []) out[k].add(String(v));
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.size > 0 ? [...v].sort() : null]));
}

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

/** The whole `/info` body. */
export function buildInfo(ctx: ApiContext): Record<string, unknown> {
  const { cluster } = ctx;
  const validated = cluster.engines().filter((e) => e.state !== 'pending' && e.state !== 'disconnected');
  const states = cluster.containers().map((c) => c.container.view.state);
  const counts = containerCounts(states);
  let images = 0;
  for (const e of validated) {
    // Like `docker images` without -a: tagged images only; counted per engine, not de-duplicated.
    images += e.images().filter((i) => i.view.repoTags.some((t) => t !== '<none>:<none>')).length;
  }
  const nodes = cluster.nodes();
  let ncpu = 0, mem = 0;
  for (const e of validated) {
    const n = nodeOf(nodes, e);
    ncpu += n?.totalCpus ?? e.cpus;
    mem += n?.totalMemory ?? e.memory;
  }
  const env = process.env;
  return {
    ID: '',
    Containers: counts.total,
    ContainersRunning: counts.running,
    ContainersPaused: counts.paused,
    ContainersStopped: counts.stopped,
    Images: images,
    Driver: '',
    DriverStatus: null,
    SystemStatus: systemStatus(ctx),
    Plugins: pluginUnion(validated),
    MemoryLimit: true,
    SwapLimit: true,
    KernelMemory: true,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    BridgeNfIptables: true,
    BridgeNfIp6tables: true,
    OomKillDisable: true,
    // The original never wired --debug into /info.
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: '',
    CgroupDriver: '',
    NEventsListener: ctx.eventListeners,
    KernelVersion: os.release(),
    OperatingSystem: os.platform(),
    OSType: '',
    Architecture: GO_ARCH[os.arch()] ?? os.arch(),
    IndexServerAddress: '',
    RegistryConfig: null,
    NCPU: Math.trunc(ncpu),
    MemTotal: Math.trunc(mem),
    DockerRootDir: '',
    HttpProxy: env.HTTP_PROXY ?? env.http_proxy ?? '',
    HttpsProxy: env.HTTPS_PROXY ?? env.https_proxy ?? '',
    NoProxy: env.NO_PROXY ?? env.no_proxy ?? '',
    Name: os.hostname(),
    Labels: [],
    ExperimentalBuild: Boolean(ctx.options.experimental),
    ServerVersion: SERVER_VERSION,
    // Not a swarm-mode node: CLI 28 then prints `Swarm: inactive` and nothing else.
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    Runtimes: {},
    DefaultRuntime: '',
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: '',
    SecurityOptions: [],
    Warnings: null,
  };
}
