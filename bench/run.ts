/**
 * `npm run bench [-- --quick] [-- --only scheduler,api]`: runs the benchmark parts in `bench/parts/`
 * one after the other and writes `bench/results/latest.json` (raw figures + computed `targets`),
 * `bench/results/latest.md` and the SVG charts it references (`bench/results/charts/`).
 *
 * With `--only`, the parts not run keep their figures from the previous `latest.json` (each part
 * records when it was measured), so one part can be re-measured without losing the others.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchPart } from './lib/part.ts';
import { NotRunError } from './lib/part.ts';
import { createProgress } from './lib/progress.ts';
import { renderMarkdown, type RunResult } from './lib/report.ts';
import { renderChart } from './lib/svg.ts';
import { notRun } from './lib/targets.ts';
import type { PartResult, RunContext } from './lib/types.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const RESULTS = path.join(HERE, 'results');
const CHARTS = path.join(RESULTS, 'charts');

/** Run order: cheap in-process parts first, the ones that start servers later. */
const PARTS = ['scheduler', 'api', 'e2e', 'scale', 'failover'] as const;

function usage(): never {
  process.stderr.write(`usage: npm run bench -- [--quick] [--profile] [--only ${PARTS.join(',')}]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): { quick: boolean; profile: boolean; only: string[] | null } {
  let quick = false;
  let profile = false;
  let only: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--profile') profile = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v) usage();
      only = v.split(',').map((s) => s.trim()).filter(Boolean);
      for (const p of only) if (!(PARTS as readonly string[]).includes(p)) {
        process.stderr.write(`unknown part "${p}"; parts: ${PARTS.join(', ')}\n`);
        process.exit(2);
      }
    } else if (a === '--help' || a === '-h') usage();
    else {
      process.stderr.write(`unknown argument ${a}\n`);
      usage();
    }
  }
  return { quick, profile, only };
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

async function loadPrevious(): Promise<RunResult | undefined> {
  try {
    return JSON.parse(await readFile(path.join(RESULTS, 'latest.json'), 'utf8')) as RunResult;
  } catch {
    return undefined;
  }
}

async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/**
 * First line of an error, plus the last line of any child output attached to it (the kit appends
 * the manager's log), so the report says why a server did not come up.
 */
function briefError(e: Error): string {
  const lines = e.message.split('\n').map((l) => l.trim()).filter(Boolean);
  const first = lines[0] ?? String(e);
  const marker = lines.findIndex((l) => l.startsWith('---'));
  const tail = marker >= 0 ? lines.slice(marker + 1).filter((l) => !l.startsWith('at ')).pop() : undefined;
  return `${first}${tail ? ` — ${tail.slice(0, 240)}` : ''}`;
}

async function main(): Promise<void> {
  const { quick, profile, only } = parseArgs(process.argv.slice(2));
  const progress = createProgress();
  const abort = new AbortController();
  let interrupted = 0;
  process.on('SIGINT', () => {
    // First Ctrl-C: let the current part clean up its servers; second: leave now.
    if (++interrupted > 1) process.exit(130);
    progress.log('interrupted: stopping after cleanup (Ctrl-C again to leave at once)');
    abort.abort();
  });

  const startedAt = new Date().toISOString();
  const loadAtStart = os.loadavg().map((x) => Number(x.toFixed(2)));
  const exits: (() => Promise<void>)[] = [];
  const ctx: RunContext = {
    quick, profile, root: ROOT, progress, signal: abort.signal, shared: new Map(),
    onExit: (fn) => { exits.push(fn); },
  };
  const selected = only ?? [...PARTS];
  const fresh: RunResult['parts'] = [];

  for (const name of selected) {
    progress.part(name);
    const t0 = Date.now();
    // Other work on the machine shows in every absolute figure: record it beside them.
    const load0 = os.loadavg()[0].toFixed(1);
    let part: BenchPart | undefined;
    let result: PartResult;
    try {
      part = (await import(`./parts/${name}.ts`)).part as BenchPart;
      progress.step('starting');
      if (abort.signal.aborted) throw new NotRunError('run interrupted');
      const r = await part.run(ctx);
      result = { part: name, title: part.title, durationMs: Date.now() - t0, ...r };
      result.setup = { ...result.setup, 'load average (1 min) at start → end': `${load0} → ${os.loadavg()[0].toFixed(1)}` };
    } catch (err) {
      const e = err as Error;
      const notRunReason = err instanceof NotRunError ? err.message : undefined;
      const reason = notRunReason ?? `failed: ${briefError(e)}`;
      if (!notRunReason) progress.log(`error: ${e.stack ?? e.message}`);
      result = {
        part: name,
        title: part?.title ?? name,
        status: notRunReason ? 'not run' : 'failed',
        reason,
        setup: {},
        raw: notRunReason ? {} : { error: e.stack ?? e.message },
        targets: (part?.targets ?? []).map((t) => notRun(t, reason)),
        tables: [],
        charts: [],
        durationMs: Date.now() - t0,
      };
    }
    progress.done();
    const met = result.targets.filter((t) => t.met).length;
    progress.log(`${result.status}${result.reason ? ` (${result.reason})` : ''}: ${met}/${result.targets.length} targets met, ${(result.durationMs / 1000).toFixed(1)} s`);
    fresh.push({ ...result, measuredAt: startedAt, quick });
  }
  progress.part('cleanup');
  for (const fn of exits.reverse()) {
    try {
      await fn();
    } catch (err) {
      progress.log(`cleanup failed: ${(err as Error).message}`);
    }
  }
  progress.part('report');

  // Keep the parts this run did not touch from the previous report.
  const previous = only ? await loadPrevious() : undefined;
  const parts: RunResult['parts'] = [];
  for (const name of PARTS) {
    const now = fresh.find((p) => p.part === name);
    const before = previous?.parts.find((p) => p.part === name);
    if (now) parts.push(now);
    else if (before) parts.push(before);
  }

  const run: RunResult = {
    meta: {
      startedAt,
      finishedAt: new Date().toISOString(),
      quick,
      only,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryMB: Math.round(os.totalmem() / 2 ** 20),
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
        loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: os.loadavg().map((x) => Number(x.toFixed(2))),
      },
      git: { commit: git(['rev-parse', 'HEAD']), dirty: git(['status', '--porcelain', '--', 'core', 'plugins', 'config', 'bench']) !== '' },
    },
    parts,
    targets: parts.flatMap((p) => p.targets),
  };

  await mkdir(CHARTS, { recursive: true });
  // Charts of parts carried over from a previous run are still on disk; only rewrite fresh ones
  // and drop files no part references any more.
  const keep = new Set(parts.flatMap((p) => p.charts.map((c) => `${c.id}.svg`)));
  for (const p of fresh) for (const c of p.charts) await writeAtomic(path.join(CHARTS, `${c.id}.svg`), renderChart(c));
  const { readdir } = await import('node:fs/promises');
  for (const f of await readdir(CHARTS)) if (f.endsWith('.svg') && !keep.has(f)) await rm(path.join(CHARTS, f));

  await writeAtomic(path.join(RESULTS, 'latest.json'), `${JSON.stringify(run, null, 2)}\n`);
  await writeAtomic(path.join(RESULTS, 'latest.md'), renderMarkdown(run, (id) => `charts/${id}.svg`));
  progress.done();
  const met = run.targets.filter((t) => t.met).length;
  process.stderr.write(`\n${met}/${run.targets.length} targets met. Report: ${path.relative(process.cwd(), path.join(RESULTS, 'latest.md'))}\n`);
  for (const t of run.targets) {
    process.stderr.write(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.name}: ${t.measured ?? '—'} ${t.unit} (want ${t.target})${t.note ? ` — ${t.note}` : ''}\n`);
  }
  // Parts may leave keep-alive sockets or worker pools referenced; the results are written.
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
