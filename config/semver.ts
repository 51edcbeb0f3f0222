/**
 * Just enough of npm's semver range grammar to check a plugin's `peerDependencies.swarm` against
 * our version: `*`, `x` ranges, exact versions, comparators (`>=1.2 <2`), `^`, `~`, hyphen ranges
 * and `||`. Prerelease tags on the range are compared on the numeric part only: swarm itself never
 * ships prereleases, so they cannot change the answer for our own version.
 */

type Triple = [number, number, number];
/** A partial version: `1`, `1.2`, `1.x` → missing/wild parts are undefined. */
type Partial3 = [number | undefined, number | undefined, number | undefined];

function parsePartial(text: string): Partial3 | undefined {
  const m = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(text);
  if (!m) return undefined;
  const part = (s: string | undefined) => (s === undefined || /^[xX*]$/.test(s) ? undefined : Number(s));
  const out: Partial3 = [part(m[1]), part(m[2]), part(m[3])];
  // `1.x.3` is not a version: once a part is wild, the rest must be too.
  if (out[0] === undefined && (out[1] !== undefined || out[2] !== undefined)) return undefined;
  if (out[1] === undefined && out[2] !== undefined) return undefined;
  return out;
}

function cmp(a: Triple, b: Triple): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

type Test = (v: Triple) => boolean;
const lower = (p: Partial3): Triple => [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0];

/** `[lo, hi)` bounds of a partial version: `1.2` → [1.2.0, 1.3.0). */
function bounds(p: Partial3): [Triple, Triple | undefined] {
  const lo = lower(p);
  if (p[0] === undefined) return [lo, undefined];
  if (p[1] === undefined) return [lo, [p[0] + 1, 0, 0]];
  if (p[2] === undefined) return [lo, [p[0], p[1] + 1, 0]];
  return [lo, [p[0], p[1], p[2] + 1]];
}

function comparator(token: string): Test | undefined {
  const m = /^(\^|~>?|>=|<=|>|<|=)?\s*(.*)$/.exec(token);
  if (!m) return undefined;
  const op = m[1] ?? '';
  const p = parsePartial(m[2]!);
  if (!p) return undefined;
  const [lo, hi] = bounds(p);
  switch (op) {
    case '': case '=':
      return (v) => cmp(v, lo) >= 0 && (hi === undefined || cmp(v, hi) < 0);
    case '>=': return (v) => cmp(v, lo) >= 0;
    case '<': return (v) => cmp(v, lo) < 0;
    case '>': return (v) => (hi === undefined ? false : cmp(v, hi) >= 0);
    case '<=': return (v) => hi === undefined || cmp(v, hi) < 0;
    case '~': case '~>': {
      // ~1.2.3 := >=1.2.3 <1.3.0; ~1 := >=1.0.0 <2.0.0
      const top: Triple | undefined = p[0] === undefined ? undefined
        : p[1] === undefined ? [p[0] + 1, 0, 0] : [p[0], p[1] + 1, 0];
      return (v) => cmp(v, lo) >= 0 && (top === undefined || cmp(v, top) < 0);
    }
    case '^': {
      // ^ allows changes that do not modify the left-most non-zero part.
      let top: Triple | undefined;
      if (p[0] === undefined) top = undefined;
      else if (p[0] > 0 || p[1] === undefined) top = [p[0] + 1, 0, 0];
      else if (p[1] > 0 || p[2] === undefined) top = [0, p[1] + 1, 0];
      else top = [0, 0, p[2] + 1];
      return (v) => cmp(v, lo) >= 0 && (top === undefined || cmp(v, top) < 0);
    }
    default: return undefined;
  }
}

/** One `||` alternative: space-separated comparators that must all hold, or a hyphen range. */
function conjunction(text: string): Test | undefined {
  const t = text.trim();
  if (t === '' || t === '*') return () => true;
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(t);
  if (hyphen) {
    const a = parsePartial(hyphen[1]!);
    const b = parsePartial(hyphen[2]!);
    if (!a || !b) return undefined;
    const lo = lower(a);
    const hi = bounds(b)[1];
    return (v) => cmp(v, lo) >= 0 && (hi === undefined || cmp(v, hi) < 0);
  }
  // `>= 1.2` is one comparator: glue operators to their operand before splitting.
  const tokens = t.replace(/(\^|~>?|>=|<=|>|<|=)\s+/g, '$1').split(/\s+/);
  const tests = tokens.map(comparator);
  if (tests.some((x) => x === undefined)) return undefined;
  return (v) => tests.every((f) => f!(v));
}

/** Does `version` (x.y.z) satisfy `range`? Throws on a range it cannot read. */
export function satisfies(version: string, range: string): boolean {
  const p = parsePartial(version);
  if (!p || p.some((x) => x === undefined)) throw new Error(`invalid version "${version}"`);
  const v = p as Triple;
  const alternatives = range.split('||').map(conjunction);
  if (alternatives.some((a) => a === undefined)) throw new Error(`invalid semver range "${range}"`);
  return alternatives.some((a) => a!(v));
}
