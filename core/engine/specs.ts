/** Reading an engine's identity, resources and labels from its `/info` (legacy `updateSpecs`). */
import type { DockerJson } from './cluster-api.ts';

export interface EngineSpecs {
  dockerId: string;
  name: string;
  cpus: number;
  memory: number;
  labels: Record<string, string>;
  /** Warnings for ignored daemon labels (logged by the caller). */
  warnings: string[];
}

/** Built-in labels taken from `/info`; daemon labels may not override them. */
const BUILTIN_LABELS: readonly [string, string][] = [
  ['storagedriver', 'Driver'],
  ['kernelversion', 'KernelVersion'],
  ['operatingsystem', 'OperatingSystem'],
  ['ostype', 'OSType'],
];

export function notAnEngineMessage(addr: string): string {
  return `cannot get resources for this engine, make sure ${addr} is a Docker Engine, not a Swarm manager`;
}

/** Throws with the legacy text when the engine reports no resources or an unparsable daemon label. */
export function readSpecs(info: DockerJson, addr: string): EngineSpecs {
  if (!info.NCPU || !info.MemTotal) throw new Error(notAnEngineMessage(addr));
  const labels: Record<string, string> = {};
  const warnings: string[] = [];
  for (const [label, field] of BUILTIN_LABELS) {
    if (typeof info[field] === 'string' && info[field] !== '') labels[label] = info[field];
  }
  for (const raw of (info.Labels ?? []) as string[]) {
    const eq = raw.indexOf('=');
    if (eq < 0) {
      throw new Error(`Engine (ID: ${info.ID}, Addr: ${addr}) contains an invalid label (${raw}) not formatted as "key=value".`);
    }
    const key = raw.slice(0, eq);
    const value = raw.slice(eq + 1);
    // A daemon label `node` would shadow the node name in `constraint:node==…`.
    if (key === 'node') {
      warnings.push(`Engine (ID: ${info.ID}, Addr: ${addr}) containers a label (${raw}) with key of "node" which cannot be used in Swarm.`);
      continue;
    }
    if (BUILTIN_LABELS.some(([k]) => k === key)) {
      warnings.push(`Engine (ID: ${info.ID}, Addr: ${addr}) tried to override the reserved label ${key}; ignored.`);
      continue;
    }
    labels[key] = value;
  }
  return { dockerId: String(info.ID ?? ''), name: String(info.Name ?? ''), cpus: info.NCPU, memory: info.MemTotal, labels, warnings };
}

/** Legacy text when a validated engine comes back with a different daemon ID. */
export function idChangedMessage(oldId: string, addr: string, newId: string): string {
  return `Engine (ID: ${oldId}, Addr: ${addr}) shows up with another ID:${newId}. Please remove it from cluster, it can be added back.`;
}

export function duplicateIdMessage(id: string, addr: string, otherAddr: string): string {
  return `ID duplicated. ${id} shared by this node ${addr} and another node ${otherAddr}`;
}
