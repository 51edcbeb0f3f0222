/**
 * Whitelist filter (legacy `scheduler/filter/whitelist.go`, undocumented upstream):
 * `whitelist:node==node-1|node-3` keeps nodes whose NAME equals one of the `|`-separated parts,
 * exactly (no glob, no regex). The key text and the operator are ignored (`!=` acts like `==`),
 * as in the original. Soft (`==~`) rules are skipped on the second scheduling pass.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseOptions, type SwarmPlugin } from '../../core/index.ts';
import { exprText, filterByExprs } from '../../core/expr.ts';
import type { Expr, NodeView } from '../../core/types.ts';

export const NAME = 'filter-whitelist';
export const ERR_WHITELIST = (e: Expr) => `unable to find a node that satisfies the whitelist ${exprText(e)}`;
export const REASON_WHITELIST = ERR_WHITELIST;
export const CONDITION = (e: Expr) => `${exprText(e)} (soft=${e.soft})`;

/** Node name equals one of the `|`-separated parts (key and operator ignored, as the original). */
export function whitelistMatcher(e: Expr): (n: NodeView) => boolean {
  const names = new Set(e.value.split('|'));
  return (n) => names.has(n.name);
}

export const WhitelistOptions = Type.Object({}, { additionalProperties: false });
export type WhitelistOptions = Static<typeof WhitelistOptions>;

export default function whitelist(options: Partial<WhitelistOptions> = {}): SwarmPlugin {
  parseOptions(NAME, WhitelistOptions, options);
  return {
    name: NAME,
    apply(core) {
      core.hooks.filter.tap(NAME, (candidates, request) =>
        filterByExprs(candidates, request, 'whitelist', { condition: CONDITION, reason: REASON_WHITELIST, matcher: whitelistMatcher, key: (e) => e.value }));
    },
  };
}
