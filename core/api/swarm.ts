/**
 * Swarm-specific routes. `POST /swarm/plan` (our explain feature): the body is a container create
 * body, `?name=` optional; the answer is what the scheduler would do (`cluster.plan`), nothing is
 * created. Other `/swarm…` paths are swarm-mode routes and answer 404 like every unknown route.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from './context.ts';
import { readJson } from './body.ts';
import { validateCreateBody } from './validate.ts';

export default async function swarm(app: FastifyInstance, opts: { ctx: ApiContext; bodyLimit: number }): Promise<void> {
  const { ctx, bodyLimit } = opts;
  app.post('/swarm/plan', async (request) => {
    const body = await readJson(request, bodyLimit);
    validateCreateBody(body);
    const name = (request.query as Record<string, string | undefined>).name ?? '';
    return ctx.cluster.plan(body, name);
  });
}
