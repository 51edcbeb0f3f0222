/**
 * Derivation of scheduler views (core/types.ts) from raw engine JSON, and the list-shaped
 * container summary rebuilt from an inspect (so the cache stays consistent between full lists).
 */
import type { ContainerView, ImageView, PortBinding } from '../types.ts';
import type { DockerJson } from './cluster-api.ts';
import { sharesToCpus } from './health.ts';

type PortMap = Record<string, { HostIp?: string; HostPort?: string }[] | null> | null | undefined;

function bindingsFromMap(map: PortMap): PortBinding[] {
  const out: PortBinding[] = [];
  for (const [containerPort, list] of Object.entries(map ?? {})) {
    for (const b of list ?? []) out.push({ containerPort, hostIp: b.HostIp ?? '', hostPort: b.HostPort ?? '' });
  }
  return out;
}

/** Ports of a container list summary (`[{IP, PrivatePort, PublicPort, Type}]`), published ones only. */
function bindingsFromSummary(ports: DockerJson[] | null | undefined): PortBinding[] {
  return (ports ?? [])
    .filter((p) => p.PublicPort)
    .map((p) => ({ containerPort: `${p.PrivatePort}/${p.Type ?? 'tcp'}`, hostIp: p.IP ?? '', hostPort: String(p.PublicPort) }));
}

/** Configured (HostConfig) and observed (NetworkSettings) bindings, duplicates removed. */
export function portBindings(summary: DockerJson, inspect?: DockerJson): PortBinding[] {
  const all = inspect
    ? [...bindingsFromMap(inspect.HostConfig?.PortBindings), ...bindingsFromMap(inspect.NetworkSettings?.Ports)]
    : bindingsFromSummary(summary.Ports);
  const seen = new Set<string>();
  return all.filter((b) => {
    const key = `${b.containerPort} ${b.hostIp} ${b.hostPort}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function containerView(summary: DockerJson, inspect: DockerJson | undefined, ncpu: number): ContainerView {
  const hostConfig = inspect?.HostConfig ?? {};
  return {
    id: summary.Id,
    names: [...(summary.Names ?? [])],
    image: summary.Image ?? inspect?.Config?.Image ?? '',
    imageId: summary.ImageID ?? inspect?.Image ?? '',
    state: summary.State ?? inspect?.State?.Status ?? '',
    labels: { ...(summary.Labels ?? inspect?.Config?.Labels ?? {}) },
    portBindings: portBindings(summary, inspect),
    networkMode: hostConfig.NetworkMode ?? summary.HostConfig?.NetworkMode ?? '',
    exposedPorts: Object.keys(inspect?.Config?.ExposedPorts ?? {}),
    cpus: sharesToCpus(hostConfig.CpuShares ?? 0, ncpu),
    memory: hostConfig.Memory ?? 0,
    created: summary.Created ?? 0,
  };
}

function portsFromInspect(map: PortMap): DockerJson[] {
  const out: DockerJson[] = [];
  for (const [key, list] of Object.entries(map ?? {})) {
    const [port, type = 'tcp'] = key.split('/');
    if (!list || list.length === 0) {
      out.push({ PrivatePort: Number(port), Type: type });
      continue;
    }
    for (const b of list) {
      out.push({ IP: b.HostIp ?? '', PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type });
    }
  }
  return out;
}

/**
 * A `GET /containers/json`-shaped summary rebuilt from an inspect, keeping what only a list
 * gives (link names, Status text) from the previous summary.
 */
export function summaryFromInspect(inspect: DockerJson, previous?: DockerJson): DockerJson {
  const name: string = inspect.Name ?? '';
  // Link aliases (`/web/db`) only appear in list summaries; keep them across an inspect.
  const linkNames = (previous?.Names ?? []).filter((n: string) => n.split('/').length > 2);
  const args: string[] = inspect.Args ?? [];
  return {
    ...(previous ?? {}),
    Id: inspect.Id,
    Names: name ? [name, ...linkNames] : linkNames,
    Image: inspect.Config?.Image ?? previous?.Image ?? '',
    ImageID: inspect.Image ?? previous?.ImageID ?? '',
    Command: [inspect.Path, ...args].filter((x) => x !== undefined && x !== '').join(' '),
    Created: Math.floor(Date.parse(inspect.Created) / 1000) || previous?.Created || 0,
    Ports: portsFromInspect(inspect.NetworkSettings?.Ports),
    Labels: { ...(inspect.Config?.Labels ?? {}) },
    State: inspect.State?.Status ?? previous?.State ?? '',
    Status: previous?.Status ?? '',
    HostConfig: { ...(previous?.HostConfig ?? {}), NetworkMode: inspect.HostConfig?.NetworkMode ?? 'default' },
    NetworkSettings: { Networks: inspect.NetworkSettings?.Networks ?? {} },
    Mounts: inspect.Mounts ?? [],
  };
}

/** Shift an engine's container timestamps by the clock-skew delta (ms); returns new objects. */
export function shiftTimes(summary: DockerJson, inspect: DockerJson | undefined, delta: number): { summary: DockerJson; inspect?: DockerJson } {
  if (!delta) return { summary, inspect };
  const shiftIso = (s: unknown) => {
    if (typeof s !== 'string') return s;
    const t = Date.parse(s);
    // Zero times (`0001-01-01…`) mean "never" and stay as they are.
    return Number.isFinite(t) && t > 0 ? new Date(t + delta).toISOString() : s;
  };
  const out: { summary: DockerJson; inspect?: DockerJson } = {
    summary: { ...summary, Created: typeof summary.Created === 'number' ? summary.Created + Math.trunc(delta / 1000) : summary.Created },
  };
  if (inspect) {
    out.inspect = {
      ...inspect,
      Created: shiftIso(inspect.Created),
      State: inspect.State
        ? { ...inspect.State, StartedAt: shiftIso(inspect.State.StartedAt), FinishedAt: shiftIso(inspect.State.FinishedAt) }
        : inspect.State,
    };
  }
  return out;
}

export function imageView(raw: DockerJson): ImageView {
  return { id: raw.Id ?? '', repoTags: [...(raw.RepoTags ?? [])], repoDigests: [...(raw.RepoDigests ?? [])] };
}
