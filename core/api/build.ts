/**
 * `POST /build` (classic builder). The node is picked by the scheduler like a container create:
 * resources from `cpushares`/`memory`, expressions from build args written as
 * `--build-arg constraint:node==node-2` (stripped from what the engine gets). The build context
 * streams to that engine; its messages come back as they are, after a first `Building on <node>`
 * line (the original set every message's `id` to the node name). BuildKit (`/grpc`, `/session`)
 * is not supported, as in the original.
 */
import type { FastifyInstance } from 'fastify';
import { SwarmError } from '../errors.ts';
import type { ApiContext } from './context.ts';
import { badRequest } from './errors.ts';
import { errorLine, fanOutStream } from './fanout.ts';
import { rawQuery } from './proxy.ts';

const RULE = /^(constraint|affinity|whitelist|reschedule):/;

/** Split build args into the ones for the engine and the scheduling expressions (as env strings). */
export function splitBuildArgs(json: string | undefined): { args: Record<string, string | null>; rules: string[] } {
  const args: Record<string, string | null> = {};
  const rules: string[] = [];
  if (!json) return { args, rules };
  let parsed: unknown;
  try { parsed = JSON.parse(json); } catch { throw badRequest(`invalid buildargs: ${json}`); }
  for (const [k, v] of Object.entries((parsed ?? {}) as Record<string, string | null>)) {
    // `--build-arg constraint:node==x` arrives as key `constraint:node`, value `=x`.
    const text = v === null || v === undefined ? k : `${k}=${v}`;
    if (RULE.test(text)) rules.push(text);
    else args[k] = v;
  }
  return { args, rules };
}

export default async function build(app: FastifyInstance, opts: { ctx: ApiContext }): Promise<void> {
  const { ctx } = opts;
  app.post('/build', async (request, reply) => {
    const params = new URLSearchParams(rawQuery(request));
    if (params.get('version') === '2') throw badRequest('BuildKit is not supported by swarm: set DOCKER_BUILDKIT=0 to use the classic builder');
    const { args, rules } = splitBuildArgs(params.get('buildargs') ?? undefined);
    const spec = {
      Image: params.get('t') ?? '',
      Env: rules,
      HostConfig: { CpuShares: Number(params.get('cpushares') ?? 0) || 0, Memory: Number(params.get('memory') ?? 0) || 0 },
    };
    const plan = await ctx.cluster.plan(spec, '');
    if (!plan.node) throw new SwarmError('SWARM_ERR_NO_SUITABLE_NODE', plan.error ?? 'no node found for the build');
    const engine = ctx.cluster.engine(plan.node.id) ?? ctx.cluster.engine(plan.node.addr);
    if (!engine) throw new SwarmError('SWARM_ERR_INTERNAL', `scheduled build on unknown node ${plan.node.name}`);
    if (params.has('buildargs')) params.set('buildargs', JSON.stringify(args));
    return fanOutStream(request, reply, {
      engines: [engine], path: '/build', query: params.toString(), withBody: true,
      // The original set every message's `id` to the node name; with the classic builder's
      // split `stream` messages that garbles the output, so the node is named once up front.
      start: (e) => ({ stream: `Building on ${e.name}\n` }),
      rewrite: (m) => m,
      finish: async ([o]) => {
        await engine.refreshImages().catch((err: unknown) => ctx.log.warn({ err }, 'image refresh after build failed'));
        // Errors already streamed by the engine are not repeated; an HTTP-level error is.
        if (o.error && !o.messages.some((m) => m.error || m.errorDetail)) return errorLine(o.error);
        return undefined;
      },
    });
  });
}
