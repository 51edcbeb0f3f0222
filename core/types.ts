import type { Logger } from 'pino';

/**
 * The data the kernel and its plugins exchange. Everything here is plain, serialisable data:
 * filters and strategies read it, never mutate it, and it can cross into a worker thread.
 */

/** Legacy engine states, displayed verbatim (capitalised) in `docker info`. */
export type NodeState = 'pending' | 'healthy' | 'unhealthy' | 'disconnected';

/** One host port binding, as configured (`HostConfig.PortBindings`) or observed (`NetworkSettings.Ports`). */
export interface PortBinding {
  /** `80/tcp` style key of the container port. */
  containerPort: string;
  /** Host IP; '' means all interfaces (as do `0.0.0.0` and `::`). */
  hostIp: string;
  /** Host port as a string; '' means "any free port" and never conflicts. */
  hostPort: string;
}

/** A container as the scheduler sees it (running, stopped, or still being created). */
export interface ContainerView {
  id: string;
  /** Names with their leading slash, as the engine reports them (`/web`). */
  names: string[];
  /** Image reference the container was created from (`busybox:latest`). */
  image: string;
  /** Image ID (`sha256:…`). */
  imageId: string;
  /** Engine state: created, running, paused, restarting, exited, dead; 'pending' while swarm creates it. */
  state: string;
  labels: Readonly<Record<string, string>>;
  /** Configured and observed host port bindings together. */
  portBindings: PortBinding[];
  /** `HostConfig.NetworkMode` (`default`, `bridge`, `host`, `container:<id>`, a network name). */
  networkMode: string;
  /** `Config.ExposedPorts` keys (`80/tcp`). */
  exposedPorts: string[];
  /** Reserved CPUs (legacy meaning of CpuShares: a number of CPUs). */
  cpus: number;
  /** Reserved memory in bytes. */
  memory: number;
  /** Seconds since epoch. */
  created: number;
}

export interface ImageView {
  id: string;
  repoTags: string[];
  repoDigests: string[];
}

/** A node (one Docker engine) as filters and strategies see it. A snapshot: never mutated. */
export interface NodeView {
  /** `<engine ID>|<addr>` once validated; the address while pending. */
  id: string;
  /** Engine host name (`Name` from `/info`). */
  name: string;
  /** `host:port` from discovery. */
  addr: string;
  /** Resolved IP of the host part of `addr`. */
  ip: string;
  /** Built-in labels (storagedriver, kernelversion, operatingsystem, ostype) and daemon labels. */
  labels: Readonly<Record<string, string>>;
  state: NodeState;
  /** 0..100: 0 when not healthy, else `100 − failures×100/failureRetry`. */
  healthIndicator: number;
  /** Total CPUs including overcommit. */
  totalCpus: number;
  /** Total memory in bytes including overcommit. */
  totalMemory: number;
  /** CPUs reserved by all containers (any state) and in-flight creations. */
  usedCpus: number;
  /** Memory reserved by all containers (any state) and in-flight creations. */
  usedMemory: number;
  containers: readonly ContainerView[];
  images: readonly ImageView[];
}

/** One `key==value` / `key!=value` expression from a constraint, affinity or whitelist. */
export interface Expr {
  key: string;
  operator: '==' | '!=';
  /** Value with soft marker (`~`) stripped. */
  value: string;
  /** Soft (`~`): ignored on the second scheduling pass. */
  soft: boolean;
  /** The text as the user wrote it (`storage==ssd`). */
  raw: string;
}

/** The raw Docker create body (Config + HostConfig + NetworkingConfig), passed through untouched. */
export type CreateSpec = Readonly<Record<string, unknown>>;

/**
 * What is being placed. Built once per create by the core from the Docker create body
 * (env `constraint:` entries and `com.docker.swarm.*` labels), never mutated afterwards.
 */
export interface PlacementRequest {
  /** Unique per placement; seeds the tie-break RNG so a placement can be replayed. */
  id: string;
  /** Requested container name ('' when none). */
  name: string;
  image: string;
  /** CPUs to reserve (legacy: CpuShares read as a number of CPUs). */
  cpus: number;
  /** Bytes of memory to reserve. */
  memory: number;
  /** Raw rule strings by kind, as written (`storage==ssd`), merged from labels then env. */
  rules: Readonly<Record<RuleKind, readonly string[]>>;
  portBindings: PortBinding[];
  networkMode: string;
  exposedPorts: string[];
  /** Container references from `--volumes-from` (part before `:`). */
  volumesFrom: string[];
  /** Container references from `--link` (part before `:`). */
  links: string[];
  /** true on the first pass (soft rules enforced); false on the second pass (soft rules ignored). */
  enforceSoft: boolean;
  /** The create body after rule stripping; what will go to the engine before `place` taps. */
  spec: CreateSpec;
}

export type RuleKind = 'constraint' | 'affinity' | 'whitelist' | 'reschedule';
export const RULE_KINDS: readonly RuleKind[] = ['affinity', 'constraint', 'whitelist', 'reschedule'];

/** Why a node was dropped, and by whom. */
export interface Rejection {
  node: string;
  plugin: string;
  reason: string;
}

