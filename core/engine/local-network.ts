/**
 * The automatic local-network constraint of the original (`createContainer` in
 * `cluster/swarm/cluster.go`, §4.4) and `stripNodeNamesFromNetworkingConfig` (`api/handlers.go`).
 *
 * A local-scope network exists on one engine only, so a container asking for it (by name, ID or
 * `node/name`) is steered there with a *soft* `node==~<node>` constraint, and the engine is given
 * the bare network name it knows. Endpoint keys written `node/net` by the CLI are stripped the same way.
 */
import { withRules } from '../pipeline/request.ts';
import type { CreateSpec, PlacementRequest } from '../types.ts';
import type { DockerJson } from './cluster-api.ts';

/** What the cluster's network lookup (`cluster.network(ref)`) tells about a network. */
export interface NetworkHit {
  /** Bare network name on its engine. */
  name: string;
  /** `local`, `global` or `swarm`. */
  scope: string;
  /** Name of the engine holding it. */
  nodeName: string;
}

export type NetworkLookup = (ref: string) => NetworkHit | undefined;

/**
 * Legacy `HaveNodeConstraint`: a `node==x` constraint without `~` — the user pinned the node (no
 * automatic node constraint, no image-affinity retry).
 */
export function hasHardNodeConstraint(request: PlacementRequest): boolean {
  return request.rules.constraint.some((c) => /^node\s*==\s*(?!~)/.test(c));
}

function isObject(v: unknown): v is DockerJson {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The request with the soft node constraint added (kept out when the user pinned a node) and
 * `HostConfig.NetworkMode` rewritten to the bare name, when NetworkMode names a local network.
 * Anything else (`bridge` on several engines — ambiguous —, `host`, `container:…`, global
 * networks, unknown names) is left untouched for the engine to judge.
 */
export function withLocalNetwork(request: PlacementRequest, lookup: NetworkLookup): PlacementRequest {
  const mode = request.networkMode;
  if (!mode) return request;
  const hit = lookup(mode);
  if (!hit || hit.scope !== 'local') return request;
  const rule = `node==~${hit.nodeName}`;
  // A recreated container (reschedule) already carries the rule in its labels: not added twice.
  const constrained = hasHardNodeConstraint(request) || !hit.nodeName || request.rules.constraint.includes(rule)
    ? request
    : withRules(request, 'constraint', [rule]);
  if (hit.name === mode) return constrained;
  const spec = constrained.spec as DockerJson;
  const hostConfig = isObject(spec.HostConfig) ? spec.HostConfig : {};
  return {
    ...constrained,
    networkMode: hit.name,
    spec: { ...spec, HostConfig: { ...hostConfig, NetworkMode: hit.name } },
  };
}

/**
 * `NetworkingConfig.EndpointsConfig` keys `<node>/<net>` become `<net>` when `<node>` is a known
 * node name (other keys, e.g. a network really named `a/b`, are kept). Returns the same object when
 * nothing changes. `nodeNames` is called only when some key has a `/` (listing 1,000 node names on
 * every create cost about 5% of the manager's CPU at 1,000 engines).
 */
export function stripNodeNames(spec: CreateSpec, nodeNames: () => readonly string[]): CreateSpec {
  const networking = (spec as DockerJson).NetworkingConfig;
  if (!isObject(networking) || !isObject(networking.EndpointsConfig)) return spec;
  if (!Object.keys(networking.EndpointsConfig).some((key) => key.includes('/'))) return spec;
  const names = nodeNames().filter((n) => n !== '');
  let changed = false;
  const endpoints: DockerJson = {};
  for (const [key, endpoint] of Object.entries(networking.EndpointsConfig)) {
    const node = names.find((n) => key.startsWith(`${n}/`));
    if (node) changed = true;
    endpoints[node ? key.slice(node.length + 1) : key] = endpoint;
  }
  if (!changed) return spec;
  return { ...spec, NetworkingConfig: { ...networking, EndpointsConfig: endpoints } };
}
