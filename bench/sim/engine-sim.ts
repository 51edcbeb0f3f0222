/**
 * A lightweight Docker Engine simulator for benchmarks at scale: one Node process hosts many fake
 * engines, each listening on its own port, implementing the subset of the Engine API the manager
 * uses to validate, refresh and schedule onto a node (ping, version, info, containers list /
 * create / inspect / start / stop / kill / delete, images, networks, volumes and a streaming
 * `/events`). Containers are records in memory: nothing runs.
 *
 * Used only by `bench/` (never by functional tests, which run real dockerd). It aims at being
 * cheap per engine (1,000 engines in one process) and faithful in shape, not in behaviour.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const SIM_API_VERSION = '1.41';
export const SIM_ENGINE_VERSION = '20.10.24-sim';
const BUSYBOX_ID = `sha256:${createHash('sha256').update('busybox-sim').digest('hex')}`;
const IMAGE_CREATED = 1_700_000_000;

export interface SimOptions {
  count: number;
  /** IP to listen on (one of the bench range, e.g. 127.0.0.80). */
  host: string;
  /** First port; engine i listens on basePort + i. 0 = let the OS pick each port. */
  basePort: number;
  cpus?: number;
  /** Bytes. */
  memory?: number;
  /** Daemon labels of engine i (`key=value`). */
  labels?: (i: number) => string[];
  /** Artificial service time per request in ms (0 = answer as fast as possible). */
  delayMs?: number;
  /** Index of the first engine (names `sim-NNNN`) when several processes share one cluster. */
  indexOffset?: number;
}

interface SimContainer {
  id: string;
  name: string;
  image: string;
  created: number;
  state: 'created' | 'running' | 'exited';
  startedAt: string;
  finishedAt: string;
  config: Record<string, unknown>;
  hostConfig: Record<string, unknown>;
  ip: string;
}

export interface SimEngineInfo {
  index: number;
  name: string;
  id: string;
  addr: string;
  port: number;
}

export interface SimStats {
  engines: number;
  containers: number;
  running: number;
  eventSubscribers: number;
  /** Requests received, by route kind (`GET /containers/json`, …). */
  requests: Record<string, number>;
  /** TCP connections accepted (a client that keeps connections alive opens few). */
  connections: number;
}

export interface Simulator {
  engines: SimEngineInfo[];
  stats(): SimStats;
  resetStats(): void;
  stop(): Promise<void>;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Docker-style engine ID (`XXXX:XXXX:…`, 12 groups of base32) derived from the index. */
function engineId(seed: string): string {
  const h = createHash('sha512').update(seed).digest();
  const groups: string[] = [];
  for (let g = 0; g < 12; g++) {
    let s = '';
    for (let c = 0; c < 4; c++) s += ID_ALPHABET[h[(g * 4 + c) % h.length] % 32];
    groups.push(s);
  }
  return groups.join(':');
}

function stateString(c: SimContainer): string {
  if (c.state === 'running') return 'Up Less than a second';
  if (c.state === 'exited') return 'Exited (0) Less than a second ago';
  return 'Created';
}

class Engine {
  readonly containers = new Map<string, SimContainer>();
  readonly byName = new Map<string, string>();
  readonly subscribers = new Set<http.ServerResponse>();
  server!: http.Server;
  port = 0;
  private ipCounter = 2;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly id: string,
    readonly cpus: number,
    readonly memory: number,
    readonly labels: string[],
  ) {}

