// The registry of built-in plugins: short name → factory. The only list of built-ins.
// The config loader resolves a plugin name here first, then as an npm package, then as a path.
import type { PluginFactory } from '../core/index.ts';

type AnyFactory = PluginFactory<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Lazy so that loading the config does not load every backend's client library. */
export const builtins: Readonly<Record<string, () => Promise<AnyFactory>>> = Object.freeze({
  // entries are added by each plugin folder: 'short-name': () => import('./kind-name/index.ts').then((m) => m.default),
  reschedule: () => import('./failover-reschedule/index.ts').then((m) => m.default),
  spread: () => import('./strategy-spread/index.ts').then((m) => m.default),
  binpack: () => import('./strategy-binpack/index.ts').then((m) => m.default),
  random: () => import('./strategy-random/index.ts').then((m) => m.default),
  health: () => import('./filter-health/index.ts').then((m) => m.default),
  port: () => import('./filter-port/index.ts').then((m) => m.default),
  containerslots: () => import('./filter-containerslots/index.ts').then((m) => m.default),
  dependency: () => import('./filter-dependency/index.ts').then((m) => m.default),
  affinity: () => import('./filter-affinity/index.ts').then((m) => m.default),
  constraint: () => import('./filter-constraint/index.ts').then((m) => m.default),
  whitelist: () => import('./filter-whitelist/index.ts').then((m) => m.default),
  nodes: () => import('./discovery-nodes/index.ts').then((m) => m.default),
  file: () => import('./discovery-file/index.ts').then((m) => m.default),
  token: () => import('./discovery-token/index.ts').then((m) => m.default),
  etcd: () => import('./discovery-etcd/index.ts').then((m) => m.default),
  consul: () => import('./discovery-consul/index.ts').then((m) => m.default),
  zookeeper: () => import('./discovery-zookeeper/index.ts').then((m) => m.default),
});

/** Kind of each built-in, for `--filter` / `--strategy` validation and `swarm help`. */
export const builtinKinds: Readonly<Record<string, 'filter' | 'strategy' | 'discovery' | 'failover' | 'other'>> = Object.freeze({
  reschedule: 'failover',
  spread: 'strategy',
  binpack: 'strategy',
  random: 'strategy',
  health: 'filter',
  port: 'filter',
  containerslots: 'filter',
  dependency: 'filter',
  affinity: 'filter',
  constraint: 'filter',
  whitelist: 'filter',
  nodes: 'discovery',
  file: 'discovery',
  token: 'discovery',
  etcd: 'discovery',
  consul: 'discovery',
  zookeeper: 'discovery',
});
