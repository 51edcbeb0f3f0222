/**
 * Affinity filter (legacy `scheduler/filter/affinity.go`): place a container next to (or away
 * from) containers or images. `affinity:container==web`, `affinity:image==redis`,
 * `affinity:com.example.type==frontend` (any other key: a label of the node's containers).
 * Soft rules (`==~`) are skipped on the second scheduling pass.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseOptions, type SwarmPlugin } from '../../core/index.ts';
import { ExprError, exprText, matchExpr, parseExprs } from '../../core/expr.ts';
import type { Expr, NodeView } from '../../core/types.ts';

export const NAME = 'filter-affinity';
export const ERR_AFFINITY = (e: Expr) => `unable to find a node that satisfies the affinity ${exprText(e)}`;
export const REASON_AFFINITY = ERR_AFFINITY;
export const CONDITION = (e: Expr) => `${exprText(e)} (soft=${e.soft})`;

export const AffinityOptions = Type.Object({}, { additionalProperties: false });
export type AffinityOptions = Static<typeof AffinityOptions>;

/** Docker's `ParseRepositoryTag`: `repo:tag` → repo, `repo@digest` → repo, `host:5000/repo` stays. */
export function repositoryOf(ref: string): string {
  const at = ref.indexOf('@');
  if (at >= 0) return ref.slice(0, at);
  const colon = ref.lastIndexOf(':');
  if (colon < 0) return ref;
  return ref.slice(colon + 1).includes('/') ? ref : ref.slice(0, colon);
}

/** The strings an affinity expression is matched against on one node. */
export function affinityCandidates(node: NodeView, key: string): string[] {
  const out: string[] = [];
  if (key === 'container') {
    for (const c of node.containers) {
      // full ID and first name without its slash; short IDs only match through a glob
      if (c.names.length > 0) out.push(c.id, c.names[0].replace(/^\//, ''));
    }
  } else if (key === 'image') {
    for (const img of node.images) {
      out.push(img.id, ...img.repoTags, ...img.repoTags.map(repositoryOf));
    }
  } else {
    // a container without the label contributes "" (so `key!=x` holds on a node with such a container)
    for (const c of node.containers) out.push(c.labels[key] ?? '');
  }
  return out;
}

export default function affinity(options: Partial<AffinityOptions> = {}): SwarmPlugin {
  parseOptions(NAME, AffinityOptions, options);
  return {
    name: NAME,
    apply(core) {
      core.hooks.filter.tap(NAME, (candidates, request) => {
        let exprs: Expr[];
        try {
          exprs = parseExprs(request.rules.affinity);
        } catch (err) {
          if (err instanceof ExprError) return candidates.fail(err.message);
          throw err;
        }
        let out = candidates.describe(exprs.map(CONDITION));
        for (const e of exprs) {
          if (e.soft && !request.enforceSoft) continue;
          out = out.keep((n) => matchExpr(e, affinityCandidates(n, e.key)), () => REASON_AFFINITY(e));
        }
        return out;
      });
    },
  };
}
