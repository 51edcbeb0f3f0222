// Static list of engines: `nodes://h1:p,h2:p` or the bare list. Emits once, never changes.
import type { SwarmPlugin } from '../../core/plugin.ts';
import type { DiscoveryBackend, DiscoveryUrl } from '../../core/types.ts';
import {
  ERR_NOT_IMPLEMENTED, dedupe, discoveryError, errText, expandRange, checkEntry, waitForAbort, noOptions
} from '../discovery-common/index.ts';

export const NAME = 'discovery-nodes';
export const SCHEME = 'nodes';
/** Legacy suffix of a parse error: a bare token was most likely meant as `token://`. */
export const MISSING_TOKEN_HINT = ', please check you are using the correct discovery (missing token:// ?)';

/** Expand and validate the comma list; each item may hold one `[a:b]` range. */
export function parseNodes(rest: string): string[] {
  const out: string[] = [];
  for (const item of rest.split(',')) {
    for (const addr of expandRange(item)) {
      try {
        out.push(checkEntry(addr));
      } catch (err) {
        throw discoveryError(`${errText(err)}${MISSING_TOKEN_HINT}`, err);
      }
    }
  }
  return dedupe(out);
}

export function createNodesBackend(url: DiscoveryUrl): DiscoveryBackend {
  const entries = parseNodes(url.rest);
  return {
    async *watch(signal) {
      if (signal.aborted) return;
      yield [...entries];
      await waitForAbort(signal);
    },
    async register() {
      throw discoveryError(ERR_NOT_IMPLEMENTED);
    },
    async close() {},
  };
}

export default function nodes(options?: unknown): SwarmPlugin {
  noOptions(NAME, options);
  return {
    name: NAME,
    apply(core) {
      core.hooks.discover.for(SCHEME).tapPromise(NAME, async (url) => createNodesBackend(url));
    },
  };
}
