/**
 * Legacy swarm expressions (`key==value`, `key!=value`, soft with `~`), shared by the constraint,
 * affinity and whitelist filters. A line-by-line port of `scheduler/filter/expr.go`:
 * the quirks (unescaped globs, unanchored regexes, lower-cased keys) are kept on purpose,
 * because existing `docker run -e constraint:…` lines depend on them.
 */
import type { Candidates } from './pipeline/candidates.ts';
import type { Expr, NodeView, PlacementRequest, RuleKind } from './types.ts';

/** Tried in this order; the first one *contained* anywhere in the text wins. */
export const OPERATORS = ['==', '!='] as const;

export const ERR_NO_OPERATOR = 'One of operator ==, != is expected';
export const ERR_KEY = (key: string) => `Key '${key}' is invalid`;
export const ERR_VALUE = (value: string) => `Value '${value}' is invalid`;

// Go: `^(?i)[a-z_][a-z0-9\-_.]+$` — so a key has at least two characters.
const KEY_RE = /^[a-z_][a-z0-9\-_.]+$/i;
// Go: `^(?i)[=!\/]?(~)?[a-z0-9:\-_\s\.\*/\(\)\?\+\[\]\\\^\$\|]+$`. RE2's `\s` is `[\t\n\f\r ]`,
// narrower than JavaScript's, so it is spelled out. No comma: a comma never reaches a value.
const VALUE_RE = /^[=!/]?(~)?[a-z0-9:\-_\t\n\f\r .*/()?+[\]\\^$|]+$/i;

/** Thrown by `parseExpr`; `message` is the legacy text. */
export class ExprError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExprError';
  }
}

/** Parse one expression. Throws ExprError with the legacy message. */
export function parseExpr(text: string): Expr {
  for (const operator of OPERATORS) {
    const at = text.indexOf(operator);
    if (at < 0) continue;
    const key = text.slice(0, at);
    const value = text.slice(at + operator.length);
    if (!KEY_RE.test(key)) throw new ExprError(ERR_KEY(key));
    if (!VALUE_RE.test(value)) throw new ExprError(ERR_VALUE(value));
    return {
      key: key.toLowerCase(), // Go lower-cases the key, so label lookups use the lower-cased key too
      operator,
      value: value.replace(/^~+/, ''),
      soft: value.startsWith('~'),
      raw: text,
    };
  }
  throw new ExprError(ERR_NO_OPERATOR);
}

/** Parse a list; the first invalid expression throws (as the Go filters do). */
export function parseExprs(texts: readonly string[]): Expr[] {
  return texts.map(parseExpr);
}

/** `key==value` with the soft marker dropped, as the legacy error texts print it. */
export function exprText(e: Expr): string {
  return `${e.key}${e.operator}${e.value}`;
}

/** Key, operator and value: everything a matcher built from `e` depends on (the soft marker is not). */
export function exprKey(e: Expr): string {
  return `${e.key}\0${e.operator}\0${e.value}`;
}

/** `key==~value`: the expression with its soft marker, as the Go `String()` prints it. */
export function exprString(e: Expr): string {
  return `${e.key}${e.operator}${e.soft ? '~' : ''}${e.value}`;
}

/**
 * Compile the value into a JavaScript RegExp, or undefined when it is not a valid pattern
 * (the original logged the error and treated it as "no match").
 *  - `/re/` → the inside, unanchored (Go RE2 semantics: substring match).
 *  - otherwise a glob: `^` + value with `*` → `.*` + `$`; other metacharacters are NOT escaped.
 */
export function compileValue(value: string): RegExp | undefined {
  let pattern: string;
  // A lone "/" would be value[1:0] in Go (a panic); it is treated as a glob here.
  if (value.length >= 2 && value.startsWith('/') && value.endsWith('/')) pattern = value.slice(1, -1);
  else pattern = `^${value.replaceAll('*', '.*')}$`;
  return toRegExp(pattern);
}

const cache = new Map<string, RegExp | undefined>();

/** Longest pattern compiled (characters); V8 fails on first use from a few tens of thousands. */
export const MAX_PATTERN = 4096;

function toRegExp(pattern: string): RegExp | undefined {
  if (cache.has(pattern)) return cache.get(pattern);
  let source = pattern;
  let flags = '';
  // RE2 spells flags inline (`(?i)`); JavaScript only takes them as RegExp flags.
  const inline = /^\(\?([imsU]+)\)/.exec(source);
  if (inline) {
    source = source.slice(inline[0].length);
    for (const f of new Set(inline[1])) if (f !== 'U') flags += f;
  }
  let re: RegExp | undefined;
  try {
    // V8 compiles a pattern to machine code only when it is first used, and only then throws for
    // one too large (a 100,000-character glob, say) — inside a filter. RE2, the original's engine,
    // refuses large programs too; a pattern this long is taken as invalid up front.
    if (source.length > MAX_PATTERN) throw new RangeError('pattern too long');
    re = new RegExp(source, flags);
  } catch {
    re = undefined; // legacy: invalid pattern → logged, never matches
  }
  if (cache.size > 1000) cache.clear(); // bounded: values come from users
  cache.set(pattern, re);
  return re;
}

/**
 * `==`: true if ANY candidate string matches; `!=`: true if NONE matches.
 * An invalid pattern matches nothing (so `!=` with a broken regex is true, as in the original).
 */
export function matchExpr(e: Expr, candidates: readonly string[]): boolean {
  const re = compileValue(e.value);
  let matched = false;
  if (re) {
    for (const what of candidates) {
      if (re.test(what)) {
        matched = true;
        break;
      }
    }
  }
  return e.operator === '==' ? matched : !matched;
}

/** How one expression-driven filter (constraint, affinity, whitelist, or a third party's) judges a rule. */
export interface ExprFilterRule {
  /** The legacy condition text listed in the no-node error. */
  condition(e: Expr): string;
  /** Why a node was dropped by `e` (built once per rule, not once per node). */
  reason(e: Expr): string;
  /** The node test for `e`, compiled once per rule. */
  matcher(e: Expr): (node: NodeView) => boolean;
  /**
   * Optional: a text that determines `matcher(e)` completely (e.g. key, operator and value).
   * With it, each node's verdict is remembered for the node snapshot across placements
   * (`Candidates.keepWhere`); without it every node is tested on every placement.
   */
  key?(e: Expr): string;
}

/**
 * The shared skeleton of expression filters: parse the request's rules of `kind` (a parse error
 * fails this filter with the grammar's message), record their conditions, and narrow the
 * candidates rule by rule (ANDed), skipping soft rules on the second pass.
 */
export function filterByExprs(candidates: Candidates, request: PlacementRequest, kind: RuleKind, rule: ExprFilterRule): Candidates {
  let exprs: Expr[];
  try {
    exprs = parseExprs(request.rules[kind]);
  } catch (err) {
    if (err instanceof ExprError) return candidates.fail(err.message);
    throw err;
  }
  let out = candidates.describe(exprs.map(rule.condition));
  for (const e of exprs) {
    if (e.soft && !request.enforceSoft) continue;
    const reason = rule.reason(e);
    out = rule.key
      ? out.keepWhere(`${kind}\0${rule.key(e)}`, rule.matcher(e), () => reason)
      : out.keep(rule.matcher(e), () => reason);
  }
  return out;
}
