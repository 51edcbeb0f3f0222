/**
 * The shared local cluster kit: real dockerd engines, etcd, ZooKeeper, a `swarm manage`
 * child process and the docker CLI. See test/cluster/README.md.
 */
export {
  startEngines,
  stopEngine,
  restartEngine,
  engineRunning,
  engineBridge,
  engineGet,
  sharedEngines,
  DEFAULT_LABELS,
  DEFAULT_IPS,
  type TestEngine,
  type TlsFiles,
  type StartEnginesOptions,
  type EngineGroup,
} from './engines.ts';
export { dockerCli, composeCli, type DockerCliOptions, type CliResult } from './docker-cli.ts';
export { startEtcd, startZookeeper, zkFourLetter, type StoreServer } from './stores.ts';
export { startManager, REPO_ROOT, type ManagerOptions, type ManagerProcess } from './manager.ts';
export { startRegistry, htpasswdLine, type TestRegistry, type RegistryAuth, type StartRegistryOptions } from './registry.ts';
export { isAlive } from './proc.ts';
