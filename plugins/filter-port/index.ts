/**
 * Port filter (legacy `scheduler/filter/port.go`).
 *  - Bridge mode: for each requested host port binding, drop nodes where any container (any
 *    state, in-flight creations included) binds the same host port on the same IP or where
 *    either side binds all interfaces. The protocol is NOT compared — 53/udp and 53/tcp
 *    conflict — exactly as in the original. A binding without a host port never conflicts.
 *  - Host mode (`--net=host`): for each exposed port key (`80/tcp`), drop nodes with a
 *    host-mode container exposing the same key.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseOptions, type SwarmPlugin } from '../../core/index.ts';
import type { NodeView, PlacementRequest, PortBinding } from '../../core/types.ts';

export const NAME = 'filter-port';
export const ERR_PORT_TAKEN = (port: string) => `unable to find a node with port ${port} available`;
export const ERR_PORT_TAKEN_HOST = (port: string) => `unable to find a node with port ${port} available in the Host mode`;
export const REASON_PORT_TAKEN = ERR_PORT_TAKEN;
export const REASON_PORT_TAKEN_HOST = ERR_PORT_TAKEN_HOST;
export const CONDITION_BRIDGE = (hostPort: string) => `port ${hostPort} (Bridge mode)`;
export const CONDITION_HOST = (port: string) => `port ${port} (Host mode)`;

export const PortOptions = Type.Object({}, { additionalProperties: false });
export type PortOptions = Static<typeof PortOptions>;

function bindsAllInterfaces(b: PortBinding): boolean {
  return b.hostIp === '' || b.hostIp === '0.0.0.0' || b.hostIp === '::';
}

/** Does any container on `node` already hold the host port of `wanted`? */
export function portInUse(node: NodeView, wanted: PortBinding): boolean {
  const hostPort = wanted.hostPort;
  const hostIp = wanted.hostIp;
  const wantedAll = bindsAllInterfaces(wanted);
  for (const c of node.containers) {
    const bindings = c.portBindings;
    for (let i = 0; i < bindings.length; i++) {
      const b = bindings[i];
      // `-p 80` (no host port): the engine picks a port; observed bindings carry it. Never equal here.
      if (b.hostPort !== hostPort || b.hostPort === '') continue;
      if (b.hostIp === hostIp || wantedAll || bindsAllInterfaces(b)) return true;
    }
  }
  return false;
}

export function portExposedInHostMode(node: NodeView, port: string): boolean {
  return node.containers.some((c) => c.networkMode === 'host' && c.exposedPorts.includes(port));
}

export function conditions(request: PlacementRequest): string[] {
  return request.networkMode === 'host'
    ? request.exposedPorts.map(CONDITION_HOST)
    : request.portBindings.map((b) => CONDITION_BRIDGE(b.hostPort));
}

export default function port(options: Partial<PortOptions> = {}): SwarmPlugin {
  parseOptions(NAME, PortOptions, options);
  return {
    name: NAME,
    apply(core) {
      core.hooks.filter.tap(NAME, (candidates, request) => {
        let out = candidates.describe(conditions(request));
        if (request.networkMode === 'host') {
          for (const p of request.exposedPorts) {
            const reason = REASON_PORT_TAKEN_HOST(p);
            out = out.keepWhere(`host\0${p}`, (n) => !portExposedInHostMode(n, p), () => reason);
          }
          return out;
        }
        for (const b of request.portBindings) {
          const reason = REASON_PORT_TAKEN(b.hostPort); // one string per binding, not one per dropped node
          // the verdict depends on the host IP and port only: remembered per node across placements
          out = out.keepWhere(`bridge\0${b.hostIp}\0${b.hostPort}`, (n) => !portInUse(n, b), () => reason);
        }
        return out;
      });
    },
  };
}
