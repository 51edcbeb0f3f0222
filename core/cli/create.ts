/**
 * `swarm create`: ask a token discovery service for a new cluster token and print it.
 * The original used the Docker Hub service (shut down in 2019); the default here is the
 * project's own token service (plugins/discovery-token/server.ts).
 */
import type { CommandContext } from './main.ts';

export async function runCreate(flags: { discoveryUrl?: string }, ctx: CommandContext): Promise<void> {
  const token = await import('../../plugins/discovery-token/index.ts');
  const base = flags.discoveryUrl ?? ctx.loaded.config.tokenService ?? token.DEFAULT_TOKEN_URL;
  const id = await token.createCluster(base);
  process.stdout.write(`${id}\n`);
  // The original's notice; the token goes alone to stdout so that `$(swarm create)` works.
  process.stderr.write('Token based discovery is now deprecated and might be removed in the future: prefer consul, etcd or zookeeper.\n');
}
