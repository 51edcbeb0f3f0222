/**
 * Constraint filter (legacy `scheduler/filter/constraint.go`): `constraint:storage==ssd` on a
 * node label (a missing label compares as ""), `constraint:node==node-1` on the node ID
 * (`<engine ID>|<addr>`) or name. Globs, `/regex/`, `!=`, soft `==~` per core/expr.ts.
 * Soft rules are skipped on the second scheduling pass.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseOptions, type SwarmPlugin } from '../../core/index.ts';
import { compileValue, exprKey, exprText, filterByExprs } from '../../core/expr.ts';
import type { Expr, NodeView } from '../../core/types.ts';

export const NAME = 'filter-constraint';
export const ERR_CONSTRAINT = (e: Expr) => `unable to find a node that satisfies the constraint ${exprText(e)}`;
export const REASON_CONSTRAINT = ERR_CONSTRAINT;
/** Constraint conditions carry no soft suffix in the legacy listing (unlike affinity/whitelist). */
export const CONDITION = (e: Expr) => exprText(e);

export const ConstraintOptions = Type.Object({}, { additionalProperties: false });
export type ConstraintOptions = Static<typeof ConstraintOptions>;

export function constraintCandidates(node: NodeView, key: string): string[] {
  // The key is lower-cased by the parser, so a label is looked up by its lower-cased name (as in Go).
  return key === 'node' ? [node.id, node.name] : [node.labels[key] ?? ''];
}

/**
 * `matchExpr(e, constraintCandidates(node, e.key))` as a predicate with the pattern compiled
 * once per rule instead of once per node, and no per-node array.
 */
export function constraintMatcher(e: Expr): (node: NodeView) => boolean {
  const re = compileValue(e.value);
  const eq = e.operator === '==';
  if (!re) return () => !eq;
  const key = e.key;
  if (key === 'node') return (n) => (re.test(n.id) || re.test(n.name)) === eq;
  return (n) => re.test(n.labels[key] ?? '') === eq;
}

export default function constraint(options: Partial<ConstraintOptions> = {}): SwarmPlugin {
  parseOptions(NAME, ConstraintOptions, options);
  return {
    name: NAME,
    apply(core) {
      core.hooks.filter.tap(NAME, (candidates, request) =>
        filterByExprs(candidates, request, 'constraint', { condition: CONDITION, reason: REASON_CONSTRAINT, matcher: constraintMatcher, key: exprKey }));
    },
  };
}
