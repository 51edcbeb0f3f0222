/**
 * Affinity filter (legacy `scheduler/filter/affinity.go`): place a container next to (or away
 * from) containers or images. `affinity:container==web`, `affinity:image==redis`,
 * `affinity:com.example.type==frontend` (any other key: a label of the node's containers).
 * Soft rules (`==~`) are skipped on the second scheduling pass.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseOptions, type SwarmPlugin } from '../../core/index.ts';
import { compileValue, exprKey, exprText, filterByExprs } from '../../core/expr.ts';
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

/**
 * `matchExpr(e, affinityCandidates(node, e.key))` as a predicate: the pattern is compiled once
 * per rule, and the node's strings are tested as they are produced (same strings, stopping at
 * the first match) instead of being collected into an array first.
 */
export function affinityMatcher(e: Expr): (node: NodeView) => boolean {
  const re = compileValue(e.value);
  const eq = e.operator === '==';
  if (!re) return () => !eq;
  const key = e.key;
  if (key === 'container') {
    return (node) => {
      for (const c of node.containers) {
        if (c.names.length > 0 && (re.test(c.id) || re.test(c.names[0].replace(/^\//, '')))) return eq;
      }
      return !eq;
    };
  }
  if (key === 'image') {
    // The same images (and tags) sit on most nodes: remember each tag's verdict for this rule
    // (the pattern is stateless: no g/y flag), so a tag is parsed and matched once per call.
    const tagMatches = new Map<string, boolean>();
    const tagMatch = (t: string): boolean => {
      let m = tagMatches.get(t);
      if (m === undefined) {
        m = re.test(t) || re.test(repositoryOf(t));
        tagMatches.set(t, m);
      }
      return m;
    };
    return (node) => {
      for (const img of node.images) {
        if (re.test(img.id)) return eq;
        for (const t of img.repoTags) if (tagMatch(t)) return eq;
      }
      return !eq;
    };
  }
  return (node) => {
    for (const c of node.containers) if (re.test(c.labels[key] ?? '')) return eq;
    return !eq;
  };
}

export default function affinity(options: Partial<AffinityOptions> = {}): SwarmPlugin {
  parseOptions(NAME, AffinityOptions, options);
  return {
    name: NAME,
    apply(core) {
      core.hooks.filter.tap(NAME, (candidates, request) =>
        filterByExprs(candidates, request, 'affinity', { condition: CONDITION, reason: REASON_AFFINITY, matcher: affinityMatcher, key: exprKey }));
    },
  };
}
