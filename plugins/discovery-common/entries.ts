// Entry parsing shared by every discovery backend: ranges, host:port validation, list comparison.
// Mirrors the legacy vendored `docker/docker/pkg/discovery` (generator.go, entry.go).

/**
 * Expand one numeric range `[a:b]` inclusively (legacy `discovery.Generate`). The legacy regexp is
 * greedy (`\[(.+):(.+)\]`), so only one range per item is supported; a non-numeric range leaves the
 * item unchanged (it then fails host:port validation or is used verbatim).
 */
/** Most entries one `[a:b]` range may expand to (every port of one host). */
export const MAX_RANGE = 65_536;

export function expandRange(pattern: string): string[] {
  const m = /\[(.+):(.+)\]/.exec(pattern);
  if (!m) return [pattern];
  if (!/^[+-]?\d+$/.test(m[1]) || !/^[+-]?\d+$/.test(m[2])) return [pattern];
  const from = Number(m[1]);
  const to = Number(m[2]);
  // Expanded synchronously: `[1:99999999]` (a typo'd port range) blocked the manager for minutes
  // and took gigabytes. The original expanded any size.
  if (to - from + 1 > MAX_RANGE) throw new Error(`range [${m[1]}:${m[2]}] in "${pattern}" has ${to - from + 1} entries, at most ${MAX_RANGE}`);
  const out: string[] = [];
  for (let v = from; v <= to; v++) out.push(pattern.slice(0, m.index) + String(v) + pattern.slice(m.index + m[0].length));
  return out;
}

/**
 * Split `host:port` like Go's `net.SplitHostPort` (IPv6 in brackets) and return the same error
 * texts, so users see the messages the legacy manager printed.
 */
export function splitHostPort(addr: string): { host: string; port: string } {
  const fail = (why: string): never => { throw new Error(`address ${addr}: ${why}`); };
  const i = addr.lastIndexOf(':');
  if (i < 0) return fail('missing port in address');
  let host: string;
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    if (end < 0) return fail("missing ']' in address");
    if (end + 1 === addr.length) return fail('missing port in address');
    if (end + 1 !== i) return fail(addr[end + 1] === ':' ? 'too many colons in address' : 'missing port in address');
    host = addr.slice(1, end);
    if (host.includes('[') || host.includes(']')) return fail(`unexpected '[' in address`);
  } else {
    host = addr.slice(0, i);
    if (host.includes(':')) return fail('too many colons in address');
    if (host.includes('[')) return fail(`unexpected '[' in address`);
    if (host.includes(']')) return fail(`unexpected ']' in address`);
  }
  const port = addr.slice(i + 1);
  if (port.includes('[') || port.includes(']')) return fail(`unexpected '${port.includes('[') ? '[' : ']'}' in address`);
  return { host, port };
}

/** Validate one entry (legacy `discovery.NewEntry`): must be host:port. Returns it unchanged. */
export function checkEntry(addr: string): string {
  splitHostPort(addr);
  return addr;
}

/** Legacy `CreateEntries`: skip empty strings, validate the rest. Throws on the first invalid one. */
export function createEntries(addrs: readonly string[]): string[] {
  return addrs.filter((a) => a !== '').map(checkEntry);
}

/** Canonical form of a list for change detection: sorted, without duplicates. */
export function canonical(list: readonly string[]): string[] {
  return [...new Set(list)].sort();
}

export function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Parse the legacy file format: one entry per line, `#` comments (whole line or trailing), ranges. */
export function parseFileContent(content: string): string[] {
  const out: string[] = [];
  for (const raw of content.trim().split('\n')) {
    let line = raw.trim();
    if (line.startsWith('#')) continue;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash).trim();
    out.push(...expandRange(line));
  }
  return createEntries(out);
}

/** Legacy text of `Register` on backends that only read (nodes, file). */
export const ERR_NOT_IMPLEMENTED = 'not implemented in this discovery service';

/** Keep the first occurrence of each entry, in the given order. */
export function dedupe(list: readonly string[]): string[] {
  return [...new Set(list)];
}
