// The public extension surface. Change it together with core/README.md.
import { AsyncSeriesBailHook, AsyncSeriesHook, AsyncSeriesWaterfallHook, HookMap, SyncBailHook } from 'tapable';
import type { Candidates } from './pipeline/candidates.ts';
import type {
  CreateSpec, DiscoveryBackend, DiscoveryOptions, DiscoveryUrl, FailoverEvent, Placement,
  PlacementRequest, ScorerRef,
} from './types.ts';

export function createHooks() {
  return Object.freeze({
    /** Claim a discovery URL for its scheme and return the backend. First claim wins. */
    discover: new HookMap((scheme: string) =>
      new AsyncSeriesBailHook<[DiscoveryUrl, DiscoveryOptions], DiscoveryBackend | undefined>(
        ['url', 'options'], `discover:${scheme}`)),
    /** Narrow the candidates. Return a new Candidates; never add a node. */
    filter: new AsyncSeriesWaterfallHook<[Candidates, PlacementRequest]>(['candidates', 'request'], 'filter'),
    /** The single strategy names its scorer module. */
    rank: new SyncBailHook<[PlacementRequest], ScorerRef | undefined>(['request'], 'rank'),
    /** Amend the create spec for the chosen node. Never call the engine here. */
    place: new AsyncSeriesWaterfallHook<[CreateSpec, Placement]>(['spec', 'placement'], 'place'),
    /** React to a failed node or a new primary manager. */
    failover: new AsyncSeriesHook<[FailoverEvent]>(['event'], 'failover'),
    /** Release watches, sockets, timers on shutdown. */
    close: new AsyncSeriesHook<[]>([], 'close'),
  });
}

export type Hooks = ReturnType<typeof createHooks>;

/** Named stages for taps that must run early or late; never use a magic number. */
export const Stage = Object.freeze({ EARLY: -100, NORMAL: 0, LATE: 100 });
