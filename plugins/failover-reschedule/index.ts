// Rescheduling on node failure (the original's experimental watchdog, cluster/watchdog.go).
// A container whose reschedule policy is `on-node-failure` is recreated elsewhere when its node
// goes down, keeping its name, configuration and swarm ID; when the old node comes back, the
// stale copy left on it is removed with its volumes.
import { Type, type Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { parseDuration, parseOptions, type Core, type SwarmPlugin } from '../../core/index.ts';
import type { ContainerView, FailoverEvent, NodeView } from '../../core/types.ts';

export const NAME = 'failover-reschedule';
export const POLICY_LABEL = 'com.docker.swarm.reschedule-policies';
export const SWARM_ID_LABEL = 'com.docker.swarm.id';
export const ON_NODE_FAILURE = 'on-node-failure';

export const RescheduleOptions = Type.Object({
  /**
   * Act before any `primary-changed` event was seen. A manager without `--replication` never
   * sees one and is always the primary; with replication the election sends the first event
   * long before an engine can cross its failure threshold.
   */
  assumePrimary: Type.Boolean({ default: true }),
  /**
   * A node may report itself up before its container list is read again. Until the stale copies
   * of containers rescheduled away from it show up and are removed, the check is repeated this
   * often, for at most `staleCheckTimeout`.
   */
  staleCheckInterval: Type.Union([Type.String(), Type.Number()], { default: '1s' }),
  staleCheckTimeout: Type.Union([Type.String(), Type.Number()], { default: '2m' }),
});
export type RescheduleOptions = Static<typeof RescheduleOptions>;

/** The reschedule policies a container carries (`["on-node-failure"]`); invalid JSON counts as none, as in the original. */
export function reschedulePolicies(labels: Readonly<Record<string, string>>): string[] {
  const raw = labels[POLICY_LABEL];
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? parsed.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return []; // the original ignores a label it cannot parse, and so does the create path
  }
}

export function wantsReschedule(container: ContainerView): boolean {
  return reschedulePolicies(container.labels).includes(ON_NODE_FAILURE);
}

