/**
 * Builders for scheduler tests: plain data, no mocks. `node('a').label('storage', 'ssd').build()`,
 * `container('web').publish('80:80').build()`, `request().constraint('storage==ssd').build()`.
 * Requests go through the real `buildRequest`, so a test exercises the same parsing as the API.
 * Defaults: a node is healthy (health 100) with 4 CPUs and 4 GiB, the four built-in labels and no
 * container; reserved resources are the sum over its containers unless `.used()` says otherwise.
 * A request has the fixed id `test-request` (so tie-breaks are reproducible) unless `.id()` is given.
 */
import type { ContainerView, ImageView, NodeState, NodeView, PlacementRequest, PortBinding } from '../../core/types.ts';
import { buildRequest } from '../../core/pipeline/request.ts';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

let serial = 0;
function hexId(seed: string): string {
  // deterministic 64-hex id from a name, so tests can assert on IDs
  let h = 0x811c9dc5;
  let out = '';
  for (let round = 0; out.length < 64; round++) {
    for (const ch of `${seed}#${round}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 64);
}

/**
 * `-p` syntax: `80`, `8080:80`, `127.0.0.1:8080:80`, `127.0.0.1::80`, with an optional `/udp`.
 * Returns the binding as the Docker CLI would put it in HostConfig.PortBindings.
 */
export function parsePublish(spec: string): PortBinding {
  const [main, proto = 'tcp'] = spec.split('/');
  const parts = main.split(':');
  let hostIp = '';
  let hostPort = '';
  let port: string;
  if (parts.length === 1) [port] = parts;
  else if (parts.length === 2) [hostPort, port] = parts;
  else [hostIp, hostPort, port] = parts;
  return { containerPort: `${port}/${proto}`, hostIp, hostPort };
}

export class ContainerBuilder {
  private readonly c: ContainerView;
  constructor(name: string) {
    this.c = {
      id: hexId(`container:${name}:${serial++}`),
      names: name ? [`/${name}`] : [],
      image: 'busybox:latest',
      imageId: `sha256:${hexId('image:busybox:latest')}`,
      state: 'running',
      labels: {},
      portBindings: [],
      networkMode: 'default',
      exposedPorts: [],
      cpus: 0,
      memory: 0,
      created: 0,
    };
  }
  id(id: string): this { this.c.id = id; return this; }
  names(...names: string[]): this { this.c.names = names; return this; }
  image(image: string, imageId?: string): this {
    this.c.image = image;
    this.c.imageId = imageId ?? `sha256:${hexId(`image:${image}`)}`;
    return this;
  }
  state(state: string): this { this.c.state = state; return this; }
  label(key: string, value: string): this { this.c.labels = { ...this.c.labels, [key]: value }; return this; }
  /** Docker `-p` syntax (configured and observed bindings are one list in ContainerView). */
  publish(spec: string): this { this.c.portBindings = [...this.c.portBindings, parsePublish(spec)]; return this; }
  networkMode(mode: string): this { this.c.networkMode = mode; return this; }
  expose(port: string): this {
    this.c.exposedPorts = [...this.c.exposedPorts, port.includes('/') ? port : `${port}/tcp`];
    return this;
  }
  cpus(n: number): this { this.c.cpus = n; return this; }
  memory(bytes: number): this { this.c.memory = bytes; return this; }
  build(): ContainerView { return structuredClone(this.c); }
}

export function container(name = ''): ContainerBuilder {
  return new ContainerBuilder(name);
}

export class NodeBuilder {
  private readonly n: Omit<NodeView, 'usedCpus' | 'usedMemory'> & { usedCpus?: number; usedMemory?: number };
  private readonly cs: ContainerView[] = [];
  private readonly imgs: ImageView[] = [];
  constructor(name: string) {
    const addr = `127.0.0.1:${2375 + (serial++ % 1000)}`;
    this.n = {
      id: `${hexId(`engine:${name}`).slice(0, 12).toUpperCase()}|${addr}`,
      name,
      addr,
      ip: '127.0.0.1',
      labels: { storagedriver: 'vfs', kernelversion: '6.1.0', operatingsystem: 'Debian GNU/Linux 12 (bookworm)', ostype: 'linux' },
      state: 'healthy',
      healthIndicator: 100,
      totalCpus: 4,
      totalMemory: 4 * GiB,
      containers: [],
      images: [],
    };
  }
  id(id: string): this { this.n.id = id; return this; }
  addr(addr: string): this { this.n.addr = addr; return this; }
  label(key: string, value: string): this { this.n.labels = { ...this.n.labels, [key]: value }; return this; }
  labels(labels: Record<string, string>): this { this.n.labels = { ...this.n.labels, ...labels }; return this; }
  state(state: NodeState): this {
    this.n.state = state;
    if (state !== 'healthy') this.n.healthIndicator = 0;
    return this;
  }
  health(indicator: number): this { this.n.healthIndicator = indicator; return this; }
  cpus(total: number): this { this.n.totalCpus = total; return this; }
  memory(total: number): this { this.n.totalMemory = total; return this; }
  /** Reserved resources; by default the sum over the node's containers. */
  used(cpus: number, memory: number): this { this.n.usedCpus = cpus; this.n.usedMemory = memory; return this; }
  container(...cs: (ContainerView | ContainerBuilder)[]): this {
    for (const c of cs) this.cs.push(c instanceof ContainerBuilder ? c.build() : c);
    return this;
  }
  /** `n` anonymous running containers. */
  containers(n: number): this {
    for (let i = 0; i < n; i++) this.cs.push(container().build());
    return this;
  }
  /** Container with a published port (shorthand). */
  usedPorts(...ports: (number | string)[]): this {
    for (const p of ports) this.cs.push(container().publish(`${p}:${p}`).build());
    return this;
  }
  image(repoTags: string | string[], id?: string): this {
    const tags = Array.isArray(repoTags) ? repoTags : [repoTags];
    this.imgs.push({ id: id ?? `sha256:${hexId(`image:${tags[0] ?? 'none'}`)}`, repoTags: tags, repoDigests: [] });
    return this;
  }
  build(): NodeView {
    const containers = this.cs.map((c) => structuredClone(c));
    return {
      ...structuredClone(this.n),
      usedCpus: this.n.usedCpus ?? containers.reduce((s, c) => s + c.cpus, 0),
      usedMemory: this.n.usedMemory ?? containers.reduce((s, c) => s + c.memory, 0),
      containers,
      images: this.imgs.map((i) => structuredClone(i)),
    };
  }
}

export function node(name: string): NodeBuilder {
  return new NodeBuilder(name);
}

/** Builds a Docker create body and runs it through the real `buildRequest`. */
export class RequestBuilder {
  private readonly body: Record<string, unknown> & { HostConfig: Record<string, unknown> } = { Image: 'busybox', HostConfig: {} };
  private readonly envs: string[] = [];
  private readonly labels: Record<string, string> = {};
  private name = '';
  private requestId: string | undefined = 'test-request';
  private soft = true;

  id(id: string | undefined): this { this.requestId = id; return this; }
  named(name: string): this { this.name = name; return this; }
  image(image: string): this { this.body.Image = image; return this; }
  env(...entries: string[]): this { this.envs.push(...entries); return this; }
  constraint(...exprs: string[]): this { return this.env(...exprs.map((e) => `constraint:${e}`)); }
  affinity(...exprs: string[]): this { return this.env(...exprs.map((e) => `affinity:${e}`)); }
  whitelist(...exprs: string[]): this { return this.env(...exprs.map((e) => `whitelist:${e}`)); }
  label(key: string, value: string): this { this.labels[key] = value; return this; }
  /** Docker `-p` syntax. */
  publish(spec: string): this {
    const b = parsePublish(spec);
    const map = (this.body.HostConfig.PortBindings ?? {}) as Record<string, { HostIp: string; HostPort: string }[]>;
    map[b.containerPort] = [...(map[b.containerPort] ?? []), { HostIp: b.hostIp, HostPort: b.hostPort }];
    this.body.HostConfig.PortBindings = map;
    const exposed = (this.body.ExposedPorts ?? {}) as Record<string, object>;
    exposed[b.containerPort] = {};
    this.body.ExposedPorts = exposed;
    return this;
  }
  net(mode: string): this { this.body.HostConfig.NetworkMode = mode; return this; }
  expose(port: string): this {
    const exposed = (this.body.ExposedPorts ?? {}) as Record<string, object>;
    exposed[port.includes('/') ? port : `${port}/tcp`] = {};
    this.body.ExposedPorts = exposed;
    return this;
  }
  volumesFrom(...refs: string[]): this {
    this.body.HostConfig.VolumesFrom = [...((this.body.HostConfig.VolumesFrom as string[]) ?? []), ...refs];
    return this;
  }
  link(...links: string[]): this {
    this.body.HostConfig.Links = [...((this.body.HostConfig.Links as string[]) ?? []), ...links];
    return this;
  }
  cpus(n: number): this { this.body.HostConfig.CpuShares = n; return this; }
  memory(bytes: number): this { this.body.HostConfig.Memory = bytes; return this; }
  /** `enforceSoft: false`, as on the second scheduling pass. */
  secondPass(): this { this.soft = false; return this; }
  toBody(): Record<string, unknown> {
    return structuredClone({
      ...this.body,
      ...(this.envs.length ? { Env: this.envs } : {}),
      ...(Object.keys(this.labels).length ? { Labels: this.labels } : {}),
    });
  }
  build(): PlacementRequest {
    const r = buildRequest(this.toBody(), this.name, this.requestId === undefined ? {} : { id: this.requestId });
    return this.soft ? r : { ...r, enforceSoft: false };
  }
}

export function request(): RequestBuilder {
  return new RequestBuilder();
}
