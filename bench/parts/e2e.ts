/**
 * Part 3 — end to end. Bursts of create+start (N containers, 10 at a time) through the manager
 * on 3 real engines vs the same containers sent round-robin straight to the engines. Bursts
 * alternate (manager, direct, direct, manager, …) so both see the same machine; containers/s
 * and the ratio manager / direct.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { benchEngines, kit, requireCli } from '../lib/engines.ts';
import { burst, Client, createStart } from '../lib/http.ts';
import { cpuMs, waitHealthy } from '../lib/manager.ts';
import type { BenchPart } from '../lib/part.ts';
import { ratio, summarize } from '../lib/stats.ts';
import { evaluate, TARGETS } from '../lib/targets.ts';
import { benchBody, cleanupEngines } from './api.ts';

const CONCURRENCY = 10;

export const part: BenchPart = {
  name: 'e2e',
  title: '3. End to end (bursts of create+start)',
  targets: [TARGETS.e2eRatio],

  async run(ctx) {
    await requireCli();
    const engines = await benchEngines(ctx);
    const { startManager } = await kit();
    const perBurst = ctx.quick ? 20 : 60;
    // Each pair = one manager burst + one direct burst, in alternating order (M D D M …) so a
    // drift of the machine over the run does not favour one side.
    // Bursts of one side vary by about ±10% on this machine: 6 pairs keep the ratio's own noise
    // near ±5%, well inside the gap between a good and a bad manager.
    const pairs = ctx.quick ? 2 : 6;
    const run = randomBytes(3).toString('hex');
    const mgr = await startManager(['--engine-refresh-min-interval', '30s', '--engine-refresh-max-interval', '60s', `nodes://${engines.map((e) => e.addr).join(',')}`]);
    const m = new Client(mgr.host, CONCURRENCY * 2);
    const direct = engines.map((e) => new Client(e.host, CONCURRENCY * 2));
    // Manager CPU per container of its bursts: on 2 shared cores every CPU-ms it spends is taken from the engines.
    let settled: Settled | undefined;
    const bursts: { side: 'manager' | 'direct'; seconds: number; rate: number; p50: number; p99: number; managerCpuMs: number }[] = [];
    try {
      await waitHealthy(m, engines.length, 60_000, undefined, ctx.signal);
      const order: ('manager' | 'direct')[] = [];
      for (let i = 0; i < pairs; i++) order.push(...(i % 2 === 0 ? ['manager', 'direct'] as const : ['direct', 'manager'] as const));
      // One small untimed burst each to warm connections.
      await burst(CONCURRENCY, CONCURRENCY, (i) => createStart(m, `bench-w-${run}-m${i}`, benchBody(run)));
      await burst(CONCURRENCY, CONCURRENCY, (i) => createStart(direct[i % 3], `bench-w-${run}-d${i}`, benchBody(run)));
      await cleanupEngines(engines);
      // The part before this one (or its cleanup) may leave the engines busy for a while; on 2
      // cores that work would be measured as part of whichever bursts run first.
      ctx.progress.step('waiting for the machine to settle');
      settled = await settle(ctx.signal);
      let b = 0;
      for (const side of order) {
        if (ctx.signal.aborted) break;
        ctx.progress.step(`burst ${++b}/${order.length}: ${perBurst} containers via ${side}, ${CONCURRENCY} at a time`, perBurst);
        const cpu0 = cpuMs(mgr.pid);
        const t0 = process.hrtime.bigint();
        const res = await burst(perBurst, CONCURRENCY, async (i) => {
          const name = `bench-e2e-${run}-${b}-${i}`;
          const r = side === 'manager' ? await createStart(m, name, benchBody(run)) : await createStart(direct[i % direct.length], name, benchBody(run));
          ctx.progress.tick();
          return r.ms;
        });
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const managerCpuMs = cpuMs(mgr.pid) - cpu0;
        const s = summarize(res);
        bursts.push({ side, seconds, rate: perBurst / seconds, p50: s.p50, p99: s.p99, managerCpuMs });
        // Same starting state for every burst: remove what it created (not timed).
        ctx.progress.step('removing burst containers');
        await cleanupEngines(engines);
      }
    } finally {
      m.close();
      for (const d of direct) d.close();
      await mgr.stop();
      await cleanupEngines(engines);
    }
    const total = (side: string) => {
      const bs = bursts.filter((x) => x.side === side);
      return (bs.length * perBurst) / bs.reduce((a, x) => a + x.seconds, 0);
    };
    const mRate = total('manager');
    const dRate = total('direct');
    const r = ratio(mRate, dRate);
    return {
      status: 'ok',
      setup: {
        engines: 3, 'containers per burst': perBurst, concurrency: CONCURRENCY, bursts: bursts.length, image: 'busybox:latest (Cmd true)',
        ...(settled ? { 'CPU idle before the bursts': `${(settled.idle * 100).toFixed(0)}% after waiting ${settled.waitedS.toFixed(0)} s (wanted ≥ ${SETTLED_IDLE * 100}%, waits ${SETTLE_MAX_S} s at most)` } : {}),
      },
      raw: { bursts, managerRate: mRate, directRate: dRate, ratio: r },
      targets: [evaluate(TARGETS.e2eRatio, r, `manager ${mRate.toFixed(2)}/s vs direct ${dRate.toFixed(2)}/s over ${pairs} bursts each of ${perBurst}${ctx.quick ? ' (quick run)' : ''}`)],
      tables: [{
        title: 'Bursts in the order they ran',
        columns: ['#', 'via', 'seconds', 'containers/s', 'create+start p50 ms', 'p99 ms', 'manager CPU ms per container (idle on direct bursts)'],
        rows: bursts.map((x, i) => [i + 1, x.side, x.seconds, x.rate, x.p50, x.p99, x.managerCpuMs / perBurst]),
      }, {
        title: 'Totals',
        columns: ['manager containers/s', 'direct round-robin containers/s', 'manager / direct'],
        rows: [[mRate, dRate, r]],
      }],
      charts: [{
        id: 'e2e-rate', title: 'Containers per second, bursts of create+start', kind: 'bars', unit: 'containers/s',
        categories: bursts.map((x, i) => `${i + 1}: ${x.side}`),
        series: [{ name: 'containers/s', values: bursts.map((x) => x.rate) }],
      }],
    };
  },
};

/** Share of CPU time idle that counts as settled, and the longest wait for it. */
const SETTLED_IDLE = 0.8;
const SETTLE_MAX_S = 90;

interface Settled {
  /** Idle share of all CPUs over the last 2 s window. */
  idle: number;
  waitedS: number;
}

/** Idle and total jiffies of all CPUs (Linux /proc/stat). */
function cpuTimes(): { idle: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = fields[3] + (fields[4] ?? 0); // idle + iowait
  return { idle, total: fields.reduce((a, x) => a + x, 0) };
}

/** Wait (2 s windows) until the CPUs are mostly idle, or SETTLE_MAX_S passed. */
async function settle(signal: AbortSignal): Promise<Settled> {
  const started = Date.now();
  for (;;) {
    const a = cpuTimes();
    await new Promise((r) => setTimeout(r, 2000));
    const b = cpuTimes();
    const idle = b.total > a.total ? (b.idle - a.idle) / (b.total - a.total) : 1;
    const waitedS = (Date.now() - started) / 1000;
    if (idle >= SETTLED_IDLE || waitedS >= SETTLE_MAX_S || signal.aborted) return { idle, waitedS };
  }
}
