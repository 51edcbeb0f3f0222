/**
 * Health filter: keep only healthy nodes (health indicator > 0). Legacy `scheduler/filter/health.go`.
 * When nothing is left its own message is the whole scheduling error (no condition listing).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Candidates, parseOptions, type SwarmPlugin } from '../../core/index.ts';
import type { NodeView } from '../../core/types.ts';

export const NAME = 'filter-health';
/** The legacy error, shown alone instead of the condition listing. */
export const ERR_NO_HEALTHY_NODE = 'No healthy node available in the cluster';
export const REASON_UNHEALTHY = (node: NodeView) =>
  `node is not healthy (status ${node.state}, health indicator ${node.healthIndicator})`;

export const HealthOptions = Type.Object({}, { additionalProperties: false });
export type HealthOptions = Static<typeof HealthOptions>;

export default function health(options: Partial<HealthOptions> = {}): SwarmPlugin {
  parseOptions(NAME, HealthOptions, options);
  return {
    name: NAME,
    apply(core) {
      core.hooks.filter.tap(NAME, (candidates) => {
        // The original errors even when it was given no node at all.
        if (candidates.empty) {
          return new Candidates([], {
            rejected: candidates.rejected,
            conditions: candidates.conditions,
            exhausted: candidates.exhausted ?? { plugin: NAME, message: ERR_NO_HEALTHY_NODE },
            plugin: candidates.plugin,
          });
        }
        return candidates.keepWhere('healthy', (n) => n.healthIndicator > 0, REASON_UNHEALTHY, { emptyMessage: ERR_NO_HEALTHY_NODE });
      });
    },
  };
}
