/**
 * The contract between the engine layer (core/engine, which talks to dockerd through dockerode
 * and keeps the cached cluster state) and its users: the API front (core/api), the manage command
 * (core/cli) and failover plugins (through ClusterAccess in core/core.ts).
 *
 * Raw Docker JSON shapes are kept as `DockerJson` on purpose: the API passes engine answers through
 * with as little re-encoding as possible (the original dropped fields newer than its vendored types).
 */
import type { EventEmitter } from 'node:events';
import type { Agent } from 'node:http';
import type { ConnectionOptions } from 'node:tls';
import type { ContainerView, CreateSpec, ImageView, NodeState, NodeView } from '../types.ts';
import type { NodeList } from '../pipeline/node-list.ts';

export type DockerJson = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Where and how to reach one engine over raw HTTP (for proxying and hijacking). */
export interface EngineEndpoint {
  host: string;
  port: number;
  /** Present when the engine speaks TLS: CA, client cert/key, servername, rejectUnauthorized. */
  tls?: ConnectionOptions;
  /** Unix socket path instead of host/port (tests may use it). */
  socketPath?: string;
  /**
   * ms the engine has to start answering a request once it is sent (`--engine-timeout`), for calls
   * made outside the engine layer (proxied and hijacked); absent = no limit.
   */
  answerTimeout?: number;
  /**
   * The engine layer's keep-alive pool for this engine: calls made outside the engine layer
   * (proxied) share its connections instead of opening their own.
   */
  agent?: Agent;
}

export interface EngineContainer {
  /** Summary as `GET /containers/json?all=1` returns it (Names, Image, State, Status, Ports, Labels, …). */
  summary: DockerJson;
  /** Last `GET /containers/{id}/json`, when fetched. */
  inspect?: DockerJson;
  /** Scheduler view, derived from the above. */
  view: ContainerView;
}

export interface EngineNetwork { raw: DockerJson }
export interface EngineVolume { raw: DockerJson }
export interface EngineImage { raw: DockerJson; view: ImageView }

/** One Docker engine (a node) and its cached state. */
export interface Engine {
  readonly addr: string;
  /** `<docker ID>|<addr>` once validated; the address while pending. */
  readonly id: string;
  readonly name: string;
  readonly ip: string;
  readonly state: NodeState;
  readonly labels: Readonly<Record<string, string>>;
  readonly cpus: number;
  readonly memory: number;
  /** Last error text shown in `└ Error` ('' when none). */
  readonly error: string;
  /** ms since epoch of the last recorded API call outcome. */
  readonly updatedAt: number;
  /** Engine `/version` Version (e.g. 20.10.24+dfsg1). */
  readonly serverVersion: string;
  /** Engine max and min API versions from `/version`. */
  readonly apiVersion: string;
  readonly minApiVersion: string;
  /** Raw `/info` and `/version` of the engine. */
  readonly info: DockerJson;
  readonly version: DockerJson;
  readonly endpoint: EngineEndpoint;
  /** 0..100 */
  healthIndicator(): number;
  containers(): readonly EngineContainer[];
  images(): readonly EngineImage[];
  networks(): readonly EngineNetwork[];
  volumes(): readonly EngineVolume[];
  /**
   * Re-inspect one container (after a mutating call); removes it from the cache if gone. With
   * `since` (from `nextSeq()` taken before the mutating call), an inspect of it that started later
   * (e.g. for the engine's event about that call) is reused instead of a second engine call.
   */
  refreshContainer(id: string, since?: number): Promise<void>;
  /** A point in the engine's call sequence, for `refreshContainer(id, since)`. */
  nextSeq?(): number;
  /**
   * `nextSeq()` point at which the engine's current `/events` stream connected; undefined while it
   * is not connected (events may then be missed).
   */
  eventsConnectedSince?(): number | undefined;
  /** Be told of each engine event as it arrives (with its `nextSeq()` point); returns the undo. */
  onEventArrival?(tap: (event: DockerJson, seq: number) => void): () => void;
  refreshContainers(): Promise<void>;
  refreshImages(): Promise<void>;
  refreshNetworks(): Promise<void>;
  refreshVolumes(): Promise<void>;
  /**
   * Record the outcome of any call made to this engine outside the engine layer (proxied requests):
   * connection-class errors count toward health, success clears them.
   */
  recordOutcome(err?: unknown): void;
}

