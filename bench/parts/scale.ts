/**
 * Part 4 — scale. The engine simulator (bench/sim, its own process) hosts 1,000 engines; a
 * `swarm manage` discovers them (nodes:// list), then containers are created+started through it
 * 10 at a time. Reports manager RSS (from /proc), time to discover all nodes, manager CPU spent
 * on refresh cycles while idle, and placement latency p50/p99 per tenth of the run as the
 * cluster fills.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { requireCli } from '../lib/engines.ts';
import { burst, Client, createStart } from '../lib/http.ts';
import { summarizeProfile, type ProfileSummary } from '../lib/cpuprofile.ts';
import { binNodeFlags, cpuMs, rssMB, startBinManager, startProfiledManager, waitHealthy } from '../lib/manager.ts';
import { NotRunError, type BenchPart } from '../lib/part.ts';
import { ratio, summarize, type Summary } from '../lib/stats.ts';
import { evaluate, TARGETS } from '../lib/targets.ts';
import type { RunContext, TableSpec, TargetResult } from '../lib/types.ts';

const SIM_HOST = '127.0.0.80';
const SIM_BASE_PORT = 23_000;
/**
 * Simulator processes: one event loop serving all engines would cap the measurement (each
 * container costs several engine calls and two events), so the engines are split over two processes.
 */
const SIM_WORKERS = 2;
const CONCURRENCY = 10;
const CHECKPOINT = 10_000;

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface SimProcess {
  proc: ChildProcess;
  engines: string[];
  /** The simulator's processes (its CPU is read from /proc: a saturated simulator would cap the figures). */
  pids: number[];
  /** Summed over the simulator's processes. */
  stats(): Promise<{ requests: Record<string, number>; containers: number; eventSubscribers: number; connections: number }>;
  stop(): Promise<void>;
}

async function startSim(count: number): Promise<SimProcess> {
  const main = fileURLToPath(new URL('../sim/main.ts', import.meta.url));
  const proc = spawn(process.execPath, ['--import', 'tsx', main, '--count', String(count), '--host', SIM_HOST, '--base-port', String(SIM_BASE_PORT), '--workers', String(SIM_WORKERS)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const ready = await new Promise<{ engines: string[]; stats: string[]; pids?: number[] }>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', (line) => {
      try {
        resolve(JSON.parse(line) as { engines: string[]; stats: string[]; pids?: number[] });
      } catch (err) {
        reject(err);
      }
    });
    proc.once('exit', (code) => reject(new Error(`simulator exited with ${code}: ${stderr.slice(-500)}`)));
  });
  const admins = ready.stats.map((addr) => new Client(addr, 2));
  return {
    proc,
    engines: ready.engines,
    pids: ready.pids ?? [proc.pid!],
    async stats() {
      const parts = await Promise.all(admins.map(async (a) => JSON.parse((await a.expect('GET', '/_sim/stats', [200])).body) as {
        requests: Record<string, number>; containers: number; eventSubscribers: number; connections?: number;
      }));
      const requests: Record<string, number> = {};
      for (const p of parts) for (const [k, v] of Object.entries(p.requests)) requests[k] = (requests[k] ?? 0) + v;
      return {
        requests,
        containers: parts.reduce((n, p) => n + p.containers, 0),
        eventSubscribers: parts.reduce((n, p) => n + p.eventSubscribers, 0),
        connections: parts.reduce((n, p) => n + (p.connections ?? 0), 0),
      };
    },
    async stop() {
      for (const a of admins) a.close();
      if (proc.exitCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(t);
    },
  };
}

