/**
 * The engine layer: talks to every Docker engine through dockerode, keeps the cached cluster
 * state and runs the create pipeline. `createCluster` also attaches the kernel's ClusterAccess.
 */
import type { Core } from '../core.ts';
import type { Cluster } from './cluster-api.ts';
import { SwarmCluster } from './cluster.ts';
import type { ClusterOptions } from './options.ts';

export type { ClusterOptions } from './options.ts';
export { DEFAULT_CLUSTER_OPTIONS } from './options.ts';
export { SwarmCluster } from './cluster.ts';
export type * from './cluster-api.ts';

export function createCluster(core: Core, options: ClusterOptions): Cluster & SwarmCluster {
  const cluster = new SwarmCluster(core, options);
  core.attachCluster(cluster.access());
  return cluster;
}
