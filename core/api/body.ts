/**
 * Request bodies. The app registers no parsing content-type parser: proxied and streamed routes
 * (build, load, import, archive, attach) read `request.raw` as it arrives. Routes that need the
 * JSON (create, exec, networks, volumes) read it here, within the body limit.
 */
import type { FastifyRequest } from 'fastify';
import { SwarmError } from '../errors.ts';
import { badRequest } from './errors.ts';

export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;

/** The whole raw body as a buffer (at most `limit` bytes, else 413). */
export function readBody(request: FastifyRequest, limit: number): Promise<Buffer> {
  const raw = request.raw;
  return new Promise((resolve, reject) => {
    if (raw.readableEnded) return resolve(Buffer.alloc(0));
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        raw.off('data', onData);
        raw.resume(); // drain the rest so the answer can still be written
        reject(new SwarmError('SWARM_ERR_BAD_REQUEST', `request body larger than ${limit} bytes`, { statusCode: 413 }));
        return;
      }
      chunks.push(c);
    };
    raw.on('data', onData);
    raw.on('end', () => resolve(Buffer.concat(chunks)));
    raw.on('error', reject);
  });
}

/** The JSON body as an object; empty body → `{}`; anything but an object → 400. */
export async function readJson(request: FastifyRequest, limit: number): Promise<Record<string, unknown>> {
  const buf = await readBody(request, limit);
  const text = buf.toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`invalid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('invalid JSON: the body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Boolean query flags as the engine reads them: `1`, `true`, `True`… are true; `0`/`false`/'' false. */
export function boolParam(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  const s = String(v).toLowerCase();
  return s !== '' && s !== '0' && s !== 'false' && s !== 'no';
}

/** Integer query parameter, or 400 with the engine's wording. */
export function intParam(name: string, v: unknown): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`invalid value for ${name}: ${String(v)}`);
  return n;
}

/** The `filters` query parameter: `{"key":["v"]}` or the old `{"key":{"v":true}}` form. */
export function parseFilters(v: unknown): Record<string, string[]> {
  if (v === undefined || v === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(String(v));
  } catch {
    throw badRequest(`invalid filter: ${String(v)}`);
  }
  const out: Record<string, string[]> = {};
  if (raw === null) return out; // Go decodes `null` into an empty map
  // The engine decodes filters into a map: an array, number or string is refused (the original: 400).
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badRequest(`invalid filter: ${String(v)}`);
  for (const [k, val] of Object.entries(raw as Record<string, unknown>)) {
    if (Array.isArray(val)) out[k] = val.map(String);
    else if (val && typeof val === 'object') out[k] = Object.entries(val as Record<string, unknown>).filter(([, on]) => on).map(([x]) => x);
    else out[k] = [String(val)];
  }
  return out;
}
