/** What every route group receives: the cluster, the options and a little shared state. */
import type { Logger } from 'pino';
import type { Core } from '../core.ts';
import type { Cluster } from '../engine/cluster-api.ts';
import type { InspectCache } from './inspect-cache.ts';

export interface ApiTls {
  /** PEM text or path of the server certificate, key and CA. */
  cert: string;
  key: string;
  ca?: string;
  /** Require client certificates signed by `ca` (`--tlsverify`). */
  verify: boolean;
}

export type Role = { role: 'primary' | 'replica'; primary?: string };

export interface ApiOptions {
  core: Core;
  cluster: Cluster;
  /** `tcp://ip:port`, `ip:port`, `:port`, `unix:///path`. */
  hosts: string[];
  tls?: ApiTls;
  /** `--api-enable-cors`. */
  cors?: boolean;
  /** `--debug`: request logging and `/debug/vars`. */
  debug?: boolean;
  /** `--experimental`: `ExperimentalBuild` in /info, `Experimental` in /version. */
  experimental?: boolean;
  /** `--refresh-on-node-filter`. */
  refreshOnNodeFilter?: boolean;
  /** `--container-name-refresh-filter`. */
  containerNameRefreshFilter?: string;
  /** Max size of JSON bodies the manager parses itself (bytes). Streams (build, load, import, archive) are not limited. */
  bodyLimit?: number;
  logger?: Logger;
  /**
   * Seam for replication: when the role is `replica`, requests other than `/_ping`, `/info`,
   * `/debug…` go through this hook. Default: raw forwarding to the primary's address (see replica.ts).
   */
  forward?: import('./replica.ts').Forwarder;
}

export interface ApiContext {
  core: Core;
  cluster: Cluster;
  options: ApiOptions;
  log: Logger;
  /** Api-Version to advertise now. */
  advertised(): string;
  role(): Role;
  /** Live `/events` subscribers (NEventsListener). */
  eventListeners: number;
  /** Cache refreshes still running after their route answered (settle.ts); cache reads wait for them. */
  settling: Set<Promise<void>>;
  /** Container inspect answers kept while provably current (inspect-cache.ts). */
  inspectCache: InspectCache;
}
