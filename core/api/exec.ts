/**
 * Exec instances. `POST /containers/{name}/exec` goes to the container's engine and the new exec
 * ID is remembered so later exec calls find their engine. `POST /exec/{id}/start` with an Upgrade
 * header is hijacked (hijack.ts); without one (`docker exec -d`, API clients) it is proxied.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiContext } from './context.ts';
import { readJson } from './body.ts';
import { badRequest } from './errors.ts';
import { containerId, execOwnerOf, ownerOf } from './lookup.ts';
import { proxy } from './proxy.ts';

export const NO_EXEC_COMMAND = 'No exec command specified';

/** `POST /containers/{name}/exec` (routed here by containers.ts). */
export async function createExec(ctx: ApiContext, bodyLimit: number, request: FastifyRequest, reply: FastifyReply, ref: string): Promise<void> {
  const owner = ownerOf(ctx.cluster, ref);
  const body = await readJson(request, bodyLimit);
  const cmd = body.Cmd;
  if (cmd === undefined || cmd === null || (Array.isArray(cmd) && cmd.length === 0) || cmd === '') throw badRequest(NO_EXEC_COMMAND);
  await proxy(request, reply, {
    engine: owner.engine,
    path: `/containers/${containerId(owner)}/exec`,
    body: Buffer.from(JSON.stringify(body)),
    transformJson: (json: { Id?: string }) => {
      if (json?.Id) ctx.cluster.rememberExec(json.Id, owner);
      return json;
    },
  });
}

export default async function exec(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  type P = { Params: { id: string } };
  app.post<P>('/exec/:id/start', (request, reply) => {
    const owner = execOwnerOf(ctx.cluster, request.params.id);
    return proxy(request, reply, { engine: owner.engine, path: `/exec/${request.params.id}/start` });
  });
  app.post<P>('/exec/:id/resize', (request, reply) => {
    const owner = execOwnerOf(ctx.cluster, request.params.id);
    return proxy(request, reply, { engine: owner.engine, path: `/exec/${request.params.id}/resize` });
  });
  app.get<P>('/exec/:id/json', (request, reply) => {
    const owner = execOwnerOf(ctx.cluster, request.params.id);
    return proxy(request, reply, { engine: owner.engine, path: `/exec/${request.params.id}/json` });
  });
}
