/**
 * The real engines parts 2 and 3 measure against: started once per run through the cluster kit
 * on the bench's own loopback IPs (127.0.0.81-83), so they never touch the shared test engines,
 * and stopped at the end of the run.
 */
import { importOrNotRun, NotRunError } from './part.ts';
import type { RunContext } from './types.ts';

export interface BenchEngine {
  name: string;
  addr: string;
  host: string;
}

const KEY = 'bench-engines';
const IPS = ['127.0.0.81', '127.0.0.82', '127.0.0.83'];

export async function benchEngines(ctx: RunContext): Promise<BenchEngine[]> {
  const cached = ctx.shared.get(KEY) as Promise<BenchEngine[]> | undefined;
  if (cached) return cached;
  const started = (async () => {
    const kit = await importOrNotRun<typeof import('../../test/cluster/index.ts')>(new URL('../../test/cluster/index.ts', import.meta.url), 'test/cluster kit');
    ctx.progress.step('starting 3 real engines (dockerd)');
    let group;
    try {
      group = await kit.startEngines({
        count: 3, reuse: false, ips: IPS, names: ['bench-1', 'bench-2', 'bench-3'],
        labels: [{ storage: 'ssd', zone: 'a' }, { storage: 'disk', zone: 'b' }, { storage: 'ssd', zone: 'b' }],
      });
    } catch (err) {
      throw new NotRunError(`could not start real engines: ${(err as Error).message.split('\n')[0]}`);
    }
    ctx.onExit(() => group.stop());
    return group.engines.map((e) => ({ name: e.name, addr: e.addr, host: e.host }));
  })();
  ctx.shared.set(KEY, started);
  return started;
}

export async function kit() {
  return importOrNotRun<typeof import('../../test/cluster/index.ts')>(new URL('../../test/cluster/index.ts', import.meta.url), 'test/cluster kit');
}

/** NotRunError unless `swarm manage` (core/cli/main.ts) exists. */
export async function requireCli(): Promise<void> {
  const { existsSync } = await import('node:fs');
  if (!existsSync(new URL('../../core/cli/main.ts', import.meta.url))) throw new NotRunError('core/cli/main.ts (swarm manage) is not written yet');
}
