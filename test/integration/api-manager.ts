/**
 * An in-process manager for API tests: the real core with the default plugins (filters in legacy
 * order, spread), the real engine layer over the kit's engines, and `startApi` on a free port.
 * Refresh intervals are short so the cache follows engine-side changes quickly.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import type { ConnectionOptions } from 'node:tls';
import { pino } from 'pino';
import { DOCKER_BIN } from '../cluster/busybox.ts';
import { createCore, type Core } from '../../core/core.ts';
import { createCluster } from '../../core/engine/index.ts';
import type { Cluster } from '../../core/engine/cluster-api.ts';
import { startApi, type ApiOptions, type ApiServer } from '../../core/api/index.ts';
import { startEngines, type TestEngine } from '../cluster/index.ts';
import health from '../../plugins/filter-health/index.ts';
import port from '../../plugins/filter-port/index.ts';
import containerslots from '../../plugins/filter-containerslots/index.ts';
import dependency from '../../plugins/filter-dependency/index.ts';
import affinity from '../../plugins/filter-affinity/index.ts';
import constraint from '../../plugins/filter-constraint/index.ts';
import whitelist from '../../plugins/filter-whitelist/index.ts';
import spread from '../../plugins/strategy-spread/index.ts';

export interface TestManager {
  /** `tcp://127.0.0.1:<port>` */
  host: string;
  engines: TestEngine[];
  core: Core;
  cluster: Cluster;
  api: ApiServer;
  stop(): Promise<void>;
}

export function defaultPlugins() {
  return [health(), port(), containerslots(), dependency(), affinity(), constraint(), whitelist(), spread()];
}

async function waitHealthy(cluster: Cluster, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const healthy = cluster.engines().filter((e) => e.state === 'healthy').length;
    if (healthy >= count) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const states = cluster.engines().map((e) => `${e.addr}=${e.state}${e.error ? ` (${e.error})` : ''}`).join(', ');
  throw new Error(`engines not healthy in time: ${states}`);
}

export async function startTestManager(opts: {
  engines?: TestEngine[]; api?: Partial<ApiOptions>; hosts?: string[]; engineTls?: ConnectionOptions;
  /** Override cluster options, e.g. long refresh intervals so only events keep the cache current. */
  cluster?: { refreshMinInterval?: number; refreshMaxInterval?: number };
} = {}): Promise<TestManager> {
  const engines = opts.engines ?? (await startEngines()).engines;
  const logger = pino({ level: process.env.SWARM_TEST_LOG ?? 'silent' });
  const core = createCore({ plugins: defaultPlugins(), logger });
  const cluster = createCluster(core, {
    refreshMinInterval: 1000, refreshMaxInterval: 2000, failureRetry: 3, overcommit: 0.05, createRetry: 0, logger,
    ...(opts.engineTls ? { engineTls: opts.engineTls } : {}),
    ...opts.cluster,
  });
  for (const e of engines) cluster.addEngine(e.addr);
  try {
    await waitHealthy(cluster, engines.length);
  } catch (err) {
    await cluster.close();
    throw err;
  }
  const api = await startApi({ core, cluster, hosts: opts.hosts ?? ['tcp://127.0.0.1:0'], logger, ...opts.api });
  return {
    host: api.addresses[0],
    engines,
    core,
    cluster,
    api,
    async stop() {
      await api.close();
      await cluster.close();
      await core.close();
    },
  };
}

/** A name unique to this test run, for containers, networks and volumes on shared engines. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Run a docker CLI command line under a pseudo-terminal (`script`), for `-it` scenarios. */
export function dockerTty(host: string, commandLine: string, opts: { timeout?: number; stdin?: string } = {}): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DOCKER_')) env[k] = v;
    env.DOCKER_HOST = host;
    env.DOCKER_CLI_HINTS = 'false';
    const child = spawn('script', ['-qec', `${DOCKER_BIN} ${commandLine}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 60_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, output }); });
    child.stdin.on('error', () => {});
    if (opts.stdin !== undefined) child.stdin.write(opts.stdin);
    else child.stdin.end();
  });
}

/** One raw HTTP call to the manager (`tcp://ip:port`), body buffered. */
export function apiCall(host: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json(): any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const u = new URL(host.replace(/^tcp:/, 'http:'));
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = httpRequest({
      host: u.hostname, port: Number(u.port), method, path,
      headers: { ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}), ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}
