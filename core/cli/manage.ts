/**
 * `swarm manage`: the manager. Order matters: every check that can fail (config, plugins,
 * discovery scheme, TLS files, replication support) runs before the API listens.
 *
 *   plugins (config + flags) → core → discovery backend → cluster → API → watch discovery
 *   (+ leader election with --replication); SIGINT/SIGTERM → stop all, exit 0.
 */
import type { Logger } from 'pino';
import { loadPlugins } from '../../config/index.ts';
import { loadEngineTlsFiles, loadTlsFiles, type ManageSettings } from '../../config/flags.ts';
import { startApi, type ApiServer } from '../api/index.ts';
import { createCore } from '../core.ts';
import { createCluster } from '../engine/index.ts';
import { lazyRankPool } from '../pipeline/rank-pool.ts';
import type { Cluster } from '../engine/cluster-api.ts';
import type { DiscoveryBackend } from '../types.ts';
import type { CommandContext } from './main.ts';
import { tuneHeap } from './heap.ts';
import { checkElection, startReplication } from './replication.ts';
import { onShutdown, sleep } from './util.ts';

export async function runManage(s: ManageSettings, ctx: CommandContext): Promise<void> {
  const log = ctx.logger;
  tuneHeap(); // a long-lived process whose heap would otherwise grow to ~3x its live data (heap.ts)
  for (const w of s.warnings) log.warn(w);
  const configPath = ctx.loaded.filepath;
  const tls = s.tls ? loadTlsFiles(s.tls) : undefined; // the original loads the certificates first
  // Engine-side TLS is its own setting (by default the manager's, as the original's single config).
  const engineFiles = s.engineTls ? loadEngineTlsFiles(s.engineTls) : undefined;
  const plugins = await loadPlugins(ctx.loaded, {
    ...(s.strategy !== undefined ? { strategy: s.strategy } : {}),
    ...(s.filters !== undefined ? { filters: s.filters } : {}),
    discovery: s.discovery,
  });
  const core = createCore({ plugins, logger: log, ...(configPath ? { configPath } : {}) });

  // Manage never registers itself: ttl 0, as the original.
  const backend = await core.discovery(s.discovery, { heartbeat: s.heartbeat, ttl: 0, opts: s.discoveryOpts, logger: log, defaulted: s.defaulted });
  if (s.replication) checkElection(backend);

  // Ranking moves to worker threads only for clusters large enough to gain from it (measured).
  const rankPool = lazyRankPool();
  const cluster = createCluster(core, {
    rankPool,
    refreshMinInterval: s.refreshMinInterval,
    refreshMaxInterval: s.refreshMaxInterval,
    failureRetry: s.failureRetry,
    overcommit: s.overcommit,
    createRetry: s.createRetry,
    // Engines are verified only with (engine-)tlsverify, as the original's --tls (InsecureSkipVerify).
    ...(engineFiles ? {
      engineTls: {
        ...(engineFiles.cert ? { cert: engineFiles.cert, key: engineFiles.key } : {}),
        ...(engineFiles.ca ? { ca: engineFiles.ca } : {}),
        rejectUnauthorized: engineFiles.verify,
        minVersion: 'TLSv1.2' as const,
      },
    } : {}),
    requestTimeout: s.engineTimeout,
    logger: log,
    ...(s.replication ? { role: 'replica' as const } : {}),
  });

  const controller = new AbortController();
  const { signal } = controller;
  let api: ApiServer | undefined;
  const stopAll = async () => {
    controller.abort();
    // Each step is tried even when an earlier one fails: a half-closed manager must still exit.
    for (const step of [() => api?.close(), () => cluster.close(), () => backend.close?.(), () => rankPool.close(), () => core.close()]) {
      try { await step(); } catch (err) { log.error({ err: (err as Error).message }, 'error while stopping'); }
    }
  };

  try {
    api = await startApi({
      core,
      cluster,
      hosts: s.hosts,
      ...(tls ? { tls } : {}),
      cors: s.cors,
      bodyLimit: s.apiBodyLimit,
      debug: ctx.global.debug,
      experimental: ctx.global.experimental,
      refreshOnNodeFilter: s.refreshOnNodeFilter,
      ...(s.containerNameRefreshFilter ? { containerNameRefreshFilter: s.containerNameRefreshFilter } : {}),
      logger: log,
    });
  } catch (err) {
    await stopAll();
    throw err;
  }
  log.info({ addresses: api.addresses, strategy: core.strategyName(), filters: core.filterNames() }, 'swarm manager started');

  const running = [watchDiscovery(backend, cluster, s.heartbeat, log, signal)];
  if (s.replication) {
    running.push(startReplication({
      backend, core, addr: s.advertise!, ttl: s.replicationTtl, targets: [api, cluster], logger: log, signal,
    }));
  }

  await new Promise<void>((resolve) => {
    onShutdown(async (sig) => {
      log.info(`Received ${sig}, shutting down`);
      await stopAll();
      await Promise.allSettled(running);
      resolve();
    });
  });
  process.exit(0);
}

/**
 * Feed discovery lists to the cluster: removals first, then additions (legacy order). A watch
 * that throws is restarted after the heartbeat; one that ends (static lists) is done.
 */
export async function watchDiscovery(
  backend: DiscoveryBackend, cluster: Pick<Cluster, 'addEngine' | 'removeEngine'>, retryDelay: number, log: Logger, signal: AbortSignal,
): Promise<void> {
  let previous: string[] = [];
  while (!signal.aborted) {
    try {
      for await (const entries of backend.watch(signal)) {
        const next = new Set(entries);
        const before = new Set(previous);
        for (const addr of previous) if (!next.has(addr)) cluster.removeEngine(addr);
        for (const addr of entries) if (!before.has(addr)) cluster.addEngine(addr);
        previous = [...next];
      }
      return;
    } catch (err) {
      if (signal.aborted) return;
      log.error(`Discovery error: ${(err as Error).message}`);
      await sleep(retryDelay, signal);
    }
  }
}
