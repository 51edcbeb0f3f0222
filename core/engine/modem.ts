/**
 * The modem under dockerode: `new Docker({ modem: new LeanModem(...) })` keeps dockerode as the
 * engine client API (the platform design) while requests go through transport.ts instead of
 * docker-modem's `dial`, which formats every request with `util.inspect(options, { showHidden: true,
 * depth: null })` even with debug off (74% of the manager's CPU at 1,000 engines).
 *
 * `dial(options, callback)` reads the options dockerode's methods build, with docker-modem's meaning:
 * `path` (a trailing `?` takes the query from `options`, or `options._query`), `method`, `options`
 * (also the JSON body of a POST, or `options._body`; `{}` sends no body), `authconfig`
 * (X-Registry-Auth: its `key`, its `base64`, or itself as base64url JSON), `isStream` (the callback
 * gets the response stream), `statusCodes` (`true` = success, text = the error's reason). Errors are
 * docker-modem's: `(HTTP code N) <reason or "unexpected"> - <engine message> ` with `statusCode`,
 * `json` and `reason`. One addition: `timeout` (ms, 0 = none) overrides the engine's answer timeout
 * (the event stream is idle for as long as nothing happens). Uploads (`file`), hijacked and stdin
 * streams and `registryconfig` are not used by the engine layer and fail with an error.
 *
 * Every call's outcome goes to `onOutcome` (health counting, see transport.ts on stale connections).
 */
import './lazy-ssh.ts'; // before dockerode: docker-modem's ssh2 only when used (lazy-ssh.ts)
import Modem from 'docker-modem';
import type { EngineTransport, Outcome, TransportRequest } from './transport.ts';

/** The option object dockerode passes to `modem.dial`. */
export interface DialOptions {
  path: string;
  method: string;
  options?: Record<string, unknown> | null;
  statusCodes?: Record<number, true | string>;
  authconfig?: { key?: string; base64?: string; [k: string]: unknown };
  isStream?: boolean;
  timeout?: number;
  file?: unknown;
  hijack?: boolean;
  openStdin?: boolean;
  registryconfig?: unknown;
}

type Callback = (err: unknown, data?: unknown) => void;

const UNSUPPORTED = ['file', 'hijack', 'openStdin', 'registryconfig'] as const;

/** docker-modem's X-Registry-Auth value. */
export function registryAuth(auth: NonNullable<DialOptions['authconfig']>): string {
  return auth.key || auth.base64
    || Buffer.from(JSON.stringify(auth)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** The transport request for dockerode's dial options (docker-modem's `dial` semantics). */
export function toTransportRequest(o: DialOptions): TransportRequest {
  const opts = o.options ?? undefined;
  let path = o.path;
  let query: Record<string, unknown> | undefined;
  const mark = path.indexOf('?');
  if (mark !== -1) {
    path = path.slice(0, mark);
    if (opts && Object.keys(opts).length > 0) {
      const source = (opts._query as Record<string, unknown> | undefined) || opts;
      // Never in the URL (docker-modem deletes them from the options first).
      const { authconfig: _a, abortSignal: _s, ...rest } = source;
      query = rest;
    }
  }
  const r: TransportRequest = { path, method: o.method as TransportRequest['method'] };
  if (query) r.query = query;
  if (opts && o.method === 'POST') {
    const { authconfig: _a, abortSignal: _s, ...body } = opts;
    r.body = opts._body || body;
  }
  if (o.authconfig) r.auth = registryAuth(o.authconfig);
  if (o.isStream) r.stream = true;
  if (o.statusCodes) r.statusCodes = o.statusCodes;
  if (typeof o.timeout === 'number') r.timeout = o.timeout;
  return r;
}

export class LeanModem {
  /** Set by dockerode's constructor (the promise library its methods return). */
  Promise: PromiseConstructor = Promise;

  constructor(
    private readonly transport: EngineTransport,
    private readonly onOutcome: (o: Outcome) => void,
  ) {}

  dial(options: DialOptions, callback: Callback): void {
    const unsupported = UNSUPPORTED.find((k) => options[k] !== undefined && options[k] !== false);
    if (unsupported) {
      callback(new Error(`engine client: ${unsupported} requests are not supported (${options.method} ${options.path})`));
      return;
    }
    let request: TransportRequest;
    try {
      request = toTransportRequest(options);
    } catch (err) {
      callback(err);
      return;
    }
    this.transport.request(request, this.onOutcome).then((data) => callback(null, data), (err) => callback(err));
  }

  /** docker-modem's demultiplexer for non-TTY attach/log streams (stateless, reused as is). */
  demuxStream(stream: NodeJS.ReadableStream, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): void {
    Modem.prototype.demuxStream.call(this, stream, stdout, stderr);
  }
}
