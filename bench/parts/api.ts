/**
 * Part 2 — API overhead. The same calls through `swarm manage` and straight to the same real
 * engines, interleaved one by one on keep-alive connections: container inspect, `ps -a`
 * (`GET /containers/json?all=1`), `version`, and create+start. Reported as manager / direct
 * ratios of p50 and p99, with 1 engine and with 3 engines. Each operation is first called untimed
 * on both sides (steady state, not first calls). With 3 engines the direct side of
 * `ps -a` asks the 3 engines in parallel (what a client without the manager would have to do),
 * and direct create+start goes round-robin.
 */
import { randomBytes } from 'node:crypto';
import { benchEngines, kit, requireCli, type BenchEngine } from '../lib/engines.ts';
import { API, Client, createStart } from '../lib/http.ts';
import { waitHealthy } from '../lib/manager.ts';
import type { BenchPart } from '../lib/part.ts';
import { ratio, sideBySide, summarize, type Summary } from '../lib/stats.ts';
import { evaluate, TARGETS } from '../lib/targets.ts';
import type { ChartSpec, RunContext, TableSpec, TargetResult } from '../lib/types.ts';

const OPS = ['inspect', 'ps -a', 'version', 'create+start'] as const;
type Op = (typeof OPS)[number];

interface OpResult {
  engines: number;
  op: Op;
  manager: Summary;
  direct: Summary;
  p50Ratio: number;
  p99Ratio: number;
}

export const BENCH_LABEL = 'com.example.swarm-bench';

/** Remove every container the bench created on the engines (label), straight on each engine. */
export async function cleanupEngines(engines: BenchEngine[]): Promise<void> {
  for (const e of engines) {
    const c = new Client(e.host, 8);
    try {
      const filters = encodeURIComponent(JSON.stringify({ label: [BENCH_LABEL] }));
      const list = await c.expect('GET', `${API}/containers/json?all=1&filters=${filters}`, [200]);
      const ids = (JSON.parse(list.body) as { Id: string }[]).map((x) => x.Id);
      // Parallel but bounded: dockerd serialises a lot of this anyway.
      for (let i = 0; i < ids.length; i += 8) {
        await Promise.all(ids.slice(i, i + 8).map((id) => c.request('DELETE', `${API}/containers/${id}?force=1`)));
      }
    } finally {
      c.close();
    }
  }
}

export function benchBody(run: string): Record<string, unknown> {
  // `true` exits at once: start still does the full namespace/cgroup setup, and nothing keeps running.
  return { Image: 'busybox:latest', Cmd: ['true'], Labels: { [BENCH_LABEL]: run } };
}

/**
 * create+start costs a real container start (a quarter to half a second here): fewer rounds than
 * the cheap calls, but not too few. The engine's own create+start time varies by ±25% or more from
 * one call to the next on this shared 2-core machine, while the manager's part is small. Checked
 * in session 3 on one engine, 40 interleaved pairs against a `swarm manage` process: p50 388 vs
 * 397 ms and 268 vs 263 ms (0.98x, 1.02x); the manager's CPU was 13.8 ms per pair it served vs
 * 8.3 ms per direct pair (it follows those through events too), so ~5.5 ms of its own; its engine
 * calls are the same for both kinds (create, start, and inspects/network lists driven by events)
 * and so is the container spec apart from the swarm ID label. With 80 pairs the p50 ratio still
 * came out 1.11x (1 engine) and 1.03x (3 engines) in one full run, and 0.97x to 1.12x with 8-16
 * pairs in quick runs of the same code, so the full run now takes 160 pairs (quick: 16): the
 * spread of a p50 shrinks with the square root of the samples.
 */
function createStartRounds(rounds: number): number {
  return Math.max(16, Math.round(rounds / 2.5));
}