export const part: BenchPart = {
  name: 'scale',
  title: '4. Scale (1,000 simulated engines; 200 in a quick run)',
  targets: [TARGETS.scaleRate, TARGETS.scaleP99, TARGETS.scaleRss, TARGETS.scaleCollapse],

  async run(ctx: RunContext) {
    await requireCli();
    // Quick: a fifth of the cluster, so that discovery fits in the 5-minute budget.
    const engineCount = ctx.quick ? 200 : 1_000;
    const total = ctx.quick ? 2_000 : 30_000;
    const idleWindowMs = ctx.quick ? 10_000 : 60_000;
    const { progress } = ctx;

    progress.step(`starting ${engineCount} simulated engines`);
    const sim = await startSim(engineCount);
    let mgr: { host: string; pid: number; stop(): Promise<void> } | undefined;
    let profileDir: string | undefined;
    let m: Client | undefined;
    try {
      progress.step(`manager discovering ${engineCount} engines`);
      const t0 = Date.now();
      // Refresh cycles must happen inside the idle window to be measured: the full run keeps
      // the legacy defaults (30-60 s) with a 60 s window; the quick run's 10 s window needs 5-10 s.
      const refreshArgs = ctx.quick ? ['5s', '10s'] : ['30s', '60s'];
      const args = ['--engine-refresh-min-interval', refreshArgs[0], '--engine-refresh-max-interval', refreshArgs[1], `nodes://${sim.engines.join(',')}`];
      if (ctx.profile) {
        profileDir = mkdtempSync(path.join(os.tmpdir(), 'swarm-bench-prof-'));
        mgr = await startProfiledManager(ctx.root, `${SIM_HOST}:${await freePort(SIM_HOST)}`, args, profileDir);
      } else {
        // As users launch it: the `swarm` executable (core/cli/bin.js), with its launcher's node flags.
        mgr = await startBinManager(ctx.root, `${SIM_HOST}:${await freePort(SIM_HOST)}`, args);
      }
      m = new Client(mgr.host, CONCURRENCY * 2);
      const pid = mgr.pid;
      let discoverMs: number;
      try {
        let shown = -1;
        await waitHealthy(m, engineCount, ctx.quick ? 180_000 : 600_000, (i) => {
          // One progress line per 10% of the nodes, not per poll (logs stay short off a terminal).
          const decile = Math.floor((i.healthy / engineCount) * 10);
          if (decile !== shown) {
            shown = decile;
            progress.step(`discovery: ${i.healthy}/${engineCount} healthy, ${i.pending} pending`);
          }
        }, ctx.signal);
        discoverMs = Date.now() - t0;
      } catch (err) {
        throw new NotRunError(`manager did not discover the simulated engines: ${(err as Error).message}`);
      }
      const rssIdle = rssMB(pid);

      // Refresh cycles while idle: manager CPU over a window, and how many engine refreshes happened.
      progress.step(`idle refresh window ${idleWindowMs / 1000} s`);
      const s0 = await sim.stats();
      const c0 = cpuMs(pid);
      const w0 = Date.now();
      while (Date.now() - w0 < idleWindowMs && !ctx.signal.aborted) await new Promise((r) => setTimeout(r, 250));
      const windowMs = Date.now() - w0;
      const c1 = cpuMs(pid);
      const s1 = await sim.stats();
      const diff = (k: string) => (s1.requests[k] ?? 0) - (s0.requests[k] ?? 0);
      const refreshes = diff('GET /containers/json');
      const refreshCpuMs = c1 - c0;
      const refresh = {
        windowS: windowMs / 1000,
        cpuMs: refreshCpuMs,
        cpuPercentOfOneCore: (refreshCpuMs / windowMs) * 100,
        engineRefreshes: refreshes,
        cpuMsPerEngineRefresh: refreshes > 0 ? refreshCpuMs / refreshes : NaN,
        /** CPU for refreshing every engine once (engine refreshes / engines = cluster cycles). */
        cpuMsPerClusterCycle: refreshes > 0 ? refreshCpuMs / (refreshes / engineCount) : NaN,
        requestsDuringWindow: Object.fromEntries(Object.keys(s1.requests).map((k) => [k, diff(k)]).filter(([, v]) => (v as number) > 0)),
      };

      // Fill the cluster.
      progress.step(`create+start ${total.toLocaleString('en')} containers, ${CONCURRENCY} at a time`, total);
      const done: { at: number; ms: number }[] = [];
      const rssAt: { containers: number; rssMB: number }[] = [{ containers: 0, rssMB: rssIdle }];
      let rssCheckpoint: number | undefined;
      let failures = 0;
      let firstError = '';
      const simLoad0 = await sim.stats();
      const simCpu = () => sim.pids.reduce((sum, p) => { try { return sum + cpuMs(p); } catch { return sum; } }, 0);
      const simCpu0 = simCpu();
      const benchCpu0 = process.cpuUsage();
      const cpuLoad0 = cpuMs(pid);
      /** Manager CPU (ms) when the n-th container was done, at each tenth of the run (where the CPU per container goes as it fills). */
      const cpuAt = new Map<number, number>([[0, cpuLoad0]]);
      const start = process.hrtime.bigint();
      // A slow manager must not turn the run into an hour: stop filling at a time cap (the figures
      // are still written, marked as capped).
      const capMs = ctx.quick ? 45_000 : 600_000;
      let capped = false;
      await burst(total, CONCURRENCY, async (i) => {
        if (ctx.signal.aborted) return;
        if (Number(process.hrtime.bigint() - start) / 1e6 > capMs) {
          capped = true;
          return;
        }
        try {
          const r = await createStart(m!, `scale-${i}`, { Image: 'busybox:latest', Cmd: ['sleep', '86400'] });
          done.push({ at: Number(process.hrtime.bigint() - start) / 1e6, ms: r.ms });
        } catch (err) {
          failures++;
          if (!firstError) firstError = (err as Error).message;
          if (failures > 50 && failures > done.length / 10) throw new Error(`too many failures (${failures}), first: ${firstError}`);
        }
        const n = done.length;
        if (n > 0 && n % Math.max(1, Math.floor(total / 10)) === 0 && !rssAt.some((x) => x.containers === n)) {
          rssAt.push({ containers: n, rssMB: rssMB(pid) });
          cpuAt.set(n, cpuMs(pid));
        }
        if (n === CHECKPOINT && rssCheckpoint === undefined) rssCheckpoint = rssMB(pid);
        progress.tick();
      });
      const loadCpuEnd = cpuMs(pid);
      const loadCpuMs = loadCpuEnd - cpuLoad0;
      const simLoadCpuMs = simCpu() - simCpu0;
      const benchUsage = process.cpuUsage(benchCpu0);
      const benchLoadCpuMs = (benchUsage.user + benchUsage.system) / 1000;
      const rssEnd = rssMB(pid);
      const simEnd = await sim.stats();

      // Figures.
      const n = done.length;
      // Engine calls the manager made per container while filling (simulator's counts, all routes).
      const engineCalls = Object.entries(simEnd.requests).reduce((sum, [k, v]) => sum + v - (simLoad0.requests[k] ?? 0), 0);
      const engineCallsPerContainer = engineCalls / Math.max(1, n);
      const connectionsWhileFilling = simEnd.connections - simLoad0.connections;
      const upto = Math.min(CHECKPOINT, n);
      const firstK = done.slice(0, upto);
      const firstKSeconds = upto > 0 ? firstK[upto - 1].at / 1000 : NaN;
      const firstKRate = upto / firstKSeconds;
      const firstKLat = summarize(firstK.map((d) => d.ms));
      const deciles: { from: number; to: number; rate: number; lat: Summary; cpuMsPerContainer: number | null }[] = [];
      const step = Math.floor(n / 10);
      for (let d = 0; d < 10 && step > 0; d++) {
        const a = d * step;
        const b = d === 9 ? n : (d + 1) * step;
        const tStart = a === 0 ? 0 : done[a - 1].at;
        const tEnd = done[b - 1].at;
        const c0 = cpuAt.get(a);
        const c1 = d === 9 ? cpuAt.get(b) ?? loadCpuEnd : cpuAt.get(b);
        deciles.push({
          from: a + 1, to: b, rate: (b - a) / ((tEnd - tStart) / 1000), lat: summarize(done.slice(a, b).map((x) => x.ms)),
          cpuMsPerContainer: c0 !== undefined && c1 !== undefined ? (c1 - c0) / (b - a) : null,
        });
      }
      const collapse = deciles.length === 10 ? ratio(deciles[9].rate, deciles[0].rate) : NaN;
      const why = `${capped ? `stopped at the ${capMs / 1000} s time cap` : ctx.quick ? 'quick run' : 'short run'}${engineCount < 1_000 ? ` on ${engineCount} engines, not 1,000` : ''}`;
      const reduced = n < CHECKPOINT || engineCount < 1_000 ? `${why}: measured over ${n.toLocaleString('en')} containers, not ${CHECKPOINT.toLocaleString('en')}` : undefined;
      const rssFigure = rssCheckpoint ?? rssEnd;
      const targets: TargetResult[] = [
        evaluate(TARGETS.scaleRate, firstKRate, reduced),
        evaluate(TARGETS.scaleP99, firstKLat.p99, reduced),
        evaluate(TARGETS.scaleRss, rssFigure, reduced ?? undefined),
        evaluate(TARGETS.scaleCollapse, collapse, n < 30_000 ? `${why}: ${n.toLocaleString('en')}-container run, not 30,000` : undefined),
      ];
      if (ctx.profile) targets.forEach((t) => { t.note = `${t.note ? `${t.note}; ` : ''}measured with the manager under --cpu-prof`; });
      if (failures) targets.forEach((t) => { t.note = `${t.note ? `${t.note}; ` : ''}${failures} create+start failures (first: ${firstError.slice(0, 120)})`; });

      // With --profile: stop the manager now so it writes its CPU profile, and report it.
      const profileTables: TableSpec[] = [];
      let profile: ProfileSummary | undefined;
      if (profileDir) {
        progress.step('writing the manager CPU profile');
        await mgr.stop();
        mgr = undefined;
        const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(profileDir!, f));
        const summaries = files.map((f) => summarizeProfile(f, ctx.root));
        profile = summaries.sort((a, b) => b.totalMs - a.totalMs)[0]; // the main thread, not tsx's loader thread
        if (profile) {
          const p = profile;
          profileTables.push({
            title: `Manager CPU profile over the whole run (${(p.totalMs / 1000).toFixed(1)} s busy): our code that spent it (callees included)`,
            columns: ['first frame in this repository', 'ms', 'share'],
            rows: p.ours.map((r) => [r.frame, r.ms, `${(r.share * 100).toFixed(1)}%`]),
          }, {
            title: 'Manager CPU profile: self time per function',
            columns: ['function', 'ms', 'share'],
            rows: p.self.map((r) => [r.frame, r.ms, `${(r.share * 100).toFixed(1)}%`]),
          });
        }
        rmSync(profileDir, { recursive: true, force: true });
      }

      return {
        status: 'ok' as const,
        setup: {
          ...(ctx.profile ? { profile: 'manager under node --cpu-prof (slower than normal)' } : {}),
          manager: `the swarm executable (core/cli/bin.js; node flags ${binNodeFlags(ctx.root).join(' ') || 'none'})`,
          engines: `${engineCount} simulated (${SIM_WORKERS} processes, ${SIM_HOST}:${SIM_BASE_PORT}+)`, containers: total, concurrency: CONCURRENCY,
          discovery: 'nodes:// list', refresh: ctx.quick ? '5s..10s (so that cycles fall in the short idle window)' : '30s..60s (defaults)', 'idle window': `${idleWindowMs / 1000} s`,
        },
        raw: {
          discoverMs, rssIdleMB: rssIdle, rssAtCheckpointMB: rssCheckpoint ?? null, rssEndMB: rssEnd, rssAt, refresh,
          created: n, capped, failures, firstError, firstK: { containers: upto, seconds: firstKSeconds, rate: firstKRate, latency: firstKLat },
          deciles, collapse, loadCpuMs, managerCpuMsPerContainer: loadCpuMs / Math.max(1, n), engineCallsPerContainer, simulator: simEnd,
          simulatorCpuMsPerContainer: simLoadCpuMs / Math.max(1, n), loadGeneratorCpuMsPerContainer: benchLoadCpuMs / Math.max(1, n), connectionsWhileFilling,
          ...(profile ? { profile } : {}),
        },
        targets,
        tables: [{
          title: 'Discovery, memory and refresh',
          columns: ['figure', 'value'],
          rows: [
            [`time to discover all ${engineCount.toLocaleString('en')} nodes (spawn → all Healthy)`, `${(discoverMs / 1000).toFixed(1)} s`],
            ['manager RSS after discovery, no containers', `${rssIdle.toFixed(0)} MB`],
            [`manager RSS at ${(rssCheckpoint !== undefined ? CHECKPOINT : n).toLocaleString('en')} containers`, `${rssFigure.toFixed(0)} MB`],
            [`manager RSS at the end (${n.toLocaleString('en')} containers)`, `${rssEnd.toFixed(0)} MB`],
            [`idle refresh: manager CPU over ${refresh.windowS.toFixed(0)} s`, `${refresh.cpuMs.toFixed(0)} ms (${refresh.cpuPercentOfOneCore.toFixed(1)}% of one core)`],
            ['idle refresh: engine refreshes seen by the simulator (container lists)', refresh.engineRefreshes],
            ['idle refresh: manager CPU per engine refresh', Number.isFinite(refresh.cpuMsPerEngineRefresh) ? `${refresh.cpuMsPerEngineRefresh.toFixed(2)} ms` : '— (no refresh in the window)'],
            [`idle refresh: manager CPU per refresh cycle of all ${engineCount.toLocaleString('en')} engines`, Number.isFinite(refresh.cpuMsPerClusterCycle) ? `${refresh.cpuMsPerClusterCycle.toFixed(0)} ms` : '—'],
            ['manager CPU per container created+started (under load)', `${(loadCpuMs / Math.max(1, n)).toFixed(2)} ms`],
            ['engine calls per container while filling (simulator count: create, start, inspects, refreshes)', engineCallsPerContainer.toFixed(2)],
            ['TCP connections the manager opened to engines while filling', connectionsWhileFilling],
            ['CPU per container while filling: simulator (all its processes) / load generator (this process)', `${(simLoadCpuMs / Math.max(1, n)).toFixed(2)} ms / ${(benchLoadCpuMs / Math.max(1, n)).toFixed(2)} ms`],
            [`create+start over the first ${upto.toLocaleString('en')}`, `${firstKRate.toFixed(0)} containers/s, p50 ${firstKLat.p50.toFixed(1)} ms, p99 ${firstKLat.p99.toFixed(1)} ms`],
            ['failures', failures],
          ],
        }, {
          title: 'As the cluster fills (each tenth of the run)',
          columns: ['containers', 'containers/s', 'p50 ms', 'p99 ms', 'max ms', 'manager CPU ms per container'],
          rows: deciles.map((d) => [`${d.from}–${d.to}`, d.rate, d.lat.p50, d.lat.p99, d.lat.max, d.cpuMsPerContainer === null ? '—' : d.cpuMsPerContainer.toFixed(2)]),
        }, ...profileTables],
        charts: [{
          id: 'scale-latency', title: 'create+start latency as the cluster fills', kind: 'lines', unit: 'ms',
          categories: deciles.map((d, i) => `${(i + 1) * 10}%`),
          series: [{ name: 'p50', values: deciles.map((d) => d.lat.p50) }, { name: 'p99', values: deciles.map((d) => d.lat.p99) }],
          reference: { value: 50, label: 'p99 target < 50 ms' },
        }, {
          id: 'scale-rate', title: 'Containers/s per tenth of the run', kind: 'bars', unit: 'containers/s',
          categories: deciles.map((d, i) => `${(i + 1) * 10}%`),
          series: [{ name: 'containers/s', values: deciles.map((d) => d.rate) }],
          reference: { value: 500, label: 'target ≥ 500/s' },
        }, {
          id: 'scale-rss', title: 'Manager RSS as the cluster fills', kind: 'lines', unit: 'MB',
          categories: rssAt.map((r) => r.containers.toLocaleString('en')),
          series: [{ name: 'RSS', values: rssAt.map((r) => r.rssMB) }],
          reference: { value: 300, label: '300 MB' },
        }],
      };
    } finally {
      m?.close();
      progress.step('stopping manager and simulator');
      await mgr?.stop();
      await sim.stop();
    }
  },
};
