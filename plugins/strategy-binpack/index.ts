/**
 * binpack strategy: names its pure scorer module (./score.ts) on the `rank` hook; the core scores
 * inline or in the rank pool. See README.md for the legacy ordering it reproduces.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseOptions, type SwarmPlugin } from '../../core/index.ts';
import { score } from './score.ts';

export const NAME = 'strategy-binpack';
/** Legacy error when no node can take the requested CPUs and memory. */
export const REASON_NO_RESOURCES = 'no resources available to schedule container';

export const BinpackOptions = Type.Object({}, { additionalProperties: false });
export type BinpackOptions = Static<typeof BinpackOptions>;

export default function binpack(options: Partial<BinpackOptions> = {}): SwarmPlugin {
  const opts = parseOptions(NAME, BinpackOptions, options);
  const ref = Object.freeze({
    name: 'binpack',
    module: new URL('./score.ts', import.meta.url).href,
    options: opts,
    score,
    workerSafe: true,
    rowLocal: true, // a row's score depends on that row and the request only: cacheable per snapshot
  });
  return {
    name: NAME,
    apply(core) {
      core.hooks.rank.tap(NAME, () => ref);
    },
  };
}
