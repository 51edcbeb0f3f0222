/**
 * Read-your-writes for work the API lets run after it answered. After `start` the engine's
 * container lock is held while a short-lived container exits, so the re-inspect that refreshes the
 * cache can wait ~100 ms for nothing the client asked for: the start answers as soon as the engine
 * has, and the refresh goes on here. Routes that answer from the cache (`ps`, `/info`) wait for the
 * refreshes still in flight first, so a client that started a container and then lists sees it as
 * the engine does, exactly as when start waited itself. The wait is bounded: a refresh stuck on an
 * engine that stopped answering must not hold `ps` (the cache is then what the original showed).
 */
import type { ApiContext } from './context.ts';

/** Longest a cache read waits for refreshes in flight. */
export const SETTLE_MAX_MS = 2_000;

/** Run `work` in the background; cache reads wait for it (errors are logged, never thrown). */
export function track(ctx: ApiContext, what: string, work: Promise<unknown>): void {
  const p: Promise<void> = work.then(() => undefined, (err: unknown) => {
    ctx.log.warn({ err: (err as Error)?.message ?? String(err) }, `${what} failed`);
  }).finally(() => { ctx.settling.delete(p); });
  ctx.settling.add(p);
}

/** Resolves once the background refreshes started before this call are done (or after `maxMs`). */
export function settled(ctx: ApiContext, maxMs = SETTLE_MAX_MS): Promise<void> | undefined {
  if (ctx.settling.size === 0) return undefined;
  return within(Promise.all([...ctx.settling]).then(() => undefined), maxMs);
}

/** `work`, waited for at most `maxMs` (undefined: nothing to wait for). */
export async function within(work: Promise<void> | undefined, maxMs = SETTLE_MAX_MS): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise<void>((resolve) => { timer = setTimeout(resolve, maxMs); timer.unref(); })]);
  } finally {
    clearTimeout(timer);
  }
}
