/** Turning engine failures into SwarmErrors that keep the engine's status and message. */
import { SwarmError, type SwarmErrorCode } from '../errors.ts';
import type { DockerJson } from './cluster-api.ts';

function codeFor(status: number): SwarmErrorCode {
  if (status === 400) return 'SWARM_ERR_BAD_REQUEST';
  if (status === 404) return 'SWARM_ERR_NOT_FOUND';
  if (status === 409) return 'SWARM_ERR_CONFLICT';
  return 'SWARM_ERR_ENGINE';
}

/** The engine's own message (`{"message": …}` body) when there is one, else the error text. */
export function engineMessage(err: unknown): string {
  const e = err as { json?: DockerJson | Buffer | string; message?: string };
  const json = e?.json;
  if (json && typeof json === 'object' && !Buffer.isBuffer(json) && typeof json.message === 'string') return json.message;
  if (typeof json === 'string' && json.trim()) return json.trim();
  const text = e?.message ?? String(err);
  // docker-modem wraps stream errors as `(HTTP code 500) unexpected - <engine message> `.
  return /^\(HTTP code \d+\) [^-]*- ([\s\S]*?)\s*$/.exec(text)?.[1] ?? text;
}

/** A SwarmError carrying the engine's HTTP status (500 for transport errors). */
export function engineError(err: unknown): SwarmError {
  if (err instanceof SwarmError) return err;
  const status = (err as { statusCode?: unknown })?.statusCode;
  const statusCode = typeof status === 'number' && status >= 400 ? status : 500;
  return new SwarmError(codeFor(statusCode), engineMessage(err), { cause: err, statusCode });
}