/** A container together with the engine that holds it. */
export interface ClusterContainer {
  engine: Engine;
  container: EngineContainer;
}

/** Docker event from an engine, enriched with the node fields of the original (§9), or a swarm node event. */
export type ClusterEvent = DockerJson;

export interface CreateOptions {
  /** Base64 `X-Registry-Auth`, kept for a pull on the chosen engine. */
  authConfig?: string;
  /** Scheduling dry run: report the plan, create nothing (`POST /swarm/plan`). */
  dryRun?: boolean;
}

export interface PlanReport {
  node?: { id: string; name: string; addr: string };
  pass: 1 | 2;
  rejected: { node: string; plugin: string; reason: string }[];
  scores: { node: string; name: string; score: number }[];
  error?: string;
}

export interface Cluster {
  /**
   * Optional: replace the cache entries of containers just created through this manager, which
   * are made from their create spec until the engine's inspect comes, by that inspect now;
   * undefined when there is none.
   */
  settleCreated?(): Promise<void> | undefined;
  /** Every engine, pending ones included, naturally sorted by name. */
  engines(): readonly Engine[];
  /** Engine by ID, address or name. */
  engine(ref: string): Engine | undefined;
  /** Scheduler snapshot of all nodes (reservations include in-flight creations), as an array. */
  nodes(): readonly NodeView[];
  /** The same snapshot as the persistent list the scheduler places on (core/pipeline/node-list.ts). */
  snapshot(): NodeList;

  /** Discovery edits: add/remove engines by `host:port`. */
  addEngine(addr: string): void;
  removeEngine(addr: string): void;

  /** All cached containers of validated engines. */
  containers(): readonly ClusterContainer[];
  /**
   * Legacy lookup order: ID or 12-char short ID → swarm ID (exact/short) → name (`name`, `/name`,
   * `node/name`, `nodeID/name`; several matches ⇒ undefined) → unique ID or swarm-ID prefix.
   */
  container(ref: string): ClusterContainer | undefined;
  /** Engine that ran `POST /containers/{id}/exec` for that exec ID. */
  execOwner(execId: string): ClusterContainer | undefined;
  rememberExec(execId: string, owner: ClusterContainer): void;

  /**
   * The whole create pipeline: rule parsing, name uniqueness (409 `Conflict: …`), swarm ID,
   * filters + strategy (two passes), pending reservation, `place` taps, engine create (pull on
   * not-found), retries. Throws SwarmError with the status the API must answer.
   */
  createContainer(body: CreateSpec, name: string, options?: CreateOptions): Promise<ClusterContainer>;
  /** Explain a create without doing it. */
  plan(body: CreateSpec, name: string): Promise<PlanReport>;
  removeContainer(ref: string, options: { force: boolean; volumes: boolean }): Promise<void>;
  renameContainer(ref: string, newName: string): Promise<void>;
  startContainer(ref: string): Promise<void>;

  /** Images, networks and volumes helpers used by aggregated and fan-out routes. */
  imageOwners(ref: string): Engine[];
  /** `imageOwners(ref).length > 0` without building the list (every create asks). Optional: added later. */
  imageExists?(ref: string): boolean;
  network(ref: string): { engine: Engine; network: EngineNetwork } | undefined;
  volume(ref: string): { engine: Engine; volume: EngineVolume } | undefined;
  /** Top-ranked node for an empty request ("random engine" of the original). */
  anyEngine(): Engine | undefined;

  /** `GET /events` fan-in: 'event' with ClusterEvent; node events have Type "swarm". */
  readonly events: EventEmitter;
  /** Manager-level facts shown in `docker info`. */
  status(): { role: 'primary' | 'replica'; primary?: string; strategy: string; filters: string[] };
  /** Set by the manage command when leadership changes (replication); `status()` reports it. */
  setRole?(role: { role: 'primary' | 'replica'; primary?: string }): void;
  close(): Promise<void>;
}
