import type { DiscoveryUrl } from './types.ts';

/** Split a discovery URL into scheme and rest; no scheme means `nodes` (legacy). */
export function parseDiscoveryUrl(raw: string): DiscoveryUrl {
  const i = raw.indexOf('://');
  if (i < 0) return { raw, scheme: 'nodes', rest: raw };
  return { raw, scheme: raw.slice(0, i), rest: raw.slice(i + 3) };
}
