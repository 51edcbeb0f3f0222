// End to end, per discovery backend: real engines registered by `swarm join` processes, a real
// `swarm manage`, the docker CLI. `docker info` on the manager lists the engines, a stopped join
// disappears after its TTL, `swarm list` prints the same list; editing swarm.config.ts from etcd
// to ZooKeeper is all it takes to swap the store.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dockerCli, startEngines, startEtcd, startManager, startZookeeper, REPO_ROOT,
  type EngineGroup, type ManagerProcess, type TestEngine,
} from '../cluster/index.ts';
import { leftovers, runDir, startProc, terminate, waitFor, type Proc } from '../cluster/proc.ts';
import { startConsulServer, type ConsulServer } from '../consul-compatible-server/index.ts';
import { startTokenServer, type TokenServer } from '../../plugins/discovery-token/server.ts';
import { createCluster } from '../../plugins/discovery-token/index.ts';

const TTL = '4s';
const MAIN = join(REPO_ROOT, 'core/cli/main.ts');
const MANAGE_FLAGS = ['--heartbeat', '1s', '--engine-refresh-min-interval', '1s', '--engine-refresh-max-interval', '2s'];

let group: EngineGroup;
let engines: TestEngine[];
const procs = new Set<Proc>();

before(async () => {
  group = await startEngines({ count: 3 });
  engines = group.engines;
});
after(async () => {
  for (const p of procs) await stopProc(p);
  await group?.stop();
});

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_TEST_CONTEXT: '' };
  delete env.NODE_TEST_CONTEXT; // a swarm process is a program, not a test file
  delete env.SWARM_DISCOVERY;
  return env;
}

/** `swarm join` for one engine, as a child process. */
function startJoin(engine: TestEngine, url: string, extra: string[] = [], cwd = REPO_ROOT): Proc {
  const args = ['--import', 'tsx', MAIN, 'join', '--advertise', engine.addr, '--heartbeat', '1s', '--ttl', TTL, ...extra];
  if (url) args.push(url);
  const p = startProc(process.execPath, args, join(runDir('discovery-e2e'), `join-${engine.name}-${Date.now()}.log`), { cwd, env: childEnv() });
  leftovers.pids.add(p.pid);
  procs.add(p);
  return p;
}

async function stopProc(p: Proc): Promise<void> {
  await terminate(p, 10_000);
  leftovers.pids.delete(p.pid);
  procs.delete(p);
}

/** `swarm list`, its stdout lines sorted. */
function swarmList(args: string[], cwd = REPO_ROOT): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, 'list', '--timeout', '10s', ...args], { cwd, env: childEnv(), timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`swarm list ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolve(stdout.split('\n').filter((l) => l !== '').sort());
      });
  });
}

/** Engine addresses listed by `docker info` on the manager (SystemStatus node lines). */
async function infoAddrs(m: ManagerProcess): Promise<{ nodes: number; addrs: string[] }> {
  const r = await dockerCli(m.host, ['info', '--format', '{{json .SystemStatus}}']);
  if (r.code !== 0) throw new Error(`docker info: ${r.stderr}`);
  const status = (JSON.parse(r.stdout) ?? []) as [string, string][];
  const nodes = Number(status.find(([k]) => k.trim() === 'Nodes')?.[1] ?? NaN);
  const known = new Set(engines.map((e) => e.addr));
  return { nodes, addrs: status.map(([, v]) => v).filter((v) => known.has(v)).sort() };
}

async function waitForInfo(m: ManagerProcess, want: TestEngine[], what: string, timeoutMs = 60_000): Promise<void> {
  const addrs = want.map((e) => e.addr).sort();
  let last: unknown;
  try {
    await waitFor(what, async () => {
      last = await infoAddrs(m);
      const { nodes, addrs: seen } = last as { nodes: number; addrs: string[] };
      return nodes === want.length && JSON.stringify(seen) === JSON.stringify(addrs);
    }, { timeoutMs, intervalMs: 500 });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last docker info: ${JSON.stringify(last)}\n--- manager ---\n${m.logs().slice(-3000)}`, { cause: err });
  }
}

interface Store { url(prefix: string): string }

/** Three joins, a manager, docker info, a stopped join expiring, swarm list. */
async function scenario(name: string, store: Store): Promise<void> {
  const url = store.url(`e2e-${name}-${process.pid}`);
  const joins = engines.map((e) => startJoin(e, url));
  const m = await startManager([...MANAGE_FLAGS, url], { timeoutMs: 60_000 });
  try {
    await waitForInfo(m, engines, `${name}: docker info lists the 3 engines`);
    assert.deepEqual(await swarmList([url]), engines.map((e) => e.addr).sort());
    await stopProc(joins[2]); // this engine's join stops: its registration expires after the TTL
    await waitForInfo(m, engines.slice(0, 2), `${name}: the stopped join disappears after its TTL`);
    assert.deepEqual(await swarmList([url]), engines.slice(0, 2).map((e) => e.addr).sort());
  } finally {
    await m.stop();
    for (const j of joins) await stopProc(j);
  }
}

