/**
 * Build a PlacementRequest from a Docker create body, as the original's `BuildContainerConfig`
 * (cluster/config.go) did: rules come from the `com.docker.swarm.*` JSON labels first, then from
 * `constraint:` / `affinity:` / `whitelist:` / `reschedule:` env entries, which are stripped from
 * Env; the merged lists are written back as labels so `docker inspect` shows them and a
 * reschedule reuses them. Legacy top-level resource fields are folded into HostConfig.
 */
import { randomBytes } from 'node:crypto';
import { SwarmError } from '../errors.ts';
import type { CreateSpec, PlacementRequest, PortBinding, RuleKind } from '../types.ts';

export const SWARM_LABEL_NAMESPACE = 'com.docker.swarm';

/** Label holding each rule kind, as a JSON array of strings. */
export const RULE_LABELS: Readonly<Record<RuleKind, string>> = Object.freeze({
  affinity: `${SWARM_LABEL_NAMESPACE}.affinities`,
  constraint: `${SWARM_LABEL_NAMESPACE}.constraints`,
  whitelist: `${SWARM_LABEL_NAMESPACE}.whitelists`,
  reschedule: `${SWARM_LABEL_NAMESPACE}.reschedule-policies`,
});

/** Order in which the original read the labels (and the order they are written back). */
const KINDS: readonly RuleKind[] = ['affinity', 'constraint', 'whitelist', 'reschedule'];

export const RESCHEDULE_POLICIES = ['on-node-failure', 'off'] as const;
export const ERR_TOO_MANY_RESCHEDULE = 'too many reschedule policies';
export const ERR_INVALID_RESCHEDULE = (policy: string) => `invalid reschedule policy: ${policy}`;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/**
 * Go's `json.Unmarshal(label, &[]string)`: invalid JSON or a non-array leaves the list empty
 * (silently); array elements that are not strings decode to "" (Go keeps going with zero values).
 */
function parseRuleLabel(text: string | undefined): string[] {
  if (text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return []; // legacy: invalid JSON is ignored without a word
  }
  if (!Array.isArray(value)) return [];
  return value.map((v) => (typeof v === 'string' ? v : ''));
}

