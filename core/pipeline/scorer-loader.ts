/**
 * Loading a scorer module inside a worker thread (rank-worker.ts, kernel-worker.ts), once per
 * module. On Node 20, tsx's ESM hooks are not active inside worker threads (its CommonJS hook
 * is, which is how piscina loads the workers), so a `.ts` scorer that `import()` rejects with
 * ERR_UNKNOWN_FILE_EXTENSION is loaded through `require` instead.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ScoreFn } from '../types.ts';

const scorers = new Map<string, Promise<ScoreFn>>();

async function load(module: string): Promise<{ score?: ScoreFn }> {
  try {
    return (await import(module)) as { score?: ScoreFn };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
    const path = module.startsWith('file:') ? fileURLToPath(module) : module;
    return createRequire(import.meta.url)(path) as { score?: ScoreFn };
  }
}

export function loadScoreFn(module: string): Promise<ScoreFn> {
  let p = scorers.get(module);
  if (!p) {
    p = load(module).then((m) => {
      if (typeof m.score !== 'function') throw new Error(`scorer module ${module} does not export a score function`);
      return m.score;
    });
    scorers.set(module, p);
  }
  return p;
}
