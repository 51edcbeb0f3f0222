/**
 * `swarm join`: register an engine's address on the discovery every heartbeat, forever.
 * Registration errors are logged and the loop goes on (file/nodes backends answer
 * "not implemented"); SIGINT/SIGTERM end it.
 */
import { loadDiscoveryPlugins } from '../../config/index.ts';
import type { JoinSettings } from '../../config/flags.ts';
import { createCore } from '../core.ts';
import type { CommandContext } from './main.ts';
import { formatDuration, onShutdown, sleep } from './util.ts';

export async function runJoin(s: JoinSettings, ctx: CommandContext): Promise<void> {
  const log = ctx.logger;
  const plugins = await loadDiscoveryPlugins(ctx.loaded, s.discovery);
  const core = createCore({ plugins, logger: log, ...(ctx.loaded.filepath ? { configPath: ctx.loaded.filepath } : {}) });
  const backend = await core.discovery(s.discovery, { heartbeat: s.heartbeat, ttl: s.ttl, opts: s.discoveryOpts, logger: log, defaulted: s.defaulted });
  // the discovery plugin's own heartbeat option applies when no flag or config section set one
  const heartbeat = backend.heartbeat ?? s.heartbeat;
  const controller = new AbortController();
  const { signal } = controller;
  const offShutdown = onShutdown(() => controller.abort());

  try {
    if (s.delay > 0) {
      // Spread the first registrations of many engines started together.
      const wait = Math.random() * s.delay;
      log.info(`Add a random delay ${formatDuration(Math.round(wait))} to avoid synchronized registration`);
      await sleep(wait, signal);
    }
    while (!signal.aborted) {
      log.info({ addr: s.advertise, discovery: s.discovery }, `Registering on the discovery service every ${formatDuration(heartbeat)}...`);
      try {
        await backend.register(s.advertise);
      } catch (err) {
        // Not fatal, as in the original: the store may come back before the next heartbeat.
        log.error({ addr: s.advertise, discovery: s.discovery }, (err as Error).message);
      }
      await sleep(heartbeat, signal);
    }
  } finally {
    offShutdown();
    await backend.close?.();
    await core.close();
  }
}
