/**
 * `POST /build`. The node is picked by the scheduler like a container create: resources from
 * `cpushares`/`memory`, expressions from build args written as `--build-arg constraint:node==node-2`
 * (stripped from what the engine gets). The build context streams to that engine; its messages
 * come back as they are. Classic builder: after a first `Building on <node>` line (the original
 * set every message's `id` to the node name). BuildKit (`version=2`, as the original): messages
 * untouched, and the build's `session`/`buildid` are recorded (session.ts) so that `/session`,
 * `/build/cancel` and the context upload (`buildid=upload-request:<id>`, sent to the node of
 * build `<id>` without scheduling) reach the same engine.
 */
import type { FastifyInstance } from 'fastify';
import { SwarmError } from '../errors.ts';
import type { ApiContext } from './context.ts';
import { badRequest } from './errors.ts';
import { errorLine, fanOutStream } from './fanout.ts';
import { rawQuery } from './proxy.ts';
import { buildRegistry, engineOf, UPLOAD_REQUEST_PREFIX, type BuildNode } from './session.ts';

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
    const buildKit = params.get('version') === '2';
    const buildId = params.get('buildid') ?? '';
    const sessionId = params.get('session') ?? '';
    const registry = buildRegistry(ctx.cluster);
    let node: BuildNode;
    let done: (() => void) | undefined;
    if (buildId.startsWith(UPLOAD_REQUEST_PREFIX)) {
      // The context upload of build <id>: that build's engine waits for it (original: no scheduling).
      node = await registry.waitBuild(buildId.slice(UPLOAD_REQUEST_PREFIX.length));
    } else {
      const { args, rules } = splitBuildArgs(params.get('buildargs') ?? undefined);
      const spec = {
        Image: params.get('t') ?? '',
        Env: rules,
        HostConfig: { CpuShares: Number(params.get('cpushares') ?? 0) || 0, Memory: Number(params.get('memory') ?? 0) || 0 },
      };
      const plan = await ctx.cluster.plan(spec, '');
      if (!plan.node) throw new SwarmError('SWARM_ERR_NO_SUITABLE_NODE', plan.error ?? 'no node found for the build');
      if (params.has('buildargs')) params.set('buildargs', JSON.stringify(args));
      // Builds without IDs (the classic builder's) are not recorded: the original recorded the
      // empty ID too, refusing every later ID-less build for an hour with `build already started`.
      if (buildId || sessionId) ({ node, done } = registry.startBuild(sessionId, buildId, plan.node));
      else node = plan.node;
    }
    let engine;
    try {
      engine = engineOf(ctx.cluster, node);
    } catch (err) {
      done?.();
      throw err;
    }
    if (buildKit || done) request.log.debug({ engine: engine.name, buildId, sessionId }, 'build placed');
    return fanOutStream(request, reply, {
      engines: [engine], path: '/build', query: params.toString(), withBody: true,
      // The original set every message's `id` to the node name (classic builder only: BuildKit's
      // `moby.buildkit.trace` messages are decoded by their id). With the classic builder's split
      // `stream` messages that garbles the output, so the node is named once up front.
      start: buildKit ? undefined : (e) => ({ stream: `Building on ${e.name}\n` }),
      rewrite: (m) => m,
      finish: async ([o]) => {
        await engine.refreshImages().catch((err: unknown) => ctx.log.warn({ err }, 'image refresh after build failed'));
        // Errors already streamed by the engine are not repeated; an HTTP-level error is.
        if (o.error && !o.messages.some((m) => m.error || m.errorDetail)) return errorLine(o.error);
        return undefined;
      },
    }).finally(() => done?.());
  });
}
