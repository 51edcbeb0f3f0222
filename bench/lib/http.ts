/**
 * Minimal HTTP client for the benchmark: one keep-alive agent per target so manager and direct
 * calls pay the same connection costs, raw bodies (no dockerode) so the client adds the same
 * small overhead to both sides of a ratio.
 */
import http from 'node:http';

export interface HttpResult {
  status: number;
  body: string;
  ms: number;
}

export class Client {
  readonly agent: http.Agent;
  readonly host: string;
  readonly port: number;

  /** `base`: tcp://ip:port, http://ip:port or ip:port. */
  constructor(base: string, maxSockets = 16) {
    const u = new URL(base.replace(/^tcp:/, 'http:').replace(/^(?!http)/, 'http://'));
    this.host = u.hostname;
    this.port = Number(u.port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 10_000 });
  }

  request(method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const t0 = process.hrtime.bigint();
      const req = http.request({
        host: this.host, port: this.port, method, path, agent: this.agent,
        headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {},
        timeout: timeoutMs,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${path}`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like request() but throws unless the status is one of `ok`. */
  async expect(method: string, path: string, ok: number[], body?: unknown, timeoutMs?: number): Promise<HttpResult> {
    const r = await this.request(method, path, body, timeoutMs);
    if (!ok.includes(r.status)) throw new Error(`${method} ${this.host}:${this.port}${path} → ${r.status} ${r.body.slice(0, 300)}`);
    return r;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Engine API prefix used on both sides (the engines here speak 1.41). */
export const API = '/v1.41';

/**
 * create+start of one container; returns the container ID and the time of the pair.
 * Used the same way through the manager and straight to an engine.
 */
export async function createStart(c: Client, name: string, body: Record<string, unknown>): Promise<{ id: string; ms: number }> {
  const t0 = process.hrtime.bigint();
  const created = await c.expect('POST', `${API}/containers/create?name=${encodeURIComponent(name)}`, [201], body);
  const id = (JSON.parse(created.body) as { Id: string }).Id;
  await c.expect('POST', `${API}/containers/${id}/start`, [204, 304]);
  return { id, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

/** Run `total` jobs with at most `concurrency` in flight; returns when all are done. */
export async function burst<T>(total: number, concurrency: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(total);
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, total) }, async () => {
    while (next < total) {
      const i = next++;
      out[i] = await job(i);
    }
  });
  await Promise.all(workers);
  return out;
}
