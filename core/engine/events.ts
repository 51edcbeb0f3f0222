/** Engine event stream parsing and the legacy event enrichment (§9). */
import type { DockerJson } from './cluster-api.ts';

export interface NodeRef {
  name: string;
  id: string;
  addr: string;
  ip: string;
}

/** Splits a newline-delimited JSON stream into objects; tolerates chunks cut anywhere. */
export function lineParser(onJson: (obj: DockerJson) => void, onBad?: (line: string) => void): (chunk: Buffer | string) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      let obj: DockerJson;
      try {
        obj = JSON.parse(line);
      } catch {
        onBad?.(line);
        continue;
      }
      onJson(obj);
    }
  };
}

function nodeAttributes(node: NodeRef): Record<string, string> {
  return { 'node.name': node.name, 'node.id': node.id, 'node.addr': node.addr, 'node.ip': node.ip };
}

/** `from` += ` node:<name>`, node.* actor attributes, and a top-level `node` object. Returns a new event. */
export function enrichEvent(event: DockerJson, node: NodeRef): DockerJson {
  const actor = event.Actor ?? {};
  return {
    ...event,
    from: `${event.from ?? ''} node:${node.name}`,
    Actor: { ...actor, ID: actor.ID ?? '', Attributes: { ...(actor.Attributes ?? {}), ...nodeAttributes(node) } },
    node: { Name: node.name, Id: node.id, Addr: node.addr, Ip: node.ip },
  };
}

export type SwarmAction = 'engine_connect' | 'engine_disconnect' | 'engine_reconnect';

/** A swarm-generated node event, shaped like the original's. */
export function swarmEvent(action: SwarmAction, node: NodeRef, now: number = Date.now()): DockerJson {
  return {
    status: action,
    id: '',
    from: 'swarm',
    Type: 'swarm',
    Action: action,
    Actor: { ID: '', Attributes: nodeAttributes(node) },
    time: Math.floor(now / 1000),
    timeNano: now * 1_000_000,
    node: { Name: node.name, Id: node.id, Addr: node.addr, Ip: node.ip },
  };
}

/** What a container event means for the cache. */
export type ContainerEventEffect = 'inspect' | 'remove' | 'images' | 'none' | 'list';

const INSPECT = new Set(['die', 'kill', 'oom', 'pause', 'start', 'restart', 'stop', 'unpause', 'rename', 'update', 'health_status']);
const NOTHING = new Set(['top', 'resize', 'export', 'exec_create', 'exec_start', 'exec_detach', 'exec_die', 'attach', 'detach',
  'extract-to-dir', 'copy', 'archive-path']);

/** Actions may carry a suffix (`health_status: healthy`, `exec_start: sh`); only the verb matters. */
export function containerEventEffect(action: string): ContainerEventEffect {
  const verb = action.split(':')[0].trim();
  if (INSPECT.has(verb)) return 'inspect';
  if (verb === 'destroy') return 'remove';
  if (verb === 'commit') return 'images';
  if (NOTHING.has(verb)) return 'none';
  return 'list';
}