async function measure(ctx: RunContext, engines: BenchEngine[], rounds: number, seedPerEngine: number): Promise<OpResult[]> {
  const { startManager } = await kit();
  const run = randomBytes(3).toString('hex');
  ctx.progress.step(`manager on ${engines.length} engine(s)`);
  const mgr = await startManager([
    '--engine-refresh-min-interval', '30s', '--engine-refresh-max-interval', '60s',
    `nodes://${engines.map((e) => e.addr).join(',')}`,
  ]);
  const m = new Client(mgr.host);
  const direct = engines.map((e) => new Client(e.host));
  const results: OpResult[] = [];
  try {
    await waitHealthy(m, engines.length, 60_000, undefined, ctx.signal);
    // Some containers so that ps -a and inspect are not trivially empty.
    ctx.progress.step('seeding containers', seedPerEngine * engines.length);
    const seeded: { id: string; engine: number }[] = [];
    for (let i = 0; i < seedPerEngine * engines.length; i++) {
      const ei = i % engines.length;
      const { id } = await createStart(direct[ei], `bench-seed-${run}-${i}`, benchBody(run));
      seeded.push({ id, engine: ei });
      ctx.progress.tick();
    }
    // The manager learns about containers created behind its back through the engines' events.
    const waitSeen = Date.now();
    while (Date.now() - waitSeen < 20_000) {
      const r = await m.expect('GET', `${API}/containers/json?all=1`, [200]);
      if ((JSON.parse(r.body) as unknown[]).length >= seeded.length) break;
      await new Promise((r2) => setTimeout(r2, 200));
    }
    // Warm both sides (connections, JIT, engine caches).
    for (let i = 0; i < 10; i++) {
      await m.request('GET', `${API}/version`);
      for (const d of direct) await d.request('GET', `${API}/version`);
    }

    const target = seeded[0];
    let n = 0;
    let rr = 0;
    const ops: Record<Op, { manager: () => Promise<number>; direct: () => Promise<number> }> = {
      'inspect': {
        manager: async () => (await m.expect('GET', `${API}/containers/${target.id}/json`, [200])).ms,
        direct: async () => (await direct[target.engine].expect('GET', `${API}/containers/${target.id}/json`, [200])).ms,
      },
      'ps -a': {
        manager: async () => (await m.expect('GET', `${API}/containers/json?all=1`, [200])).ms,
        direct: async () => {
          const t0 = process.hrtime.bigint();
          await Promise.all(direct.map((d) => d.expect('GET', `${API}/containers/json?all=1`, [200])));
          return Number(process.hrtime.bigint() - t0) / 1e6;
        },
      },
      'version': {
        manager: async () => (await m.expect('GET', `${API}/version`, [200])).ms,
        direct: async () => (await direct[0].expect('GET', `${API}/version`, [200])).ms,
      },
      'create+start': {
        manager: async () => (await createStart(m, `bench-m-${run}-${n++}`, benchBody(run))).ms,
        direct: async () => (await createStart(direct[rr++ % direct.length], `bench-d-${run}-${n++}`, benchBody(run))).ms,
      },
    };
    for (const op of OPS) {
      if (ctx.signal.aborted) break;
      const k = op === 'create+start' ? createStartRounds(rounds) : rounds;
      // Untimed calls of this very operation on both sides first: the figures are the steady state
      // of both paths (JIT-compiled code, pooled connections, engine caches), not their first calls.
      const warm = op === 'create+start' ? 2 : Math.min(50, k);
      ctx.progress.step(`${op}: ${warm} untimed warm-up calls per side (${engines.length} engine(s))`);
      for (let i = 0; i < warm && !ctx.signal.aborted; i++) {
        await ops[op].manager();
        await ops[op].direct();
      }
      ctx.progress.step(`${op} × ${k} (manager vs direct, ${engines.length} engine(s))`, k);
      let done = 0;
      const res = await sideBySide(k, ops[op].manager, async () => {
        const v = await ops[op].direct();
        ctx.progress.set(++done);
        return v;
      });
      const ms = summarize(res.a);
      const ds = summarize(res.b);
      results.push({ engines: engines.length, op, manager: ms, direct: ds, p50Ratio: ratio(ms.p50, ds.p50), p99Ratio: ratio(ms.p99, ds.p99) });
    }
  } finally {
    m.close();
    for (const d of direct) d.close();
    await mgr.stop();
    ctx.progress.step('removing bench containers');
    await cleanupEngines(engines);
  }
  return results;
}

export const part: BenchPart = {
  name: 'api',
  title: '2. API overhead (manager / direct)',
  targets: [TARGETS.apiInspect, TARGETS.apiPs, TARGETS.apiCreateStart],

  async run(ctx) {
    await requireCli();
    const engines = await benchEngines(ctx);
    const rounds = ctx.quick ? 40 : 400;
    const seedPerEngine = ctx.quick ? 4 : 10;
    const results = [
      ...await measure(ctx, engines.slice(0, 1), rounds, seedPerEngine),
      ...await measure(ctx, engines, rounds, seedPerEngine),
    ];

    const worst = (op: Op) => {
      const rs = results.filter((r) => r.op === op);
      if (!rs.length) return { value: NaN, note: 'not measured' };
      const w = rs.reduce((a, b) => (b.p50Ratio > a.p50Ratio ? b : a));
      return { value: w.p50Ratio, note: rs.map((r) => `${r.engines} engine(s): ${r.p50Ratio.toFixed(2)}x (${r.manager.p50.toFixed(2)} vs ${r.direct.p50.toFixed(2)} ms)`).join('; ') };
    };
    const targets: TargetResult[] = [
      evaluate(TARGETS.apiInspect, worst('inspect').value, worst('inspect').note),
      evaluate(TARGETS.apiPs, worst('ps -a').value, worst('ps -a').note),
      evaluate(TARGETS.apiCreateStart, worst('create+start').value, worst('create+start').note),
    ];
    const tables: TableSpec[] = [{
      title: 'Latency through the manager vs straight to the engine(s), interleaved call by call (ms; ratio = manager / direct)',
      columns: ['engines', 'call', 'samples', 'manager p50', 'direct p50', 'p50 ratio', 'manager p99', 'direct p99', 'p99 ratio'],
      rows: results.map((r) => [r.engines, r.op, r.manager.count, r.manager.p50, r.direct.p50, r.p50Ratio, r.manager.p99, r.direct.p99, r.p99Ratio]),
    }];
    const cats = results.map((r) => `${r.op} (${r.engines})`);
    const charts: ChartSpec[] = [{
      id: 'api-overhead', title: 'Manager / direct latency ratio (p50, p99)', kind: 'bars', unit: 'ratio',
      categories: cats,
      series: [{ name: 'p50', values: results.map((r) => r.p50Ratio) }, { name: 'p99', values: results.map((r) => r.p99Ratio) }],
      reference: { value: 1, label: 'parity' },
    }];
    return {
      status: 'ok',
      setup: { engines: '1 and 3 real dockerd (vfs)', rounds, 'create+start rounds': createStartRounds(rounds), containers: `${seedPerEngine} per engine present`, client: 'keep-alive HTTP, API /v1.41' },
      raw: { results },
      targets,
      tables,
      charts,
    };
  },
};
