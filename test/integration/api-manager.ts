/**
 * An in-process manager for API tests: the real core with the default plugins (filters in legacy
 * order, spread), the real engine layer over the kit's engines, and `startApi` on a free port.
 * Refresh intervals are short so the cache follows engine-side changes quickly.
 */
import { pino } from 'pino';
import { createCore, type Core } from '../../core/core.ts';
import { createCluster } from '../../core/engine/index.ts';
import type { Cluster } from '../../core/engine/cluster-api.ts';
import { startApi, type ApiOptions, type ApiServer } from '../../core/api/index.ts';
import { startEngines, type TestEngine } from '../cluster/index.ts';
import health from '../../plugins/filter-health/index.ts';
import port from '../../plugins/filter-port/index.ts';
import containerslots from '../../plugins/filter-containerslots/index.ts';
import dependency from '../../plugins/filter-dependency/index.ts';
import affinity from '../../plugins/filter-affinity/index.ts';
import constraint from '../../plugins/filter-constraint/index.ts';
import whitelist from '../../plugins/filter-whitelist/index.ts';
import spread from '../../plugins/strategy-spread/index.ts';

export interface TestManager {
  /** `tcp://127.0.0.1:<port>` */
  host: string;
  engines: TestEngine[];
  core: Core;
  cluster: Cluster;
  api: ApiServer;
  stop(): Promise<void>;
}

export function defaultPlugins() {
  return [health(), port(), containerslots(), dependency(), affinity(), constraint(), whitelist(), spread()];
}

async function waitHealthy(cluster: Cluster, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const healthy = cluster.engines().filter((e) => e.state === 'healthy').length;
    if (healthy >= count) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const states = cluster.engines().map((e) => `${e.addr}=${e.state}${e.error ? ` (${e.error})` : ''}`).join(', ');
  throw new Error(`engines not healthy in time: ${states}`);
}

export async function startTestManager(opts: { engines?: TestEngine[]; api?: Partial<ApiOptions>; hosts?: string[] } = {}): Promise<TestManager> {
  const engines = opts.engines ?? (await startEngines()).engines;
  const logger = pino({ level: process.env.SWARM_TEST_LOG ?? 'silent' });
  const core = createCore({ plugins: defaultPlugins(), logger });
  const cluster = createCluster(core, {
    refreshMinInterval: 1000, refreshMaxInterval: 2000, failureRetry: 3, overcommit: 0.05, createRetry: 0, logger,
  });
  for (const e of engines) cluster.addEngine(e.addr);
  try {
    await waitHealthy(cluster, engines.length);
  } catch (err) {
    await cluster.close();
    throw err;
  }
  const api = await startApi({ core, cluster, hosts: opts.hosts ?? ['tcp://127.0.0.1:0'], logger, ...opts.api });
  return {
    host: api.addresses[0],
    engines,
    core,
    cluster,
    api,
    async stop() {
      await api.close();
      await cluster.close();
      await core.close();
    },
  };
}

/** A name unique to this test run, for containers, networks and volumes on shared engines. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
