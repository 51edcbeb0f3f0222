/**
 * Container-slots filter: a node labelled `containerslots=N` accepts a container only while it
 * holds fewer than N containers (all states, in-flight creations included). A missing or
 * non-integer label means "no limit". Legacy `scheduler/filter/slots.go`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Candidates, parseOptions, type SwarmPlugin } from '../../core/index.ts';
import type { NodeView } from '../../core/types.ts';

export const NAME = 'filter-containerslots';
export const LABEL = 'containerslots';
/** The one condition this filter lists in the legacy error text. */
export const CONDITION = 'available container slots';
/** The legacy per-filter error; recorded as each dropped node's reason. */
export const ERR_NO_SLOTS = 'No node with enough open slots available in the cluster';
export const REASON_NO_SLOTS = (node: NodeView) =>
  `${ERR_NO_SLOTS} (${node.containers.length} containers, ${LABEL}=${node.labels[LABEL]})`;

export const ContainerSlotsOptions = Type.Object({}, { additionalProperties: false });
export type ContainerSlotsOptions = Static<typeof ContainerSlotsOptions>;

/** Go `strconv.Atoi`: optional sign, decimal digits, nothing else. */
function atoi(text: string): number | undefined {
  return /^[+-]?\d+$/.test(text) ? Number(text) : undefined;
}

export function hasFreeSlot(node: NodeView): boolean {
  const label = node.labels[LABEL];
  if (label === undefined) return true;
  const slots = atoi(label);
  return slots === undefined || node.containers.length < slots;
}

export default function containerslots(options: Partial<ContainerSlotsOptions> = {}): SwarmPlugin {
  parseOptions(NAME, ContainerSlotsOptions, options);
  return {
    name: NAME,
    apply(core) {
      core.hooks.filter.tap(NAME, (candidates) => {
        if (candidates.empty) {
          // legacy: an empty input is an error for this filter too
          return new Candidates([], {
            rejected: candidates.rejected,
            conditions: [...candidates.conditions, { plugin: candidates.plugin, conditions: [CONDITION] }],
            exhausted: candidates.exhausted ?? { plugin: candidates.plugin },
            plugin: candidates.plugin,
          });
        }
        return candidates.keepWhere('free-slot', hasFreeSlot, REASON_NO_SLOTS, { conditions: [CONDITION] });
      });
    },
  };
}
