/**
 * `GET /events`: the union of every engine's event stream plus swarm node events, as the engine
 * layer emits them (already enriched with node fields, §9). Only events after the subscription;
 * `until` ends the stream; `since` and `filters` are ignored, as in the original. A subscriber
 * that cannot keep up is dropped rather than buffered without bound.
 */
import type { FastifyInstance } from 'fastify';
import type { ClusterEvent } from '../engine/cluster-api.ts';
import type { ApiContext } from './context.ts';
import { badRequest } from './errors.ts';
import { ownHeaders } from './proxy.ts';
import { MAX_TIMER_MS } from '../plugin.ts';

/** Bytes queued for one slow subscriber before it is dropped (≈ the original's 10 000 events). */
const MAX_BUFFERED = 16 * 1024 * 1024;

/** Docker's `until`/`since` form: unix seconds, optionally with a fraction (`1700000000.5`). */
function parseUnix(name: string, v: string): number {
  if (!/^\d+(\.\d+)?$/.test(v)) throw badRequest(`invalid value for ${name}: ${v}`);
  return Number(v) * 1000;
}

export default async function events(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  app.get('/events', (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const until = q.until ? parseUnix('until', q.until) : undefined;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...ownHeaders(reply), 'content-type': 'application/json' });
    res.flushHeaders();
    ctx.eventListeners++;

    let timer: NodeJS.Timeout | undefined;
    const onEvent = (ev: ClusterEvent) => {
      if (res.writableLength > MAX_BUFFERED) {
        ctx.log.warn('dropping a slow /events subscriber');
        stop();
        res.destroy();
        return;
      }
      res.write(`${JSON.stringify(ev)}\n`);
    };
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      ctx.eventListeners--;
      ctx.cluster.events.off('event', onEvent);
      if (timer) clearTimeout(timer);
    };
    ctx.cluster.events.on('event', onEvent);
    res.on('close', stop);
    if (until !== undefined) {
      // A timer longer than 2^31-1 ms fires after 1 ms: a far `until` (docker events --until
      // 2100-01-01) ended the stream at once. Wait in steps no longer than that.
      const arm = () => {
        const left = until - Date.now();
        if (left <= 0) { stop(); res.end(); return; }
        timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      };
      arm();
    }
    return reply;
  });
}