/** The container's own name without the slash; link aliases (`/other/alias`) are not names. */
export function containerName(container: ContainerView): string | undefined {
  const own = container.names.find((n) => !n.replace(/^\//, '').includes('/'));
  const name = own?.replace(/^\//, '');
  return name ? name : undefined;
}

export default function reschedule(options: Partial<RescheduleOptions> = {}): SwarmPlugin {
  const opts = parseOptions(NAME, RescheduleOptions, options);
  const interval = parseDuration(opts.staleCheckInterval, `${NAME} staleCheckInterval`);
  const timeout = parseDuration(opts.staleCheckTimeout, `${NAME} staleCheckTimeout`);
  return {
    name: NAME,
    apply(core) {
      const log = core.logger.child({ plugin: NAME });
      let isPrimary = opts.assumePrimary;
      // The original serialises the watchdog with a lock: a node-up must not run while the
      // containers of a node-down are still being recreated, or it would miss the new copies.
      let queue: Promise<void> = Promise.resolve();
      const serial = <T>(work: () => Promise<T>): Promise<T> => {
        const run = queue.then(work);
        queue = run.then(() => undefined, () => undefined); // the failure is reported to the caller of this run
        return run;
      };
      // Swarm IDs rescheduled away from each node whose stale copy has not been removed yet.
      const stale = new Map<string, Set<string>>();
      const timers = new Map<string, NodeJS.Timeout>();
      let closed = false;
      core.hooks.close.tap(NAME, () => {
        closed = true;
        for (const t of timers.values()) clearTimeout(t);
        timers.clear();
      });

      /** Remove duplicates on `node` now; while stale copies are still unseen, look again later. */
      const sweep = async (node: NodeView, deadline: number): Promise<void> => {
        const removed = await removeDuplicates(core, log, node);
        const left = stale.get(node.id);
        if (left) for (const id of removed) left.delete(id);
        if (!left || left.size === 0) {
          stale.delete(node.id);
          return;
        }
        if (closed || Date.now() >= deadline) {
          log.warn({ node: node.name, swarmIds: [...left] }, `stale copies of rescheduled containers not seen on ${node.name}; giving up`);
          stale.delete(node.id);
          return;
        }
        clearTimeout(timers.get(node.id));
        timers.set(node.id, setTimeout(() => {
          timers.delete(node.id);
          const now = core.cluster.nodes().find((n) => n.id === node.id);
          // Down again: the next node-up starts over.
          if (!now || now.state !== 'healthy' || !isPrimary) return;
          void serial(() => sweep(now, deadline)).catch((err) => log.error({ err }, 'duplicate check failed'));
        }, interval));
      };

      /** Reschedule what is still on unhealthy nodes and has no copy on a healthy node yet. */
      const adoptDownNodes = async (): Promise<void> => {
        const nodes = core.cluster.nodes();
        const placed = new Set<string>();
        for (const n of nodes) {
          if (n.state !== 'healthy') continue;
          for (const c of n.containers) if (c.labels[SWARM_ID_LABEL]) placed.add(c.labels[SWARM_ID_LABEL]);
        }
        for (const n of nodes) {
          if (n.state !== 'unhealthy' || !isPrimary) continue;
          const left = n.containers.filter((c) => !placed.has(c.labels[SWARM_ID_LABEL] ?? ''));
          const moved = await rescheduleNode(core, log, n, left);
          if (moved.length > 0) stale.set(n.id, new Set([...(stale.get(n.id) ?? []), ...moved]));
        }
      };

      core.hooks.failover.tapPromise(NAME, async (event: FailoverEvent) => {
        if (event.kind === 'primary-changed') {
          const became = event.isPrimary && !isPrimary;
          if (isPrimary !== event.isPrimary) log.info({ primary: event.primary }, event.isPrimary ? 'rescheduling enabled: this manager is primary' : 'rescheduling disabled: this manager is a replica');
          isPrimary = event.isPrimary;
          // Nodes that went down while another manager was primary (it may have died with them).
          // Not awaited: the election waits for this hook, and must keep renewing its lock.
          if (became) void serial(() => adoptDownNodes()).catch((err) => log.error({ err }, 'rescheduling after election failed'));
          return;
        }
        if (!isPrimary) return; // only the primary runs the watchdog
        if (event.kind === 'node-down') {
          const moved = await serial(() => rescheduleNode(core, log, event.node, event.containers));
          if (moved.length > 0) stale.set(event.node.id, new Set([...(stale.get(event.node.id) ?? []), ...moved]));
        } else {
          await serial(() => sweep(event.node, Date.now() + timeout));
        }
      });
    },
  };
}

/** Recreate the node's containers that have the policy; returns the swarm IDs that moved. */
async function rescheduleNode(core: Core, log: Logger, node: NodeView, containers: readonly ContainerView[]): Promise<string[]> {
  const cluster = core.cluster;
  const moved: string[] = [];
  for (const c of containers) {
    if (!wantsReschedule(c)) continue;
    const name = containerName(c);
    if (!name) {
      log.error({ container: c.id, node: node.name }, `Container ${c.id} has no name, cannot be rescheduled`);
      continue;
    }
    let body: Record<string, unknown>;
    try {
      // From the cache: the node is down, so its engine cannot be asked.
      body = await cluster.inspectContainer(c.id);
    } catch (err) {
      log.error({ err, container: c.id, node: node.name }, `Failed to read the configuration of container ${c.id}: ${(err as Error).message}`);
      continue;
    }
    // Free the name (and the swarm ID) so the recreation passes the uniqueness check.
    cluster.forgetContainer(node.id, c.id);
    let created: { id: string; node: NodeView };
    try {
      created = await cluster.createContainer(body, name);
    } catch (err) {
      // Put it back so the next node-down of this node retries it, as the original did.
      cluster.restoreContainer(node.id, c);
      log.error({ err, container: c.id, node: node.name }, `Failed to reschedule container ${c.id}: ${(err as Error).message}`);
      continue;
    }
    const swarmId = c.labels[SWARM_ID_LABEL];
    if (swarmId) moved.push(swarmId);
    log.info({ container: c.id, state: c.state, from: node.name, to: created.node.name, id: created.id },
      `Rescheduled container ${c.id} from ${node.name} to ${created.node.name} as ${created.id}`);
    if (c.state === 'running') {
      log.info(`Container ${c.id} was running, starting container ${created.id}`);
      try {
        await cluster.startContainer(created.id);
      } catch (err) {
        // Created but not started: the copy exists and keeps the name; the operator can start it.
        log.error({ err, container: created.id }, `Failed to start rescheduled container ${created.id}: ${(err as Error).message}`);
      }
    }
  }
  return moved;
}

/** Remove containers of `eventNode` whose swarm ID also exists on another node; returns the removed swarm IDs. */
async function removeDuplicates(core: Core, log: Logger, eventNode: NodeView): Promise<string[]> {
  const removed: string[] = [];
  const nodes = core.cluster.nodes();
  // Prefer the current snapshot: it holds what the node reported on reconnecting.
  const node = nodes.find((n) => n.id === eventNode.id) ?? eventNode;
  const elsewhere = new Set<string>();
  for (const other of nodes) {
    if (other.id === node.id) continue;
    for (const c of other.containers) {
      const swarmId = c.labels[SWARM_ID_LABEL];
      if (swarmId) elsewhere.add(swarmId);
    }
  }
  for (const c of node.containers) {
    const swarmId = c.labels[SWARM_ID_LABEL];
    if (!swarmId || !elsewhere.has(swarmId)) continue;
    try {
      await core.cluster.removeContainer(c.id, { force: true, volumes: true });
      removed.push(swarmId);
      log.info({ container: c.id, node: node.name }, `Removed duplicate container ${c.id} (swarm ID ${swarmId}) from ${node.name}`);
    } catch (err) {
      log.error({ err, container: c.id, node: node.name }, `Failed to remove duplicate container ${c.id}: ${(err as Error).message}`);
    }
  }
  return removed;
}
