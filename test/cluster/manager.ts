/** Runs `swarm manage` (core/cli/main.ts) as a child process and waits until its API answers. */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { freePort, leftovers, runDir, signal, startProc, terminate, waitFor } from './proc.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ManagerOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Until GET /_ping answers 200; default 30 s. */
  timeoutMs?: number;
  /** Client cert for the readiness ping when the manager serves TLS (--tlsverify). */
  tls?: { ca: string; cert: string; key: string };
  /** Default true. false: return right after spawning (e.g. for a replica expected to fail). */
  waitReady?: boolean;
  /** Runs another subcommand than `manage` (e.g. 'join'); default 'manage'. */
  command?: string;
}

export interface ManagerProcess {
  /** tcp://127.0.0.1:port (or the first -H given). */
  host: string;
  /** 127.0.0.1:port */
  addr: string;
  pid: number;
  /** SIGTERM, SIGKILL after 10 s; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Sends a signal and returns at once (fault tests: kill('SIGKILL')). */
  kill(sig?: NodeJS.Signals): void;
  /** Everything the manager wrote to stdout and stderr so far. */
  logs(): string;
  running(): boolean;
  /** Resolves with the exit code (null if killed by a signal). */
  exited: Promise<number | null>;
}

function hostArg(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-H' || a === '--host') return args[i + 1];
    if (a.startsWith('--host=')) return a.slice('--host='.length);
    if (a.startsWith('-H') && a.length > 2) return a.slice(2).replace(/^=/, '');
  }
  return undefined;
}

/** tcp://ip:port, ip:port and :port all become tcp://ip:port (":port" listens on all: ping 127.0.0.1). */
function normalizeHost(h: string): string {
  if (h.startsWith('unix://')) return h;
  const bare = h.replace(/^tcp:\/\//, '');
  return `tcp://${bare.startsWith(':') ? `127.0.0.1${bare}` : bare}`;
}

function ping(host: string, tls: ManagerOptions['tls']): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const common = host.startsWith('unix://')
      ? { socketPath: host.slice('unix://'.length) }
      : { host: new URL(host.replace(/^tcp:/, 'http:')).hostname, port: Number(new URL(host.replace(/^tcp:/, 'http:')).port) };
    const opts = { ...common, path: '/_ping', method: 'GET', timeout: 2_000 };
    const req = tls
      ? httpsRequest({ ...opts, ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), checkServerIdentity: () => undefined })
      : httpRequest(opts);
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startManager(args: string[], opts: ManagerOptions = {}): Promise<ManagerProcess> {
  let given = hostArg(args);
  const extra: string[] = [];
  if (!given) {
    given = `tcp://127.0.0.1:${await freePort()}`;
    extra.push('-H', given);
  }
  const host = normalizeHost(given);
  const logFile = join(runDir('managers'), `manager-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.log`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DOCKER_')) env[k] = v;
  // The node test runner marks its children; a manager is a program, not a test file.
  delete env.NODE_TEST_CONTEXT;
  Object.assign(env, opts.env ?? {});
  const proc = startProc(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'core/cli/main.ts'), opts.command ?? 'manage', ...extra, ...args],
    logFile,
    { cwd: opts.cwd ?? REPO_ROOT, env },
  );
  leftovers.pids.add(proc.pid);
  const mgr: ManagerProcess = {
    host,
    addr: host.replace(/^tcp:\/\//, ''),
    pid: proc.pid,
    async stop() {
      await terminate(proc, 10_000);
      leftovers.pids.delete(proc.pid);
    },
    kill(sig: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode() === undefined) signal(proc.pid, sig);
    },
    logs: () => proc.logs(),
    running: () => proc.exitCode() === undefined,
    exited: proc.exited,
  };
  if (opts.waitReady === false) return mgr;
  try {
    await waitFor(`swarm manage on ${host}`, () => ping(host, opts.tls), {
      timeoutMs: opts.timeoutMs ?? 30_000,
      abort: () => (proc.exitCode() !== undefined ? `exited with code ${proc.exitCode()}` : undefined),
    });
  } catch (err) {
    await mgr.stop();
    throw new Error(`${(err as Error).message}\n--- manager output (${logFile}) ---\n${proc.logs()}`, { cause: err });
  }
  return mgr;
}