/** Go's `json.Marshal([]string)`, which escapes <, > and & (and U+2028/2029) for HTML safety. */
export function goJsonStrings(list: readonly string[]): string {
  return JSON.stringify(list).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `constraint:storage==ssd` → ['constraint', 'storage==ssd']: split at the FIRST `:`. */
function parseEnvRule(entry: string): [RuleKind, string] | undefined {
  const at = entry.indexOf(':');
  if (at < 0) return undefined;
  const key = entry.slice(0, at);
  return (KINDS as readonly string[]).includes(key) ? [key as RuleKind, entry.slice(at + 1)] : undefined;
}

/** `HostConfig.PortBindings` (`{"80/tcp": [{HostIp, HostPort}]}`) as a flat list, in body order. */
export function portBindingsOf(map: unknown): PortBinding[] {
  const out: PortBinding[] = [];
  if (!isObject(map)) return out;
  for (const [containerPort, list] of Object.entries(map)) {
    if (!Array.isArray(list)) continue;
    for (const b of list) {
      const binding = isObject(b) ? b : {};
      out.push({
        containerPort,
        hostIp: typeof binding.HostIp === 'string' ? binding.HostIp : '',
        hostPort: typeof binding.HostPort === 'string' ? binding.HostPort : binding.HostPort == null ? '' : String(binding.HostPort),
      });
    }
  }
  return out;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Container reference of `--volumes-from c1:ro` / `--link c1:alias`: the part before the first `:`. */
function beforeColon(s: string): string {
  const at = s.indexOf(':');
  return at < 0 ? s : s.slice(0, at);
}

/** Random request id (hex); it seeds the tie-break RNG, so a given id replays the same placement. */
export function newRequestId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Parse a create body. Throws SwarmError for invalid reschedule policies (the API answered 500
 * with the bare message in the original). Expressions are NOT validated here: as in the
 * original, a bad expression fails in its filter, which reports it in the scheduling error.
 */
export function buildRequest(body: CreateSpec, name: string, opts: { id?: string } = {}): PlacementRequest {
  const src = body as Json;
  const labels: Record<string, string> = isObject(src.Labels) ? { ...(src.Labels as Record<string, string>) } : {};
  const rules: Record<RuleKind, string[]> = { affinity: [], constraint: [], whitelist: [], reschedule: [] };
  for (const kind of KINDS) rules[kind] = parseRuleLabel(labels[RULE_LABELS[kind]]);

  let env: string[] | undefined;
  if (Array.isArray(src.Env)) {
    env = [];
    for (const entry of src.Env as unknown[]) {
      const rule = typeof entry === 'string' ? parseEnvRule(entry) : undefined;
      if (rule) rules[rule[0]].push(rule[1]);
      else env.push(entry as string);
    }
  }

  let labelsChanged = false;
  for (const kind of KINDS) {
    if (rules[kind].length > 0) {
      labels[RULE_LABELS[kind]] = goJsonStrings(rules[kind]);
      labelsChanged = true;
    }
  }

  const hostConfig: Json = isObject(src.HostConfig) ? { ...src.HostConfig } : {};
  // Legacy clients (API < 1.18) sent resources at the top level; a non-zero top-level value wins.
  const legacy: [string, string][] = [['Memory', 'Memory'], ['MemorySwap', 'MemorySwap'], ['CpuShares', 'CpuShares'], ['Cpuset', 'CpusetCpus']];
  let hostChanged = false;
  for (const [top, host] of legacy) {
    const v = src[top];
    if (v !== undefined && v !== null && v !== 0 && v !== '' && v !== hostConfig[host]) {
      hostConfig[host] = v;
      hostChanged = true;
    }
  }

  const spec: Json = { ...src };
  if (env !== undefined) spec.Env = env;
  if (labelsChanged) spec.Labels = labels;
  if (hostChanged) spec.HostConfig = hostConfig;

  if (rules.reschedule.length > 1) throw new SwarmError('SWARM_ERR_BAD_REQUEST', ERR_TOO_MANY_RESCHEDULE, { statusCode: 500 });
  if (rules.reschedule.length === 1 && !(RESCHEDULE_POLICIES as readonly string[]).includes(rules.reschedule[0])) {
    throw new SwarmError('SWARM_ERR_BAD_REQUEST', ERR_INVALID_RESCHEDULE(rules.reschedule[0]), { statusCode: 500 });
  }

  return {
    id: opts.id ?? newRequestId(),
    name,
    image: typeof src.Image === 'string' ? src.Image : '',
    cpus: num(hostConfig.CpuShares),
    memory: num(hostConfig.Memory),
    rules: Object.freeze({
      affinity: Object.freeze(rules.affinity),
      constraint: Object.freeze(rules.constraint),
      whitelist: Object.freeze(rules.whitelist),
      reschedule: Object.freeze(rules.reschedule),
    }),
    portBindings: portBindingsOf(hostConfig.PortBindings),
    networkMode: typeof hostConfig.NetworkMode === 'string' ? hostConfig.NetworkMode : '',
    exposedPorts: isObject(src.ExposedPorts) ? Object.keys(src.ExposedPorts) : [],
    volumesFrom: strings(hostConfig.VolumesFrom).map(beforeColon),
    links: strings(hostConfig.Links).map(beforeColon),
    enforceSoft: true,
    spec,
  };
}

/**
 * A copy of `request` with more rules of one kind appended (automatic `ostype==…` or local
 * network `node==~…` constraints of the create pipeline), persisted in the spec labels too.
 */
export function withRules(request: PlacementRequest, kind: RuleKind, added: readonly string[]): PlacementRequest {
  if (added.length === 0) return request;
  const list = [...request.rules[kind], ...added];
  const spec = request.spec as Json;
  const labels = { ...(isObject(spec.Labels) ? (spec.Labels as Record<string, string>) : {}), [RULE_LABELS[kind]]: goJsonStrings(list) };
  return {
    ...request,
    rules: Object.freeze({ ...request.rules, [kind]: Object.freeze(list) }),
    spec: { ...spec, Labels: labels },
  };
}

/** `HostConfig` of the spec (for descriptions that need the raw text, e.g. `--link=c1:alias`). */
export function hostConfigOf(request: PlacementRequest): Json {
  const hc = (request.spec as Json).HostConfig;
  return isObject(hc) ? hc : {};
}
