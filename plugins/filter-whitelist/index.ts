/**
 * Whitelist filter (legacy `scheduler/filter/whitelist.go`, undocumented upstream):
 * `whitelist:node==node-1|node-3` keeps nodes whose NAME equals one of the `|`-separated parts,
 * exactly (no glob, no regex). The key text and the operator are ignored (`!=` acts like `==`),
 * as in the original. Soft (`==~`) rules are skipped on the second scheduling pass.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseOptions, type SwarmPlugin } from '../../core/index.ts';
import { ExprError, exprText, parseExprs } from '../../core/expr.ts';
import type { Expr } from '../../core/types.ts';

export const NAME = 'filter-whitelist';
export const ERR_WHITELIST = (e: Expr) => `unable to find a node that satisfies the whitelist ${exprText(e)}`;
export const REASON_WHITELIST = ERR_WHITELIST;
export const CONDITION = (e: Expr) => `${exprText(e)} (soft=${e.soft})`;

export const WhitelistOptions = Type.Object({}, { additionalProperties: false });
export type WhitelistOptions = Static<typeof WhitelistOptions>;

export default function whitelist(options: Partial<WhitelistOptions> = {}): SwarmPlugin {
  parseOptions(NAME, WhitelistOptions, options);
  return {
    name: NAME,
    apply(core) {
      core.hooks.filter.tap(NAME, (candidates, request) => {
        let exprs: Expr[];
        try {
          exprs = parseExprs(request.rules.whitelist);
        } catch (err) {
          if (err instanceof ExprError) return candidates.fail(err.message);
          throw err;
        }
        let out = candidates.describe(exprs.map(CONDITION));
        for (const e of exprs) {
          if (e.soft && !request.enforceSoft) continue;
          const names = new Set(e.value.split('|'));
          const reason = REASON_WHITELIST(e); // one string per rule, not one per dropped node
          out = out.keep((n) => names.has(n.name), () => reason);
        }
        return out;
      });
    },
  };
}
