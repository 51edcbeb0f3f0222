/**
 * Part 5 — failover. Three `swarm manage --replication` on etcd, then on ZooKeeper; kill -9 the
 * primary and measure the time until the first request that needs the primary
 * (`GET /containers/json`, forwarded by replicas) is answered 200 by a surviving manager.
 * The killed manager is started again as a replica before the next trial.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { kit, requireCli } from '../lib/engines.ts';
import { Client } from '../lib/http.ts';
import { managerInfo } from '../lib/manager.ts';
import { NotRunError, type BenchPart } from '../lib/part.ts';
import { summarize } from '../lib/stats.ts';
import { evaluate, notRun, TARGETS } from '../lib/targets.ts';
import type { RunContext, TableSpec, TargetDef, TargetResult } from '../lib/types.ts';

const HOST = '127.0.0.80';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Kit = Awaited<ReturnType<typeof kit>>;
type Mgr = Awaited<ReturnType<Kit['startManager']>>;

interface Trial {
  killed: string;
  seconds: number;
  servedBy: string;
  newPrimary: string | undefined;
}

async function waitRoles(managers: { addr: string; client: Client }[], timeoutMs: number, signal: AbortSignal): Promise<string> {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeoutMs) {
    if (signal.aborted) throw new Error('interrupted');
    try {
      const infos = await Promise.all(managers.map((m) => managerInfo(m.client, 3_000)));
      const primaries = managers.filter((_, i) => infos[i].role === 'primary');
      if (primaries.length === 1) {
        const p = primaries[0].addr;
        if (infos.every((inf, i) => managers[i].addr === p || (inf.role === 'replica' && inf.primary === p))) return p;
      }
      last = infos.map((inf, i) => `${managers[i].addr}=${inf.role}${inf.primary ? `(→${inf.primary})` : ''}`).join(' ');
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`managers did not agree on one primary within ${timeoutMs} ms (${last})`);
}

async function measureBackend(ctx: RunContext, k: Kit, backend: 'etcd' | 'zk', ttl: number, trials: number): Promise<{ trials: Trial[]; setup: string }> {
  const store = backend === 'etcd' ? await k.startEtcd() : await k.startZookeeper();
  const url = `${backend}://${store.endpoint}/bench-${randomBytes(3).toString('hex')}`;
  const managers: { addr: string; mgr: Mgr; client: Client; port: number }[] = [];
  const start = async (port: number) => {
    const addr = `${HOST}:${port}`;
    const mgr = await k.startManager(['-H', `tcp://${addr}`, '--replication', '--advertise', addr, '--replication-ttl', `${ttl}s`, url], { timeoutMs: 60_000 });
    return { addr, mgr, client: new Client(`tcp://${addr}`, 4), port };
  };
  const out: Trial[] = [];
  try {
    ctx.progress.step(`${backend}: starting 3 replicated managers`);
    for (let i = 0; i < 3; i++) managers.push(await start(await freePort()));
    for (let t = 0; t < trials && !ctx.signal.aborted; t++) {
      const primary = await waitRoles(managers, 60_000 + ttl * 2_000, ctx.signal);
      const victim = managers.find((m) => m.addr === primary)!;
      const survivors = managers.filter((m) => m !== victim);
      ctx.progress.step(`${backend}: trial ${t + 1}/${trials}: kill -9 primary ${primary} (TTL ${ttl} s)`);
      victim.mgr.kill('SIGKILL');
      const t0 = process.hrtime.bigint();
      await victim.mgr.exited;
      victim.client.close();
      // Each survivor asks in a loop; the first 200 marks the end of the outage.
      let served: { by: string; at: bigint } | undefined;
      const deadline = Date.now() + (ttl + 60) * 1000;
      await Promise.all(survivors.map(async (s) => {
        while (!served && Date.now() < deadline && !ctx.signal.aborted) {
          try {
            const r = await s.client.request('GET', '/v1.41/containers/json?all=1', undefined, 1_000);
            if (r.status === 200) {
              if (!served) served = { by: s.addr, at: process.hrtime.bigint() };
              return;
            }
          } catch {
            // refused / timed out while no primary is known: keep asking
          }
          await sleep(50);
        }
      }));
      if (!served) throw new Error(`no surviving manager served a request within ${ttl + 60} s of the kill`);
      const seconds = Number(served.at - t0) / 1e9;
      let newPrimary: string | undefined;
      try {
        newPrimary = await waitRoles(survivors, 30_000, ctx.signal);
      } catch {
        newPrimary = undefined;
      }
      out.push({ killed: primary, seconds, servedBy: served.by, newPrimary });
      ctx.progress.log(`${backend}: failover ${seconds.toFixed(2)} s (TTL ${ttl} s), served by ${served.by}, new primary ${newPrimary ?? '?'}`);
      // Bring the killed manager back (same address) as a replica for the next trial.
      managers.splice(managers.indexOf(victim), 1, await start(victim.port));
    }
  } finally {
    for (const m of managers) {
      m.client.close();
      await m.mgr.stop();
    }
    await store.destroy();
  }
  return { trials: out, setup: url.replace(/\/bench-.*/, '') };
}

