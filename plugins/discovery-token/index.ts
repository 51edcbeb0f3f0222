// `token://<token>`: a cluster on a token discovery service (the protocol of the old Docker Hub
// service, served today by `plugins/discovery-token/server.ts`). Polled every heartbeat.
import { Type, type Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { ConfigError } from '../../core/errors.ts';
import { parseOptions, type SwarmPlugin } from '../../core/plugin.ts';
import type { DiscoveryBackend, DiscoveryOptions, DiscoveryUrl } from '../../core/types.ts';
import { backendLogger, callTimeout, errText, sameList, sleep } from '../discovery-common/index.ts';
import { DEFAULT_TOKEN_URL, fetchEntries, parseTokenUrl, registerEntry } from './protocol.ts';

export { DEFAULT_TOKEN_URL, ERR_FETCH_STATUS, ERR_TOKEN_EMPTY, createCluster, deleteCluster, parseTokenUrl } from './protocol.ts';

export const NAME = 'discovery-token';
export const SCHEME = 'token';
/** Environment variable naming the service base URL when the `url` option is not set. */
export const URL_ENV = 'SWARM_DISCOVERY_URL';

export const TokenOptions = Type.Object({
  /** Base URL of the token service, up to and including `/v1`. */
  url: Type.Optional(Type.String({ minLength: 1 })),
});
export type TokenOptions = Static<typeof TokenOptions>;

/** The base URL: option, else `$SWARM_DISCOVERY_URL`, else the default. */
export function resolveBaseUrl(options: TokenOptions, env: NodeJS.ProcessEnv): string {
  const url = options.url ?? env[URL_ENV] ?? DEFAULT_TOKEN_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`plugin ${NAME}: invalid url "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`plugin ${NAME}: url must be http:// or https://, got "${url}"`);
  }
  return url.replace(/\/+$/, '');
}

export function createTokenBackend(url: DiscoveryUrl, options: DiscoveryOptions, baseUrl: string, logger: Logger): DiscoveryBackend {
  const target = parseTokenUrl(url.rest, baseUrl);
  const timeout = callTimeout(options.heartbeat);
  return {
    async *watch(signal) {
      let last: string[] | undefined;
      let lastError = '';
      while (!signal.aborted) {
        try {
          const list = await fetchEntries(target, timeout);
          if (lastError) logger.info(`discovery: token service ${new URL(target.base).host} answers again`);
          lastError = '';
          if (!sameList(last, list)) {
            last = list;
            yield list;
          }
        } catch (err) {
          if (options.failFast) throw err;
          // Keep the last list; log each distinct failure once, not every heartbeat.
          const text = errText(err);
          if (text !== lastError) logger.error(text);
          lastError = text;
        }
        await sleep(options.heartbeat, signal);
      }
    },
    register(addr) {
      return registerEntry(target, addr, options.ttl, timeout);
    },
    async close() {},
  };
}

export default function token(options: Partial<TokenOptions> = {}): SwarmPlugin {
  const opts = parseOptions(NAME, TokenOptions, options);
  // Read once here, at config time, so the backend itself sees no process-wide state.
  const baseUrl = resolveBaseUrl(opts, process.env);
  return {
    name: NAME,
    apply(core) {
      core.hooks.discover.for(SCHEME).tapPromise(NAME, async (url, dopts) =>
        createTokenBackend(url, dopts, baseUrl, backendLogger(core, dopts, NAME)));
    },
  };
}
