/**
 * Fan-out to several engines with one streamed answer: the client body (if any) is teed to every
 * engine, each engine's JSON message stream is split into messages, rewritten for its node and
 * written to the client as it arrives. Used by pull, import, load and build.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Engine } from '../engine/cluster-api.ts';
import { errorMessage } from './errors.ts';
import { forwardHeaders, ownHeaders, openEngineRequest, rawQuery, requestedVersion } from './proxy.ts';

export type JsonMessage = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Split a byte stream of JSON messages (one per line, or back to back) into objects. */
export function jsonMessages(stream: Readable, onMessage: (m: JsonMessage) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const flush = (final: boolean) => {
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line) parseLine(line);
      }
      if (final && buf.trim()) { parseLine(buf.trim()); buf = ''; }
    };
    const parseLine = (line: string) => {
      try {
        onMessage(JSON.parse(line) as JsonMessage);
      } catch {
        onMessage({ stream: `${line}\n` }); // not JSON: pass the text on
      }
    };
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => { buf += c; flush(false); });
    stream.on('end', () => { flush(true); resolve(); });
    stream.on('error', reject);
  });
}

/** Copy `source` to every sink, pausing while any sink is full. */
export function tee(source: Readable, sinks: import('node:stream').Writable[]): void {
  let waiting = 0;
  source.on('data', (chunk: Buffer) => {
    for (const s of sinks) {
      if (s.destroyed) continue;
      if (!s.write(chunk)) {
        waiting++;
        source.pause();
        s.once('drain', () => { if (--waiting === 0) source.resume(); });
      }
    }
  });
  source.on('end', () => { for (const s of sinks) if (!s.destroyed) s.end(); });
  source.on('error', (err) => { for (const s of sinks) s.destroy(err); });
}

export interface EngineOutcome {
  engine: Engine;
  /** Error text reported by the engine (HTTP error or `error` message), if any. */
  error?: string;
  /** Messages of that engine (only kept when `keep` is set). */
  messages: JsonMessage[];
}

export interface FanOutOptions {
  engines: readonly Engine[];
  method?: string;
  path: string;
  query?: string;
  /** Tee the client body to every engine. */
  withBody?: boolean;
  /** Rewrite one engine message for the client; undefined drops it. */
  rewrite: (m: JsonMessage, engine: Engine) => JsonMessage | undefined;
  /** Extra messages before/after each engine's stream. */
  start?: (engine: Engine) => JsonMessage | undefined;
  end?: (outcome: EngineOutcome) => JsonMessage | undefined;
  /** Final message after every engine finished (e.g. the overall error), or nothing. */
  finish?: (outcomes: EngineOutcome[]) => JsonMessage | undefined | Promise<JsonMessage | undefined>;
}

/** Run the fan-out and stream the merged answer (always 200, errors as messages, like the engine). */
export function fanOutStream(request: FastifyRequest, reply: FastifyReply, opts: FanOutOptions): Promise<void> {
  reply.hijack();
  const raw: IncomingMessage = request.raw;
  const res = reply.raw;
  res.writeHead(200, { ...ownHeaders(reply), 'content-type': 'application/json' });
  res.flushHeaders();
  const send = (m: JsonMessage | undefined) => { if (m && !res.destroyed) res.write(`${JSON.stringify(m)}\r\n`); };

  const fwd = forwardHeaders(raw.headers);
  if (!opts.withBody) { delete fwd['content-length']; delete fwd['transfer-encoding']; delete fwd['content-type']; }
  else if (opts.engines.length > 1 || !fwd['content-length']) { delete fwd['content-length']; fwd['transfer-encoding'] = 'chunked'; }

  const requests = opts.engines.map((engine) => openEngineRequest(engine, {
    method: opts.method ?? 'POST',
    path: opts.path,
    query: opts.query ?? rawQuery(request),
    version: requestedVersion(raw),
    headers: fwd,
  }));
  let cancelled = false;
  res.on('close', () => {
    if (res.writableFinished) return;
    cancelled = true;
    for (const r of requests) r.destroy();
  });

  const runs = opts.engines.map((engine, i) => new Promise<EngineOutcome>((resolve) => {
    const outcome: EngineOutcome = { engine, messages: [] };
    const req = requests[i];
    send(opts.start?.(engine));
    req.on('error', (err) => {
      if (!cancelled) engine.recordOutcome(err); // our own cancel says nothing about the engine
      outcome.error = errorMessage(err);
      send(opts.end?.(outcome));
      resolve(outcome);
    });
    req.on('response', async (up) => {
      engine.recordOutcome();
      const status = up.statusCode ?? 500;
      try {
        await jsonMessages(up, (m) => {
          if (status >= 400 && typeof m.message === 'string') { outcome.error = m.message; return; }
          if (m.error || m.errorDetail) outcome.error = String(m.error ?? m.errorDetail?.message ?? '');
          outcome.messages.push(m);
          send(opts.rewrite(m, engine));
        });
        if (status >= 400 && !outcome.error) outcome.error = `engine answered ${status}`;
      } catch (err) {
        outcome.error = errorMessage(err);
      }
      send(opts.end?.(outcome));
      resolve(outcome);
    });
  }));

  if (opts.withBody) tee(raw, requests);
  else for (const r of requests) r.end();

  return Promise.all(runs).then(async (outcomes) => {
    send(await opts.finish?.(outcomes));
    res.end();
  });
}

/** The engine's error message line. */
export const errorLine = (message: string): JsonMessage => ({ errorDetail: { message }, error: message });
