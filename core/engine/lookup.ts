/**
 * Legacy lookup rules over plain data: containers (§5.1), images (§5.2), networks and volumes (§5.5).
 * Each function takes candidate rows and a reference and returns the match, or undefined when the
 * reference is unknown or ambiguous.
 */
import type { ImageView } from '../types.ts';

export const SWARM_ID_LABEL = 'com.docker.swarm.id';
const SHORT_ID = 12;

/** The minimum a container row needs for lookups. */
export interface ContainerRow {
  id: string;
  names: readonly string[];
  labels: Readonly<Record<string, string>>;
  nodeId: string;
  nodeName: string;
}

function unique<T>(items: T[]): T | undefined {
  return items.length === 1 ? items[0] : undefined;
}

/**
 * ID or 12-char short ID → swarm ID (exact or short) → name (`name`, `/name`, `node/name`,
 * `nodeID/name`; several matches ⇒ not found) → unique ID prefix or swarm-ID prefix.
 */
export function findContainer<R extends ContainerRow>(rows: readonly R[], ref: string): R | undefined {
  if (!ref) return undefined;
  const byId = rows.find((r) => r.id === ref || (ref.length === SHORT_ID && r.id.slice(0, SHORT_ID) === ref));
  if (byId) return byId;

  const bySwarmId = rows.find((r) => {
    const sid = r.labels[SWARM_ID_LABEL];
    return sid !== undefined && sid !== '' && (sid === ref || (ref.length === SHORT_ID && sid.slice(0, SHORT_ID) === ref));
  });
  if (bySwarmId) return bySwarmId;

  const byName = rows.filter((r) => r.names.some((n) =>
    n === ref || n === `/${ref}` || `${r.nodeName}${n}` === ref || `${r.nodeId}${n}` === ref));
  if (byName.length > 0) return unique(byName);

  const byIdPrefix = rows.filter((r) => r.id.startsWith(ref));
  if (byIdPrefix.length > 0) return unique(byIdPrefix);
  return unique(rows.filter((r) => (r.labels[SWARM_ID_LABEL] ?? '').startsWith(ref)));
}

/** True when some row already uses `name` (compared as `name` and `/name`; no node prefix stripping). */
export function nameTaken(rows: readonly { names: readonly string[] }[], name: string): boolean {
  const slashed = name.startsWith('/') ? name : `/${name}`;
  return rows.some((r) => r.names.some((n) => n === name || n === slashed));
}

/** The legacy 409 text for a name already in use. */
export function nameConflictMessage(name: string): string {
  return `Conflict: The name ${name} is already assigned. You have to delete (or rename) that container to be able to assign ${name} to a container again.`;
}

/** `docker.io/library/busybox` and `busybox` name the same repository. */
function normalizeRepo(repo: string): string {
  return repo.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '').replace(/^library\//, '');
}

/** Split `repo[:tag][@digest]`; the tag is after the last `:` that follows the last `/`. */
export function parseReference(ref: string): { repo: string; tag?: string; digest?: string } {
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) return { repo: normalizeRepo(rest.slice(0, colon)), tag: rest.slice(colon + 1), digest };
  return { repo: normalizeRepo(rest), digest };
}

/**
 * Image match: full or ≥3-char prefix of the ID (with or without `sha256:`), `repo:tag`,
 * bare `repo` (any tag), or a digest reference (`repo@sha256:…`).
 */
export function imageMatches(image: ImageView, ref: string): boolean {
  if (!ref) return false;
  const id = image.id.replace(/^sha256:/, '');
  const bareRef = ref.replace(/^sha256:/, '');
  if (bareRef.length >= 3 && /^[0-9a-f]+$/.test(bareRef) && id.startsWith(bareRef)) return true;

  const want = parseReference(ref);
  if (want.digest) {
    return image.repoDigests.some((d) => {
      const have = parseReference(d);
      return have.digest === want.digest && (want.repo === '' || have.repo === want.repo);
    });
  }
  return image.repoTags.some((t) => {
    const have = parseReference(t);
    return have.repo === want.repo && (want.tag === undefined || have.tag === want.tag);
  });
}

/** Minimal network row for lookups. */
export interface NetworkRow {
  id: string;
  name: string;
  nodeId: string;
  nodeName: string;
}

/** exact/short ID → unique `name` / `node/name` / `nodeID/name` → `/name` → unique ID prefix. */
export function findNetwork<R extends NetworkRow>(rows: readonly R[], ref: string): R | undefined {
  if (!ref) return undefined;
  const byId = rows.find((r) => r.id === ref || (ref.length === SHORT_ID && r.id.slice(0, SHORT_ID) === ref));
  if (byId) return byId;
  const distinct = (list: R[]) => {
    // The same global network appears once per engine, with one ID: that is not ambiguity.
    const ids = new Set(list.map((r) => r.id));
    return ids.size === 1 ? list[0] : undefined;
  };
  const byName = rows.filter((r) => r.name === ref || `${r.nodeName}/${r.name}` === ref || `${r.nodeId}/${r.name}` === ref);
  if (byName.length > 0) return distinct(byName);
  if (ref.startsWith('/')) {
    const bySlash = rows.filter((r) => `/${r.name}` === ref);
    if (bySlash.length > 0) return distinct(bySlash);
  }
  const byPrefix = rows.filter((r) => r.id.startsWith(ref));
  return byPrefix.length > 0 ? distinct(byPrefix) : undefined;
}

export interface VolumeRow {
  name: string;
  driver: string;
  nodeId: string;
  nodeName: string;
}

/** `name`, `node/name`, `nodeID/name`; ambiguous ⇒ a non-`local` one (shared storage), else not found. */
export function findVolume<R extends VolumeRow>(rows: readonly R[], ref: string): R | undefined {
  if (!ref) return undefined;
  const matches = rows.filter((r) => r.name === ref || `${r.nodeName}/${r.name}` === ref || `${r.nodeId}/${r.name}` === ref);
  if (matches.length <= 1) return matches[0];
  return matches.find((r) => r.driver !== 'local');
}

/** Natural order: digit runs compare as numbers (`node-2` < `node-10`). */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