/**
 * Columnar node table given to scorers. Columns are typed arrays so they can live in a
 * SharedArrayBuffer and reach worker threads without copying.
 */
export interface NodeTable {
  count: number;
  totalCpus: Float64Array;
  totalMemory: Float64Array;
  usedCpus: Float64Array;
  usedMemory: Float64Array;
  /** 0..100 */
  health: Float64Array;
  /** Number of containers (all states + in-flight). */
  containers: Float64Array;
}

/** The part of a request a scorer may read. */
export interface ScoreRequest {
  cpus: number;
  memory: number;
}

/** What a scorer receives: score rows [from, to) of the table. */
export interface ScoreTask {
  table: NodeTable;
  from: number;
  to: number;
  request: ScoreRequest;
  options: Readonly<Record<string, unknown>>;
  /** Seed derived from the request id, for strategies that need randomness (random). */
  seed: number;
}

/**
 * A scorer module exports `score(task): ArrayLike<number>` with one value per row in [from, to):
 * 0..100 (fractions allowed), higher is better; a negative value means "does not fit".
 */
export type ScoreFn = (task: ScoreTask) => ArrayLike<number>;

/** What a strategy's `rank` tap returns: a reference to a pure scorer module. */
export interface ScorerRef {
  name: string;
  /** file: URL or absolute path of the module exporting `score`. */
  module: string;
  options: Readonly<Record<string, unknown>>;
  /** The same function, for in-thread scoring without a dynamic import. */
  score?: ScoreFn;
  /** true when the module may run in a worker thread (no I/O, no globals). */
  workerSafe?: boolean;
  /**
   * Optional fast path: true when each row's score depends only on that row's table values,
   * `request` and `options` — not on `seed`, on the row's position or on other rows (spread and
   * binpack; not random). The core may then score every node of a snapshot once per
   * (module, options, cpus, memory) and reuse those scores for later placements on it.
   */
  rowLocal?: boolean;
  /**
   * Optional fast path: true when each row's score depends only on that row's table values, its
   * row number, `request`, `options` and `seed` — so scoring rows [from, to) of a table gives the
   * same scores as scoring the whole table and cutting them out (random). The core may then
   * score every node of the snapshot in chunks beside the filters' verdicts (a fused pass,
   * core/pipeline/fused-scan.ts) instead of gathering the filtered rows first.
   */
  rowwise?: boolean;
}

/** `node` plus the ordered list of the other nodes that also fit, best first. */
export interface Placement {
  node: NodeView;
  request: PlacementRequest;
  alternatives: readonly NodeView[];
}

export type FailoverEvent =
  | { kind: 'node-down'; node: NodeView; containers: readonly ContainerView[] }
  | { kind: 'node-up'; node: NodeView }
  | { kind: 'primary-changed'; primary: string | undefined; self: string; isPrimary: boolean };

/** Options given to a discovery backend when the core asks for one. */
export interface DiscoveryOptions {
  /** Poll period for polling backends, retry back-off for watches (ms). */
  heartbeat: number;
  /** Registration TTL (ms), used by `register`. */
  ttl: number;
  /** `--discovery-opt key=value` pairs (kv.path, kv.cacertfile, …). */
  opts: Readonly<Record<string, string>>;
  /**
   * One-shot readers (`swarm list`): `watch` throws a one-line error when the store cannot be
   * read, instead of logging and retrying (the default, for `manage`).
   */
  failFast?: boolean;
  /** Logger for outage/recovery lines; defaults to `core.logger.child({ plugin })`. */
  logger?: Logger;
  /**
   * Which of `heartbeat` and `ttl` are the built-in defaults, set by nobody: a discovery plugin's
   * own `heartbeat`/`ttl` options (`etcd({ heartbeat: '20s' })`) replace those, while a value from
   * a flag or the config's manage/join/list section wins over the plugin's. Absent: none.
   */
  defaulted?: { heartbeat?: boolean; ttl?: boolean };
}

export interface DiscoveryUrl {
  /** The whole URL as the user gave it. */
  raw: string;
  /** Scheme without `://` (`etcd`); `nodes` when none was given. */
  scheme: string;
  /** Everything after `scheme://`. */
  rest: string;
}

/** Result of one leadership campaign step. */
export interface LeadershipState {
  /** Advertise address of the current leader, if known. */
  leader: string | undefined;
  isLeader: boolean;
}

export interface DiscoveryBackend {
  /** Yields the full list of `host:port` entries each time it changes. Ends when `signal` aborts. */
  watch(signal: AbortSignal): AsyncIterable<string[]>;
  /** Registers `addr` once, with the backend's TTL. Rejects with `not implemented …` where unsupported. */
  register(addr: string): Promise<void>;
  /**
   * Leader election for replicated managers (KV backends only). Yields each time leadership
   * changes; while iterating, the candidate keeps campaigning. Ends when `signal` aborts (resigns).
   */
  elect?(candidate: { addr: string; ttl: number }, signal: AbortSignal): AsyncIterable<LeadershipState>;
  /** Releases connections. Idempotent. */
  close?(): Promise<void>;
  /** The heartbeat (ms) it runs with, when its plugin's options chose it: `swarm join` re-registers at this period. */
  heartbeat?: number;
}
