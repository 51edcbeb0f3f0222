/**
 * `swarm list`: read the discovery once and print its first list, one `host:port` per line.
 * `--timeout` bounds the wait (and is the backend's heartbeat, as in the original).
 */
import { loadDiscoveryPlugins } from '../../config/index.ts';
import type { ListSettings } from '../../config/flags.ts';
import { createCore } from '../core.ts';
import { SwarmError } from '../errors.ts';
import type { DiscoveryBackend } from '../types.ts';
import type { CommandContext } from './main.ts';

export async function runList(s: ListSettings, ctx: CommandContext): Promise<void> {
  const plugins = await loadDiscoveryPlugins(ctx.loaded, s.discovery);
  const core = createCore({ plugins, logger: ctx.logger, ...(ctx.loaded.filepath ? { configPath: ctx.loaded.filepath } : {}) });
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let backend: DiscoveryBackend | undefined;
  try {
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SwarmError('SWARM_ERR_DISCOVERY', 'Timed out')), s.timeout);
    });
    const first = (async () => {
      backend = await core.discovery(s.discovery, { heartbeat: s.timeout, ttl: 0, opts: s.discoveryOpts, failFast: true, logger: ctx.logger });
      for await (const entries of backend.watch(controller.signal)) return entries;
      throw new SwarmError('SWARM_ERR_DISCOVERY', 'Timed out'); // the watch ended without a list
    })();
    first.catch(() => {}); // the race below reports it; this only keeps a late rejection from being unhandled
    const entries = await Promise.race([first, timedOut]);
    process.stdout.write(entries.map((e) => `${e}\n`).join(''));
  } finally {
    clearTimeout(timer);
    controller.abort();
    await (backend as DiscoveryBackend | undefined)?.close?.();
    await core.close();
  }
}