  find(ref: string): SimContainer | undefined {
    const direct = this.containers.get(ref);
    if (direct) return direct;
    const byName = this.byName.get(ref.replace(/^\//, ''));
    if (byName) return this.containers.get(byName);
    if (ref.length >= 3) {
      let hit: SimContainer | undefined;
      for (const c of this.containers.values()) {
        if (c.id.startsWith(ref)) {
          if (hit) return undefined; // ambiguous prefix
          hit = c;
        }
      }
      return hit;
    }
    return undefined;
  }

  emit(c: SimContainer, action: string): void {
    if (this.subscribers.size === 0) return;
    const now = Date.now();
    const ev = {
      status: action, id: c.id, from: c.image, Type: 'container', Action: action,
      Actor: { ID: c.id, Attributes: { image: c.image, name: c.name } },
      scope: 'local', time: Math.floor(now / 1000), timeNano: now * 1e6,
    };
    const line = `${JSON.stringify(ev)}\n`;
    for (const res of this.subscribers) res.write(line);
  }

  nextIp(): string {
    const n = this.ipCounter++;
    return `172.17.${(n >> 8) & 255}.${n & 255}`;
  }

  summary(c: SimContainer): Record<string, unknown> {
    const cfg = c.config;
    return {
      Id: c.id,
      Names: [`/${c.name}`],
      Image: c.image,
      ImageID: BUSYBOX_ID,
      Command: Array.isArray(cfg.Cmd) ? (cfg.Cmd as string[]).join(' ') : '',
      Created: c.created,
      Ports: [],
      Labels: (cfg.Labels as Record<string, string>) ?? {},
      State: c.state,
      Status: stateString(c),
      HostConfig: { NetworkMode: (c.hostConfig.NetworkMode as string) || 'default' },
      NetworkSettings: { Networks: { bridge: this.endpoint(c) } },
      Mounts: [],
    };
  }

  endpoint(c: SimContainer): Record<string, unknown> {
    return {
      IPAMConfig: null, Links: null, Aliases: null, NetworkID: 'bridge-sim', EndpointID: c.id.slice(0, 64),
      Gateway: '172.17.0.1', IPAddress: c.state === 'running' ? c.ip : '', IPPrefixLen: 16,
      IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, MacAddress: '', DriverOpts: null,
    };
  }

  inspect(c: SimContainer): Record<string, unknown> {
    const running = c.state === 'running';
    return {
      Id: c.id,
      Created: new Date(c.created * 1000).toISOString(),
      Path: Array.isArray(c.config.Cmd) ? (c.config.Cmd as string[])[0] ?? '' : '',
      Args: Array.isArray(c.config.Cmd) ? (c.config.Cmd as string[]).slice(1) : [],
      State: {
        Status: c.state, Running: running, Paused: false, Restarting: false, OOMKilled: false, Dead: false,
        Pid: running ? 1000 + this.ipCounter : 0, ExitCode: 0, Error: '',
        StartedAt: c.startedAt, FinishedAt: c.finishedAt,
      },
      Image: BUSYBOX_ID,
      ResolvConfPath: '', HostnamePath: '', HostsPath: '', LogPath: '',
      Name: `/${c.name}`,
      RestartCount: 0,
      Driver: 'vfs',
      Platform: 'linux',
      MountLabel: '', ProcessLabel: '', AppArmorProfile: '',
      ExecIDs: null,
      HostConfig: { NetworkMode: 'default', PortBindings: {}, RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, CpuShares: 0, Memory: 0, ...c.hostConfig },
      GraphDriver: { Data: null, Name: 'vfs' },
      Mounts: [],
      Config: {
        Hostname: c.id.slice(0, 12), Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
        ExposedPorts: undefined, Tty: false, OpenStdin: false, StdinOnce: false, Env: [], Cmd: null, Image: c.image,
        Volumes: null, WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: {},
        ...c.config,
      },
      NetworkSettings: {
        Bridge: '', SandboxID: '', HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
        Ports: {}, SandboxKey: '', SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
        EndpointID: '', Gateway: running ? '172.17.0.1' : '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
        IPAddress: running ? c.ip : '', IPPrefixLen: running ? 16 : 0, IPv6Gateway: '', MacAddress: '',
        Networks: { bridge: this.endpoint(c) },
      },
    };
  }

  info(): Record<string, unknown> {
    let running = 0;
    let stopped = 0;
    for (const c of this.containers.values()) {
      if (c.state === 'running') running++;
      else stopped++;
    }
    return {
      ID: this.id, Name: this.name, NCPU: this.cpus, MemTotal: this.memory,
      Containers: this.containers.size, ContainersRunning: running, ContainersPaused: 0, ContainersStopped: stopped,
      Images: 1, Driver: 'vfs', DriverStatus: [], SystemStatus: null,
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file'] },
      MemoryLimit: true, SwapLimit: true, KernelMemory: false, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true,
      PidsLimit: true, IPv4Forwarding: true, BridgeNfIptables: true, BridgeNfIp6tables: true, Debug: false,
      NFd: 20, OomKillDisable: true, NGoroutines: 30, SystemTime: new Date().toISOString(), LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs', CgroupVersion: '2', NEventsListener: this.subscribers.size,
      KernelVersion: '6.1.0-sim', OperatingSystem: 'Simulated Linux', OSVersion: '12', OSType: 'linux', Architecture: 'x86_64',
      IndexServerAddress: 'https://index.docker.io/v1/', RegistryConfig: null,
      DockerRootDir: `/var/lib/docker-sim/${this.index}`, HttpProxy: '', HttpsProxy: '', NoProxy: '',
      Labels: this.labels, ExperimentalBuild: false, ServerVersion: SIM_ENGINE_VERSION,
      Runtimes: { runc: { path: 'runc' } }, DefaultRuntime: 'runc',
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: false, Isolation: '', InitBinary: 'docker-init', SecurityOptions: ['name=seccomp,profile=default'], Warnings: null,
    };
  }
}

const VERSION_BODY = JSON.stringify({
  Platform: { Name: 'Docker Engine - Simulated' },
  Components: [{ Name: 'Engine', Version: SIM_ENGINE_VERSION, Details: { ApiVersion: SIM_API_VERSION, MinAPIVersion: '1.12', Os: 'linux', Arch: 'amd64' } }],
  Version: SIM_ENGINE_VERSION, ApiVersion: SIM_API_VERSION, MinAPIVersion: '1.12', GitCommit: 'sim', GoVersion: 'go1.19',
  Os: 'linux', Arch: 'amd64', KernelVersion: '6.1.0-sim', BuildTime: '2023-01-01T00:00:00.000000000+00:00',
});

const IMAGES_BODY = JSON.stringify([{
  Containers: -1, Created: IMAGE_CREATED, Id: BUSYBOX_ID, Labels: null, ParentId: '', RepoDigests: [],
  RepoTags: ['busybox:latest'], SharedSize: -1, Size: 1_200_000, VirtualSize: 1_200_000,
}]);

const IMAGE_INSPECT = JSON.stringify({
  Id: BUSYBOX_ID, RepoTags: ['busybox:latest'], RepoDigests: [], Parent: '', Comment: '',
  Created: new Date(IMAGE_CREATED * 1000).toISOString(), Container: '', Os: 'linux', Architecture: 'amd64',
  Size: 1_200_000, VirtualSize: 1_200_000, Config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
  RootFS: { Type: 'layers', Layers: [] }, Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
});

function networksBody(): string {
  const net = (name: string, driver: string) => ({
    Name: name, Id: createHash('sha256').update(`net-${name}`).digest('hex'), Created: '2023-01-01T00:00:00Z', Scope: 'local',
    Driver: driver, EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: name === 'bridge' ? [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] : [] },
    Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {},
  });
  return JSON.stringify([net('bridge', 'bridge'), net('host', 'host'), net('none', 'null')]);
}
const NETWORKS_BODY = networksBody();
const NETWORKS = JSON.parse(NETWORKS_BODY) as Record<string, unknown>[];

const COMMON_HEADERS = {
  'Api-Version': SIM_API_VERSION,
  'Docker-Experimental': 'false',
  'Ostype': 'linux',
  'Server': `Docker/${SIM_ENGINE_VERSION} (linux)`,
};

function send(res: http.ServerResponse, status: number, body?: string, type = 'application/json'): void {
  const headers: Record<string, string | number> = { ...COMMON_HEADERS };
  if (body !== undefined) {
    headers['Content-Type'] = type;
    headers['Content-Length'] = Buffer.byteLength(body);
  }
  res.writeHead(status, headers);
  res.end(body);
}

function sendError(res: http.ServerResponse, status: number, message: string): void {
  send(res, status, `${JSON.stringify({ message })}\n`);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Start `count` simulated engines in this process. */
export async function startSimulator(options: SimOptions): Promise<Simulator> {
  const cpus = options.cpus ?? 4;
  const memory = options.memory ?? 8 * 2 ** 30;
  const requests: Record<string, number> = {};
  let connections = 0;
  const engines: Engine[] = [];
  const seed = randomBytes(4).toString('hex');

  const count = (key: string) => { requests[key] = (requests[key] ?? 0) + 1; };

  async function handle(engine: Engine, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    // Engines accept any `/vX.Y` prefix; the simulator does too.
    const p = url.pathname.replace(/^\/v\d+(\.\d+)?(?=\/)/, '');
    const method = req.method ?? 'GET';
    let m: RegExpMatchArray | null;

    if (p === '/_ping') { count(`${method} /_ping`); return send(res, 200, method === 'HEAD' ? undefined : 'OK', 'text/plain; charset=utf-8'); }
    if (method === 'GET' && p === '/version') { count('GET /version'); return send(res, 200, VERSION_BODY); }
    if (method === 'GET' && p === '/info') { count('GET /info'); return send(res, 200, JSON.stringify(engine.info())); }
    if (method === 'GET' && (p === '/containers/json' || p === '/containers/ps')) {
      count('GET /containers/json');
      const all = url.searchParams.get('all');
      const wantAll = all === '1' || all === 'true';
      const out: unknown[] = [];
      for (const c of engine.containers.values()) if (wantAll || c.state === 'running') out.push(engine.summary(c));
      out.reverse(); // newest first, as dockerd does
      return send(res, 200, JSON.stringify(out));
    }
    if (method === 'POST' && p === '/containers/create') {
      count('POST /containers/create');
      const body = await readBody(req);
      let spec: Record<string, unknown>;
      try {
        spec = body ? JSON.parse(body) as Record<string, unknown> : {};
      } catch {
        return sendError(res, 400, 'invalid JSON body');
      }
      const image = String(spec.Image ?? '');
      if (!/^busybox(:latest)?$/.test(image)) return sendError(res, 404, `No such image: ${image}`);
      const id = randomBytes(32).toString('hex');
      const name = (url.searchParams.get('name') || `sim_${id.slice(0, 8)}`).replace(/^\//, '');
      const taken = engine.byName.get(name);
      if (taken) {
        return sendError(res, 409, `Conflict. The container name "/${name}" is already in use by container "${taken}". You have to remove (or rename) that container to be able to reuse that name.`);
      }
      const { HostConfig, NetworkingConfig: _net, ...config } = spec;
      const c: SimContainer = {
        id, name, image, created: Math.floor(Date.now() / 1000), state: 'created',
        startedAt: '0001-01-01T00:00:00Z', finishedAt: '0001-01-01T00:00:00Z',
        config, hostConfig: (HostConfig as Record<string, unknown>) ?? {}, ip: '',
      };
      engine.containers.set(id, c);
      engine.byName.set(name, id);
      engine.emit(c, 'create');
      return send(res, 201, JSON.stringify({ Id: id, Warnings: [] }));
    }
    if (method === 'POST' && (m = p.match(/^\/containers\/([^/]+)\/rename$/))) {
      count('POST /containers/{id}/rename');
      const c = engine.find(decodeURIComponent(m[1]));
      const to = (url.searchParams.get('name') ?? '').replace(/^\//, '');
      if (!c) return sendError(res, 404, `No such container: ${m[1]}`);
      if (!to) return sendError(res, 400, 'new name is required');
      if (engine.byName.has(to)) return sendError(res, 409, `Conflict. The container name "/${to}" is already in use by container "${engine.byName.get(to)}". You have to remove (or rename) that container to be able to reuse that name.`);
      engine.byName.delete(c.name);
      c.name = to;
      engine.byName.set(to, c.id);
      engine.emit(c, 'rename');
      return send(res, 204);
    }
    if ((m = p.match(/^\/containers\/([^/]+)\/(json|start|stop|kill|wait|restart)$/))) {
      const ref = decodeURIComponent(m[1]);
      const action = m[2];
      count(`${method} /containers/{id}/${action}`);
      const c = engine.find(ref);
      if (!c) return sendError(res, 404, `No such container: ${ref}`);
      if (action === 'json' && method === 'GET') return send(res, 200, JSON.stringify(engine.inspect(c)));
      if (method !== 'POST') return sendError(res, 404, 'page not found');
      if (req.readable) await readBody(req);
      if (action === 'start' || action === 'restart') {
        if (c.state === 'running' && action === 'start') return send(res, 304);
        c.state = 'running';
        c.ip = engine.nextIp();
        c.startedAt = new Date().toISOString();
        engine.emit(c, 'start');
        return send(res, 204);
      }
      if (action === 'stop' || action === 'kill') {
        if (c.state !== 'running') return action === 'stop' ? send(res, 304) : sendError(res, 409, `Container ${c.id} is not running`);
        c.state = 'exited';
        c.finishedAt = new Date().toISOString();
        engine.emit(c, action === 'kill' ? 'kill' : 'stop');
        engine.emit(c, 'die');
        return send(res, 204);
      }
      // wait: nothing runs, so a container "exits" at once.
      return send(res, 200, JSON.stringify({ StatusCode: 0, Error: null }));
    }
    if (method === 'DELETE' && (m = p.match(/^\/containers\/([^/]+)$/))) {
      count('DELETE /containers/{id}');
      const ref = decodeURIComponent(m[1]);
      const c = engine.find(ref);
      if (!c) return sendError(res, 404, `No such container: ${ref}`);
      const force = ['1', 'true'].includes(url.searchParams.get('force') ?? '');
      if (c.state === 'running' && !force) {
        return sendError(res, 409, `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
      }
      engine.containers.delete(c.id);
      engine.byName.delete(c.name);
      engine.emit(c, 'destroy');
      return send(res, 204);
    }
    if (method === 'GET' && p === '/images/json') { count('GET /images/json'); return send(res, 200, IMAGES_BODY); }
    if (method === 'GET' && (m = p.match(/^\/images\/(.+)\/json$/))) {
      count('GET /images/{name}/json');
      const ref = decodeURIComponent(m[1]);
      if (/^busybox(:latest)?$/.test(ref) || BUSYBOX_ID.includes(ref.replace(/^sha256:/, ''))) return send(res, 200, IMAGE_INSPECT);
      return sendError(res, 404, `No such image: ${ref}`);
    }
    if (method === 'POST' && p === '/images/create') {
      count('POST /images/create');
      if (req.readable) await readBody(req);
      return send(res, 200, `${JSON.stringify({ status: 'Status: Image is up to date for busybox:latest' })}\n`);
    }
    if (method === 'GET' && p === '/networks') { count('GET /networks'); return send(res, 200, NETWORKS_BODY); }
    if (method === 'GET' && (m = p.match(/^\/networks\/([^/]+)$/))) {
      count('GET /networks/{id}');
      const ref = decodeURIComponent(m[1]);
      const n = NETWORKS.find((x) => x.Name === ref || String(x.Id).startsWith(ref));
      return n ? send(res, 200, JSON.stringify(n)) : sendError(res, 404, `network ${ref} not found`);
    }
    if (method === 'GET' && p === '/volumes') { count('GET /volumes'); return send(res, 200, JSON.stringify({ Volumes: [], Warnings: null })); }
    if (method === 'GET' && p === '/events') {
      count('GET /events');
      res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/json' });
      res.flushHeaders();
      engine.subscribers.add(res);
      const drop = () => engine.subscribers.delete(res);
      req.on('close', drop);
      res.on('close', drop);
      return;
    }
    if (method === 'GET' && p === '/_sim/stats') return send(res, 200, JSON.stringify(stats()));
    count(`unhandled ${method} ${p}`);
    return sendError(res, 404, 'page not found');
  }

  function stats(): SimStats {
    let containers = 0;
    let running = 0;
    let subs = 0;
    for (const e of engines) {
      containers += e.containers.size;
      subs += e.subscribers.size;
      for (const c of e.containers.values()) if (c.state === 'running') running++;
    }
    return { engines: engines.length, containers, running, eventSubscribers: subs, requests: { ...requests }, connections };
  }

  const delay = options.delayMs ?? 0;
  try {
    const offset = options.indexOffset ?? 0;
    for (let j = 0; j < options.count; j++) {
      const i = offset + j;
      const name = `sim-${String(i + 1).padStart(4, '0')}`;
      const labels = options.labels?.(i) ?? [`zone=z${i % 4}`, `storage=${i % 2 === 0 ? 'ssd' : 'disk'}`];
      const engine = new Engine(i, name, engineId(`${seed}-${i}`), cpus, memory, labels);
      const server = http.createServer((req, res) => {
        const run = () => handle(engine, req, res).catch((err: Error) => {
          if (!res.headersSent) sendError(res, 500, err.message);
          else res.destroy(err);
        });
        if (delay > 0) setTimeout(run, delay);
        else void run();
      });
      // The manager keeps connections to every engine; don't make it reconnect every 5 s.
      server.keepAliveTimeout = 120_000;
      server.headersTimeout = 130_000;
      server.requestTimeout = 0;
      server.on('connection', () => { connections++; });
      engine.server = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.basePort ? options.basePort + j : 0, options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      engine.port = (server.address() as AddressInfo).port;
      engines.push(engine);
    }
  } catch (err) {
    await Promise.all(engines.map((e) => new Promise<void>((r) => e.server.close(() => r()))));
    throw err;
  }

  return {
    engines: engines.map((e) => ({ index: e.index, name: e.name, id: e.id, addr: `${options.host}:${e.port}`, port: e.port })),
    stats,
    resetStats() {
      for (const k of Object.keys(requests)) delete requests[k];
      connections = 0;
    },
    async stop() {
      for (const e of engines) {
        for (const res of e.subscribers) res.end();
        e.subscribers.clear();
      }
      await Promise.all(engines.map((e) => new Promise<void>((resolve) => {
        e.server.close(() => resolve());
        e.server.closeAllConnections();
      })));
    },
  };
}