test('etcd: swarm join ×3 → docker info on swarm manage; a stopped join expires; swarm list matches', { timeout: 240_000 }, async () => {
  const etcd = await startEtcd();
  try {
    await scenario('etcd', { url: (p) => `etcd://${etcd.endpoint}/${p}`});
  } finally {
    await etcd.destroy();
  }
});

test('zk: swarm join ×3 → docker info on swarm manage; a stopped join expires; swarm list matches', { timeout: 240_000 }, async () => {
  const zk = await startZookeeper();
  try {
    await scenario('zk', { url: (p) => `zk://${zk.endpoint}/${p}`});
  } finally {
    await zk.destroy();
  }
});

test('consul (emulator): swarm join ×3 → docker info on swarm manage; a stopped join expires; swarm list matches', { timeout: 240_000 }, async () => {
  // session_ttl_min lowered to 1 s (a Consul agent setting) so a 4 s TTL (sessions of 2 s) is accepted.
  const consul: ConsulServer = await startConsulServer({ host: '127.0.0.1', port: 0, sessionTtlMinMs: 1000 });
  try {
    await scenario('consul', { url: (p) => `consul://${consul.endpoint}/${p}`});
  } finally {
    await consul.close();
  }
});

test('token: swarm join ×3 on the project token service → docker info; a stopped join expires; swarm list matches', { timeout: 240_000 }, async () => {
  const srv: TokenServer = await startTokenServer({ host: '127.0.0.1', port: 0 });
  try {
    const id = await createCluster(srv.url);
    const hostPath = `${new URL(srv.url).host}/v1`;
    // The host/path/token form, so no environment is needed by the child processes.
    await scenario('token', { url: () => `token://${hostPath}/${id}`});
  } finally {
    await srv.close();
  }
});

test('file: docker info follows edits of the file; swarm list matches', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-e2e-file-'));
  const path = join(dir, 'cluster');
  writeFileSync(path, `# test engines\n${engines.map((e) => e.addr).join('\n')}\n`);
  const m = await startManager([...MANAGE_FLAGS, `file://${path}`], { timeoutMs: 60_000 });
  try {
    await waitForInfo(m, engines, 'file: 3 engines');
    assert.deepEqual(await swarmList([`file://${path}`]), engines.map((e) => e.addr).sort());
    writeFileSync(path, `${engines[0].addr}\n# ${engines[1].addr} commented out\n${engines[2].addr}\n`);
    await waitForInfo(m, [engines[0], engines[2]], 'file: a commented-out engine leaves');
  } finally {
    await m.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('swap: editing swarm.config.ts from etcd:// to zk:// is all it takes', { timeout: 300_000 }, async () => {
  const [etcd, zk] = await Promise.all([startEtcd(), startZookeeper()]);
  const dir = mkdtempSync(join(REPO_ROOT, '.swarm-e2e-swap-')); // inside the repo: the config imports nothing, but resolves like a user's
  const config = join(dir, 'swarm.config.ts');
  const write = (discovery: string) => writeFileSync(config, [
    'export default {',
    `  discovery: ${JSON.stringify(discovery)},`,
    "  manage: { heartbeat: '1s', engineRefreshMinInterval: '1s', engineRefreshMaxInterval: '2s' },",
    `  join: { heartbeat: '1s', ttl: '${TTL}' },`,
    '};',
    '',
  ].join('\n'));
  const run = async (store: string, want: TestEngine[]) => {
    const joins = want.map((e) => startJoin(e, '', ['--config', config], dir));
    const m = await startManager(['--config', config], { cwd: dir, timeoutMs: 60_000 });
    try {
      await waitForInfo(m, want, `${store}: the engines from the config's discovery`);
      assert.deepEqual(await swarmList(['--config', config], dir), want.map((e) => e.addr).sort());
    } finally {
      await m.stop();
      for (const j of joins) await stopProc(j);
    }
  };
  try {
    write(`etcd://${etcd.endpoint}/swap-${process.pid}`);
    await run('etcd', engines);
    write(`zk://${zk.endpoint}/swap-${process.pid}`);
    // Only two engines join this time, so the list can only have come from ZooKeeper.
    await run('zk', engines.slice(0, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await etcd.destroy();
    await zk.destroy();
  }
});
