/**
 * Dependency filter (legacy `scheduler/filter/dependency.go`): co-location. A node qualifies
 * only if it holds every container named by `--volumes-from`, `--link` (the part before `:`)
 * and `--net=container:<x>`. Never soft.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseOptions, type SwarmPlugin } from '../../core/index.ts';
import { hostConfigOf } from '../../core/pipeline/request.ts';
import type { ContainerView, NodeView, PlacementRequest } from '../../core/types.ts';

export const NAME = 'filter-dependency';
export const SWARM_ID_LABEL = 'com.docker.swarm.id';
export const ERR_DEPENDENCIES = (deps: string[]) => `Unable to find a node fulfilling all dependencies: ${deps.join(" ")}`;
/** Legacy error text, plus which container the node lacks. */
export const REASON_MISSING = (deps: string[], ref: string) => `${ERR_DEPENDENCIES(deps)} (no container ${ref} on the node)`;

export const DependencyOptions = Type.Object({}, { additionalProperties: false });
export type DependencyOptions = Static<typeof DependencyOptions>;

const short = (id: string) => id.slice(0, 12);

/**
 * Legacy `Containers.Get` over one node: exact or 12-char ID → exact or short swarm ID →
 * unique name (`name`, `/name`, `<node>/name`, `<nodeID>/name`) → unique ID / swarm-ID prefix.
 */
export function findContainer(node: NodeView, ref: string): ContainerView | undefined {
  if (ref === '') return undefined;
  const cs = node.containers;
  const byId = cs.find((c) => c.id === ref || short(c.id) === ref);
  if (byId) return byId;
  const swarmId = (c: ContainerView) => c.labels[SWARM_ID_LABEL] ?? '';
  const bySwarmId = cs.find((c) => swarmId(c) !== '' && (swarmId(c) === ref || short(swarmId(c)) === ref));
  if (bySwarmId) return bySwarmId;
  const byName = cs.filter((c) => c.names.some((n) => n === ref || n === `/${ref}` || node.id + n === ref || node.name + n === ref));
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) return undefined; // ambiguous
  const byPrefix = [
    ...cs.filter((c) => c.id.startsWith(ref)),
    ...cs.filter((c) => swarmId(c).startsWith(ref)), // as in Go, a container may be counted twice
  ];
  return byPrefix.length === 1 ? byPrefix[0] : undefined;
}

/** Container references the request depends on, in legacy order. */
export function dependencies(request: PlacementRequest): string[] {
  const refs = [...request.volumesFrom, ...request.links];
  if (request.networkMode.startsWith('container:')) refs.push(request.networkMode.slice('container:'.length));
  return refs;
}

/** The strings of a raw HostConfig list, or `fallback` when it is not a list. */
function raw(v: unknown, fallback: string[]): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : fallback;
}

/** Legacy descriptions: `--volumes-from=x`, `--link=x:y`, `--net=container:x` (raw texts). */
export function conditions(request: PlacementRequest): string[] {
  const hc = hostConfigOf(request);
  const out = [
    ...raw(hc.VolumesFrom, request.volumesFrom).map((v) => `--volumes-from=${v}`),
    ...raw(hc.Links, request.links).map((l) => `--link=${l}`),
  ];
  if (request.networkMode.startsWith('container:')) out.push(`--net=${request.networkMode}`);
  return out;
}

export default function dependency(options: Partial<DependencyOptions> = {}): SwarmPlugin {
  parseOptions(NAME, DependencyOptions, options);
  return {
    name: NAME,
    apply(core) {
      core.hooks.filter.tap(NAME, (candidates, request) => {
        const refs = dependencies(request);
        const conds = conditions(request);
        if (refs.length === 0) return candidates.describe(conds);
        return candidates.keepWhere(
          refs.join('\0'),
          (n) => refs.every((r) => findContainer(n, r) !== undefined),
          (n) => REASON_MISSING(conds, refs.find((r) => findContainer(n, r) === undefined)!),
          { conditions: conds },
        );
      });
    },
  };
}
