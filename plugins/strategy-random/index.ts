/**
 * random strategy: names its pure scorer module (./score.ts) on the `rank` hook; the core scores
 * inline or in the rank pool. No resource check (as in the original): every node gets a score.
 */
import { Type, type Static } from '@sinclair/typebox';
import { parseOptions, type SwarmPlugin } from '../../core/index.ts';
import { score } from './score.ts';

export const NAME = 'strategy-random';

export const RandomOptions = Type.Object({}, { additionalProperties: false });
export type RandomOptions = Static<typeof RandomOptions>;

export default function random(options: Partial<RandomOptions> = {}): SwarmPlugin {
  const opts = parseOptions(NAME, RandomOptions, options);
  const ref = Object.freeze({
    name: 'random',
    module: new URL('./score.ts', import.meta.url).href,
    options: opts,
    score,
    workerSafe: true,
    rowwise: true,
  });
  return {
    name: NAME,
    apply(core) {
      core.hooks.rank.tap(NAME, () => ref);
    },
  };
}