export const part: BenchPart = {
  name: 'failover',
  title: '5. Failover (replicated managers)',
  targets: [TARGETS.failoverEtcd, TARGETS.failoverZk],

  async run(ctx) {
    await requireCli();
    const k = await kit();
    const ttl = ctx.quick ? 5 : 20;
    const trials = ctx.quick ? 1 : 3;
    const results: Record<string, { trials: Trial[]; error?: string }> = {};
    const targets: TargetResult[] = [];
    const defs: Record<'etcd' | 'zk', TargetDef> = {
      etcd: { ...TARGETS.failoverEtcd, threshold: ttl + 2 },
      zk: { ...TARGETS.failoverZk, threshold: ttl + 2 },
    };
    for (const backend of ['etcd', 'zk'] as const) {
      try {
        const r = await measureBackend(ctx, k, backend, ttl, trials);
        results[backend] = { trials: r.trials };
        const worst = Math.max(...r.trials.map((x) => x.seconds));
        targets.push(evaluate(defs[backend], worst, `TTL ${ttl} s; worst of ${r.trials.length}: ${r.trials.map((x) => x.seconds.toFixed(2)).join(', ')} s`));
      } catch (err) {
        const lines = (err as Error).message.split('\n').map((l) => l.trim()).filter(Boolean);
        const marker = lines.findIndex((l) => l.startsWith('---'));
        const tail = marker >= 0 ? lines.slice(marker + 1).pop() : undefined;
        const msg = `${lines[0]}${tail ? ` — ${tail.slice(0, 200)}` : ''}`;
        results[backend] = { trials: [], error: msg };
        targets.push(notRun(defs[backend], err instanceof NotRunError ? msg : `failed: ${msg}`));
        ctx.progress.log(`${backend}: ${msg}`);
      }
    }
    const nothing = Object.values(results).every((r) => r.trials.length === 0);
    const tables: TableSpec[] = [{
      title: `kill -9 of the primary → first request served (replication TTL ${ttl} s; target ≤ ${ttl + 2} s)`,
      columns: ['store', 'trial', 'seconds', 'seconds over TTL', 'served by', 'new primary'],
      rows: Object.entries(results).flatMap(([b, r]): (string | number | null)[][] => r.trials.length
        ? r.trials.map((x, i) => [b === 'zk' ? 'ZooKeeper' : 'etcd', i + 1, x.seconds, x.seconds - ttl, x.servedBy, x.newPrimary ?? '?'])
        : [[b === 'zk' ? 'ZooKeeper' : 'etcd', '—', null, null, r.error ?? '', '']]),
    }];
    return {
      status: nothing ? 'not run' as const : 'ok' as const,
      ...(nothing ? { reason: `no failover measured: ${Object.entries(results).map(([b, r]) => `${b}: ${r.error}`).join('; ')}` } : {}),
      setup: { managers: 3, ttl: `${ttl} s`, trials, probe: 'GET /containers/json every 50 ms on each survivor (1 s timeout)' },
      raw: { ttl, results, summary: Object.fromEntries(Object.entries(results).map(([b, r]) => [b, summarize(r.trials.map((x) => x.seconds))])) },
      targets,
      tables,
      charts: nothing ? [] : [{
        id: 'failover', title: `Failover time (TTL ${ttl} s)`, kind: 'bars', unit: 's',
        categories: Object.keys(results).map((b) => (b === 'zk' ? 'ZooKeeper' : 'etcd')),
        series: Array.from({ length: trials }, (_, i) => ({ name: `trial ${i + 1}`, values: Object.values(results).map((r) => r.trials[i]?.seconds ?? null) })),
        reference: { value: ttl + 2, label: `TTL + 2 s = ${ttl + 2} s` },
      }],
    };
  },
};
