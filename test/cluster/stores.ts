/**
 * KV stores for discovery and replication tests: a single-node etcd (Debian etcd-server 3.4) and
 * a standalone ZooKeeper (Debian zookeeper 3.8), each on free 127.0.0.1 ports with its own data dir.
 * Both can be stopped and started again on the same port and data, and paused with SIGSTOP.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePort, leftovers, runDir, signal, startProc, terminate, waitFor, type Proc } from './proc.ts';

export interface StoreServer {
  /** 127.0.0.1:port (what discovery URLs and clients take). */
  endpoint: string;
  host: string;
  port: number;
  /** PID of the running server (changes after start()). */
  pid: number;
  dataDir: string;
  /** Stops the server (SIGTERM, SIGKILL after 10 s); keeps port and data so start() can resume. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data; resolves once it answers. */
  start(): Promise<void>;
  /** SIGSTOP: the server holds its connections but answers nothing. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  running(): boolean;
  /** stop() and delete the data dir. */
  destroy(): Promise<void>;
  logs(): string;
}

interface ServerSpec {
  kind: string;
  dir: string;
  port: number;
  command(): { cmd: string; args: string[] };
  ready(): Promise<boolean>;
  timeoutMs: number;
}

function makeServer(spec: ServerSpec): StoreServer {
  let proc: Proc | undefined;
  const logFile = join(spec.dir, `${spec.kind}.log`);
  const server: StoreServer = {
    endpoint: `127.0.0.1:${spec.port}`,
    host: '127.0.0.1',
    port: spec.port,
    pid: 0,
    dataDir: join(spec.dir, 'data'),
    async start() {
      if (proc && proc.exitCode() === undefined) return;
      const { cmd, args } = spec.command();
      const p = startProc(cmd, args, logFile);
      proc = p;
      server.pid = p.pid;
      leftovers.pids.add(p.pid);
      try {
        await waitFor(`${spec.kind} on ${server.endpoint}`, () => spec.ready(), {
          timeoutMs: spec.timeoutMs,
          abort: () => (p.exitCode() !== undefined ? `${spec.kind} exited with ${p.exitCode()}` : undefined),
        });
      } catch (err) {
        await terminate(p, 5_000);
        leftovers.pids.delete(p.pid);
        const tail = p.logs().split('\n').slice(-30).join('\n');
        throw new Error(`${(err as Error).message}\n--- ${spec.kind} log (${logFile}) ---\n${tail}`, { cause: err });
      }
    },
    async stop() {
      if (!proc) return;
      await terminate(proc, 10_000);
      leftovers.pids.delete(proc.pid);
    },
    pause() {
      if (proc && proc.exitCode() === undefined) signal(proc.pid, 'SIGSTOP');
    },
    resume() {
      if (proc && proc.exitCode() === undefined) signal(proc.pid, 'SIGCONT');
    },
    running: () => !!proc && proc.exitCode() === undefined,
    async destroy() {
      await server.stop();
      rmSync(spec.dir, { recursive: true, force: true });
    },
    logs: () => proc?.logs() ?? '',
  };
  return server;
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Sends a ZooKeeper four-letter word and returns the whole answer. */
export function zkFourLetter(host: string, port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    let out = '';
    sock.setTimeout(2_000, () => sock.destroy(new Error('timeout')));
    sock.on('connect', () => sock.write(word));
    sock.on('data', (c) => (out += c.toString('utf8')));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

export async function startEtcd(opts: { timeoutMs?: number } = {}): Promise<StoreServer> {
  const port = await freePort();
  const peerPort = await freePort();
  const dir = runDir(`etcd-${port}`);
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const server = makeServer({
    kind: 'etcd',
    dir,
    port,
    timeoutMs: opts.timeoutMs ?? 30_000,
    command: () => ({
      cmd: 'etcd',
      args: [
        '--name', 'swarm-test',
        '--data-dir', join(dir, 'data'),
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `swarm-test=${peer}`,
        '--initial-cluster-state', 'new', // ignored on restart: the data dir already has the cluster
        '--log-level', 'warn',
      ],
    }),
    ready: async () => {
      const r = await httpGet(`${client}/health`);
      return r.status === 200 && /"health":\s*"true"/.test(r.body);
    },
  });
  await server.start();
  return server;
}

export async function startZookeeper(opts: { timeoutMs?: number } = {}): Promise<StoreServer> {
  const port = await freePort();
  const dir = runDir(`zk-${port}`);
  mkdirSync(join(dir, 'data'), { recursive: true });
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(
    cfg,
    [
      'tickTime=2000',
      'initLimit=5',
      'syncLimit=2',
      `dataDir=${join(dir, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=*',
      'maxClientCnxns=0',
      '',
    ].join('\n'),
  );
  const server = makeServer({
    kind: 'zookeeper',
    dir,
    port,
    timeoutMs: opts.timeoutMs ?? 60_000, // the JVM is slow to start on 2 cores
    command: () => ({
      cmd: 'java',
      args: [
        '-Xms32m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
        `-Dzookeeper.log.dir=${dir}`,
        '-Dzookeeper.admin.enableServer=false',
        '-cp', '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/*',
        'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        cfg,
      ],
    }),
    // `srvr` answers "not currently serving requests" until the server is really up.
    ready: async () => /Mode:/.test(await zkFourLetter('127.0.0.1', port, 'srvr')),
  });
  await server.start();
  return server;
}
