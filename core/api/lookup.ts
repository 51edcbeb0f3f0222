/** Resolving references from URLs to cluster objects, with the original's error texts. */
import type { Cluster, ClusterContainer } from '../engine/cluster-api.ts';
import { SwarmError } from '../errors.ts';
import { notFound } from './errors.ts';

export const NO_SUCH_CONTAINER = (ref: string) => `No such container: ${ref}`;
export const UNHEALTHY_OWNER = (name: string, node: string) => `Container ${name} running on unhealthy node ${node}`;
export const EXEC_NOT_FOUND = (id: string) => `Exec ${id} not found`;

/** Container name as shown in messages: first name without its slash, else the reference. */
function displayName(c: ClusterContainer, ref: string): string {
  const n = c.container.view.names[0];
  return n ? n.replace(/^\//, '') : ref;
}

function checkHealthy(c: ClusterContainer, ref: string): ClusterContainer {
  if (c.engine.state !== 'healthy') {
    throw new SwarmError('SWARM_ERR_UNHEALTHY_NODE', UNHEALTHY_OWNER(displayName(c, ref), c.engine.name));
  }
  return c;
}

/** The container and its engine; 404 when unknown, 500 when its node is not healthy. */
export function ownerOf(cluster: Cluster, ref: string, message = NO_SUCH_CONTAINER): ClusterContainer {
  const c = cluster.container(ref);
  if (!c) throw notFound(message(ref));
  return checkHealthy(c, ref);
}

/** Owner of an exec instance (remembered when it was created through the manager). */
export function execOwnerOf(cluster: Cluster, execId: string): ClusterContainer {
  const c = cluster.execOwner(execId);
  if (!c) throw notFound(EXEC_NOT_FOUND(execId));
  return checkHealthy(c, c.container.view.id);
}

/** Full container ID for paths sent to the engine. */
export function containerId(c: ClusterContainer): string {
  return (c.container.summary?.Id as string | undefined) ?? c.container.view.id;
}
