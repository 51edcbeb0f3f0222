/**
 * The scheduling pipeline, in one place (legacy `scheduler/scheduler.go` + `filter.go` +
 * `strategy/*.go`):
 *
 *   candidates = validated nodes (healthy AND unhealthy: the health filter drops the latter,
 *                so its own message can be shown; pending/disconnected never take part)
 *   pass 1     filters with soft rules enforced → strategy scores
 *   pass 2     on ANY pass-1 failure (a filter emptied the set, or nothing fits the requested
 *              resources): the same with soft rules ignored; pass 2's error is the one reported
 *   placement  one of the best-scored nodes, drawn uniformly with an RNG seeded from the
 *              request id (the original's sort was unstable; ours is replayable)
 *   order      the placement, then score descending, equal scores in a seeded shuffled order
 *
 * Failure text is the original's: the health filter's own message; otherwise
 * `Unable to find a node that satisfies the following conditions ` and, for every filter up to
 * the failing one that checked something, `\n[cond1 cond2]` (Go's `%v` of a []string);
 * or `no resources available to schedule container` when the strategy rejected every node.
 *
 * Speed (bench/parts/scheduler.ts): what can be derived from the cluster snapshot alone is kept
 * with it (node-set.ts: schedulable nodes, the node table, per-node filter verdicts through
 * `Candidates.keepWhere`, row-local scores), so a placement on a snapshot seen before touches
 * only what the request changes. The placement is found by one scan of the scores, without
 * shuffling or sorting; `ranked` (full order) and `rejected` (every reason) are built
 * when first read — by explain output, `/swarm/plan` or a caller that wants alternatives.
 */
import type { Core } from '../core.ts';
import { SwarmError } from '../errors.ts';
import { Candidates } from './candidates.ts';
import { buildNodeTable, COLUMNS, tableBytes, tableView } from './node-table.ts';
import { nodeSetOf, nodeSetOfChunked, patchCount, patched, sharedCopyF64, sharedF64, verdictEpoch, type NodeSet } from './node-set.ts';
import type { Nodes } from './node-list.ts';
import { CHUNK_ROWS, chunksOf, inlineRunner, nthBestRow, type FusedJob, type ScoreSource } from './fused-scan.ts';
import { poolLikely, poolTurn } from './pool-choice.ts';
import type { RankPool } from './rank-pool.ts';
import { combineSummaries, scanScores, type ScanSummary } from './rank-summary.ts';
import type { NodeTable, NodeView, PlacementRequest, Rejection, ScoreFn, ScorerRef, ScoreRequest } from '../types.ts';

export const ERR_NO_RESOURCES = 'no resources available to schedule container';
export const ERR_NO_NODES = 'No nodes available in the cluster';
export const ERR_CONDITIONS_PREFIX = 'Unable to find a node that satisfies the following conditions ';
export const REASON_NO_RESOURCES = (node: NodeView, request: ScoreRequest) =>
  `${ERR_NO_RESOURCES}: requested ${request.cpus} CPUs and ${request.memory} B of memory; ` +
  `reserved ${node.usedCpus}/${node.totalCpus} CPUs and ${node.usedMemory}/${node.totalMemory} B`;

export interface RankedNode {
  node: NodeView;
  score: number;
}

export interface ScheduleResult {
  /**
   * Nodes that fit, best first. `ranked[0]` is the placement. Sorted when first read: a caller
   * that needs only the placement reads `top` and never pays for ordering the rest.
   */
  readonly ranked: RankedNode[];
  /** The placement: the same node and score as `ranked[0]`. */
  readonly top: RankedNode;
  /** 1 when the soft rules could be honoured, 2 when they were dropped. */
  pass: 1 | 2;
  /** Every drop of the successful pass: filter reasons, then strategy "does not fit". Built when first read. */
  readonly rejected: Rejection[];
  /** The request as scheduled (`enforceSoft` tells which pass). */
  request: PlacementRequest;
}

export interface ScheduleOptions {
  /** Worker pool for large clusters; used only above its threshold and for worker-safe scorers. */
  pool?: RankPool;
}

/** `SWARM_ERR_NO_SUITABLE_NODE` with the explain data of the last pass attached. */
export class NoSuitableNodeError extends SwarmError {
  readonly rejected: readonly Rejection[];
  readonly pass: 1 | 2;
  constructor(message: string, rejected: readonly Rejection[], pass: 1 | 2) {
    super('SWARM_ERR_NO_SUITABLE_NODE', message);
    this.name = 'NoSuitableNodeError';
    this.rejected = rejected;
    this.pass = pass;
  }
}

/** The ranking of one pass; `ranked` and `rejected` are computed when first read. */
interface Ranking {
  readonly top: RankedNode;
  readonly ranked: RankedNode[];
  readonly rejected: Rejection[];
}

type PassOutcome =
  | { ok: true; ranking: Ranking }
  | { ok: false; message: string; rejected: () => Rejection[] };

/** 32-bit FNV-1a of the request id: the seed of the tie-break RNG and of random scorers. */
export function seedOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** mulberry32: small, fast, good enough to shuffle ties. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The last snapshot each core scheduled on: the next one is usually it with a node or two replaced. */
const lastSets = new WeakMap<Core, NodeSet>();

export async function schedule(
  core: Core,
  nodes: Nodes,
  request: PlacementRequest,
  opts: ScheduleOptions = {},
): Promise<ScheduleResult> {
  // A kernel thread that sleeps takes tens of µs to wake: tell it now, while the filters run
  // (only when the pass is likely to use it: a woken thread spins for a while).
  const pool = opts.pool;
  if (pool?.kernel && nodes.length >= Math.max(pool.threshold, 2 * CHUNK_ROWS) && fusedPoolLikely(core, request, pool, nodes.length)) {
    pool.kernel().prepare?.();
  }
  // The schedulable nodes, their table and the filters' per-node verdicts, kept for as long as
  // the caller passes the same snapshot (see node-set.ts).
  const pause = nodes.length >= YIELD_NODES ? turn : undefined;
  const since = performance.now();
  const set = pause ? await nodeSetOfChunked(nodes, lastSets.get(core), pause) : nodeSetOf(nodes, lastSets.get(core));
  lastSets.set(core, set);
  if (pause && held(since)) await pause();
  let last: PassOutcome | undefined;
  for (const pass of [1, 2] as const) {
    const req: PlacementRequest = { ...request, enforceSoft: pass === 1 };
    const outcome = await runPass(core, set, req, opts, pause);
    explain(core, req, pass, outcome);
    if (outcome.ok) {
      return new Scheduled(outcome.ranking, pass, req);
    }
    last = outcome;
  }
  const failed = last as Extract<PassOutcome, { ok: false }>;
  throw new NoSuitableNodeError(failed.message, failed.rejected(), 2);
}

/**
 * From this many nodes in the snapshot on, schedule() lets the event loop turn between its stages
 * (snapshot diff — itself in chunks —, filters, scoring, choosing) when a stage held the thread
 * for TURN_AFTER_MS or more: a stage that computes over every node (a snapshot seen anew, the
 * verdicts of a new rule, a full scoring) takes milliseconds at 100,000 nodes, which the API's
 * other requests (`/_ping`) would wait for. Below it a decision is short and the turns would only
 * add latency.
 */
export const YIELD_NODES = 20_000;

/**
 * A stage shorter than this (ms) is not followed by a turn: at 100,000 nodes a placement on a
 * snapshot derived from the last one spends ~10 µs on the diff and ~30 µs in the filters, and a
 * turn after each cost ~3 µs at the median and ~10 µs on average (whatever else the loop runs).
 */
const TURN_AFTER_MS = 0.2;

/** The stage begun at `since` held the thread long enough to let the event loop turn after it. */
function held(since: number): boolean {
  return performance.now() - since >= TURN_AFTER_MS;
}

/** One turn of the event loop (I/O callbacks run; a queued ping is answered). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function runPass(core: Core, set: NodeSet, request: PlacementRequest, opts: ScheduleOptions, pause?: () => Promise<void>): Promise<PassOutcome> {
  const since = performance.now();
  const filtered = await core.runFilters(Candidates.of(set), request);
  if (pause && held(since)) await pause();
  if (filtered.exhausted) return { ok: false, message: filterFailure(core, filtered), rejected: () => [...filtered.rejected] };
  if (filtered.empty) return { ok: false, message: ERR_NO_NODES, rejected: () => [...filtered.rejected] };

  const scorer = core.scorer(request);
  const fused = await fusedPass(core, filtered, scorer, request, opts.pool);
  if (fused) return fused;
  // Row form (the filters kept rows of the cached set) or plain (a filter built its own value).
  const form = Candidates.rowsOf(filtered);
  const count = filtered.size;
  const nodeAt: (i: number) => NodeView = form
    ? (i) => form.set.base.at(form.rows[i])
    : ((list) => (i: number) => list[i])(filtered.nodes);
  const scoring = performance.now();
  const scored = form
    ? await rankSet(form.set, form.rows, scorer, request, opts.pool)
    : { scores: await scoreNodes(filtered.nodes, scorer, request, opts.pool) };
  const scores = scored.scores;
  if (pause && held(scoring)) await pause();

  // How many fit, the best score and how many nodes share it: found by the pool's threads while
  // they scored; else kept with a score vector that is itself kept (row-local scorers), so a
  // repeated placement does not scan again; else one scan here.
  const summary = scored.summary
    ? summaryOf(scores, scored.summary)
    : form && scorer.rowLocal && scores instanceof Float64Array
      ? form.set.summary(scores, summarize)
      : summarize(scores);
  const { fitCount, best, bestAt, bestCount } = summary;
  // `ranked` and `rejected` are read later, maybe after a newer snapshot's placement patched a
  // kept vector in place (node-set.ts hands them over): then this pass's rows are scored again,
  // which gives the same scores (row-local scorers, the only ones whose vectors are kept).
  const generation = patchCount(scores);
  const scoresAtPass = scores;
  let rescored: ArrayLike<number> | undefined;
  const scoresNow = (): ArrayLike<number> => {
    if (patchCount(scores) === generation) return scores;
    if (!rescored) {
      const rows = form!.rows;
      const table = buildNodeTable(Array.from(rows, (r) => form!.set.base.at(r)));
      rescored = scorer.score!({ table, from: 0, to: rows.length, request: { cpus: request.cpus, memory: request.memory }, options: scorer.options, seed: seedOf(request.id) });
    }
    return rescored;
  };
  const rejected = (): Rejection[] => rejections(core, scorer, request, filtered, scoresNow(), nodeAt);
  if (fitCount === 0) return { ok: false, message: ERR_NO_RESOURCES, rejected };

  // The placement: one of the best-scored rows, drawn with an RNG seeded from the request id
  // (replayable; uniform over the ties), found by one scan — no shuffle, no sort.
  const seed = seedOf(request.id);
  const topRow = bestCount > 1 ? nthBest(scores, best, Math.floor(rng(seed ^ TOP_SALT)() * bestCount)) : bestAt;
  const top: RankedNode = { node: nodeAt(topRow), score: scores[topRow] };
  // The full order, built when read: the placement first, then every other fitting row by score,
  // equal scores in the order of a seeded shuffle (a stable sort of the shuffled rows).
  const ranked = (): RankedNode[] => {
    const scores = scoresNow();
    const rows = rankOrder(scores, fitCount, topRow, seed, scores === scoresAtPass ? summary : undefined);
    const out: RankedNode[] = new Array(fitCount);
    for (let k = 0; k < fitCount; k++) out[k] = k === 0 ? top : { node: nodeAt(rows[k]), score: scores[rows[k]] };
    return out;
  };
  return { ok: true, ranking: new LazyRanking(top, { ranked, rejected }) };
}

/**
 * The full order of a pass: the placement (`topRow`) first, then every other fitting row by
 * score descending, equal scores in the order of a seeded shuffle (a stable sort of the shuffled
 * rows). `summary`, when it is the summary of these very scores, lists the fitting rows.
 */
function rankOrder(scores: ArrayLike<number>, fitCount: number, topRow: number, seed: number, summary?: ScoreSummary): Int32Array {
  const fit = new Int32Array(fitCount);
  if (summary) summary.fillFit(fit);
  else for (let i = 0, k = 0; i < scores.length; i++) if (scores[i] >= 0) fit[k++] = i;
  shuffleRows(fit, fitCount, seed);
  const sorted = stableByScoreDesc(fit, fitCount, scores);
  const at = sorted.indexOf(topRow);
  sorted.copyWithin(1, 0, at);
  sorted[0] = topRow;
  return sorted;
}

/**
 * A pass on a cached node set whose filters all named their predicates (a conjunction of verdicts,
 * candidates.ts) with a row-local or rowwise scorer: the placement is found by one fused pass over
 * the set's rows (fused-scan.ts), in chunks shared with the rank pool's kernel thread when the pool
 * is used. Same placement as the general path; `ranked` and `rejected` are materialised when read.
 * undefined: not such a pass (the general path runs).
 */
async function fusedPass(core: Core, filtered: Candidates, scorer: ScorerRef, request: PlacementRequest, pool?: RankPool): Promise<PassOutcome | undefined> {
  if (!scorer.rowLocal && !scorer.rowwise) return undefined;
  const conj = Candidates.conjunctionOf(filtered);
  if (!conj) return undefined;
  const { set, parts } = conj;
  const fn = scorer.score ?? (await loadScorer(scorer.module));
  const seed = seedOf(request.id);
  const req: ScoreRequest = { cpus: request.cpus, memory: request.memory };
  // Scores of every row of the set as they are now, and how to tell later (ranked) whether they
  // still are: a kept vector may be patched in place by a newer snapshot, the rowwise output
  // overwritten by a newer pass.
  let source: ScoreSource;
  let generation: number;
  if (scorer.rowLocal) {
    const all = await fullScores(set, scorer, request, pool);
    generation = patchCount(all);
    source = { kind: 'vector', scores: all };
  } else {
    const out = rowwiseOut(set.count);
    generation = ++rowwiseGeneration;
    source = { kind: 'rowwise', table: set.table, out, module: scorer.module, options: scorer.options, request: req, seed };
  }
  // an await above may have let a newer snapshot patch the verdicts: then the general path
  if (!parts.every((p) => verdictEpoch(p.v) === p.epoch)) return undefined;
  const job: FusedJob = { rows: set.count, verdicts: parts.map((p) => p.v), source };
  const turn = poolTurn(pool, fusedRef(scorer), set.count);
  const started = performance.now();
  const runner = turn?.pool && pool?.kernel ? pool.kernel() : inlineRunner;
  const summaries = runner.run(job, fn);
  const chunks = chunksOf(job.rows);
  const { fitCount, best, bestAt, bestCount } = combineSummaries(summaries, chunks);
  const topRow = fitCount === 0 ? -1
    : bestCount > 1 ? nthBestRow(job, summaries, chunks, best, Math.floor(rng(seed ^ TOP_SALT)() * bestCount)) : bestAt;
  turn?.record(performance.now() - started);

  const top: RankedNode | undefined = fitCount === 0 ? undefined : { node: set.base.at(topRow), score: best };
  const readout = new FusedReadout({ core, scorer, request, filtered, set, fn, seed, req, source, generation, top, topRow, fitCount });
  if (!top) return { ok: false, message: ERR_NO_RESOURCES, rejected: () => readout.rejected() };
  return { ok: true, ranking: new LazyRanking(top, readout) };
}

interface FusedPassFacts {
  core: Core;
  scorer: ScorerRef;
  request: PlacementRequest;
  filtered: Candidates;
  set: NodeSet;
  fn: ScoreFn;
  seed: number;
  req: ScoreRequest;
  source: ScoreSource;
  /** The vector's patch count, or the rowwise output's generation, when the pass ran. */
  generation: number;
  top: RankedNode | undefined;
  topRow: number;
  fitCount: number;
}

/**
 * What readers of a fused pass's `ranked` / `rejected` see, built when first read: the filtered
 * rows and their scores, in row order. A class, not closures in fusedPass: under tsx every named
 * closure costs a `name` definition each time it is created (~0.3 µs; there were five per placement).
 */
class FusedReadout {
  #again: Float64Array | undefined;
  #picked: { rows: Int32Array; scores: Float64Array } | undefined;
  constructor(private readonly f: FusedPassFacts) {}

  /** Scores of every row as the pass saw them: the pass's own, or every row scored anew when they changed since. */
  #current(): Float64Array {
    const src = this.f.source;
    if (src.kind === 'vector' ? patchCount(src.scores) === this.f.generation : rowwiseGeneration === this.f.generation) {
      return src.kind === 'vector' ? src.scores : src.out;
    }
    if (!this.#again) {
      const { set, fn, req, scorer, seed } = this.f;
      const table = buildNodeTable(set.base);
      this.#again = Float64Array.from(fn({ table, from: 0, to: set.count, request: req, options: scorer.options, seed }) as ArrayLike<number>);
    }
    return this.#again;
  }

  #materialised(): { rows: Int32Array; scores: Float64Array } {
    if (!this.#picked) {
      const rows = Candidates.rowsOf(this.f.filtered)!.rows;
      const vec = this.#current();
      const scores = new Float64Array(rows.length);
      for (let k = 0; k < rows.length; k++) scores[k] = vec[rows[k]];
      this.#picked = { rows, scores };
    }
    return this.#picked;
  }

  rejected(): Rejection[] {
    const { rows, scores } = this.#materialised();
    const { core, scorer, request, filtered, set } = this.f;
    return rejections(core, scorer, request, filtered, scores, (k) => set.base.at(rows[k]));
  }

  ranked(): RankedNode[] {
    const { rows, scores } = this.#materialised();
    const { set, fitCount, topRow, seed } = this.f;
    const top = this.f.top!;
    const order = rankOrder(scores, fitCount, indexOfRow(rows, topRow), seed);
    const out: RankedNode[] = new Array(fitCount);
    for (let k = 0; k < fitCount; k++) out[k] = k === 0 ? top : { node: set.base.at(rows[order[k]]), score: scores[order[k]] };
    return out;
  }
}

/** Every drop of a pass: the filters', then each candidate the strategy scored below 0 (does not fit). */
function rejections(core: Core, scorer: ScorerRef, request: PlacementRequest, filtered: Candidates, scores: ArrayLike<number>, nodeAt: (i: number) => NodeView): Rejection[] {
  const out = [...filtered.rejected];
  let plugin: string | undefined;
  for (let i = 0; i < scores.length; i++) {
    if (scores[i] >= 0) continue;
    plugin ??= core.hooks.rank.taps[0]?.name ?? `strategy-${scorer.name}`;
    const node = nodeAt(i);
    out.push({ node: node.id, plugin, reason: REASON_NO_RESOURCES(node, request) });
  }
  return out;
}

/** Position of `row` in the ascending `rows`. */
function indexOfRow(rows: Int32Array, row: number): number {
  let lo = 0;
  let hi = rows.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid] === row) return mid;
    if (rows[mid] < row) lo = mid + 1;
    else hi = mid - 1;
  }
  throw new Error(`row ${row} is not among the filtered rows`);
}

/** Whether a fused pass on about `rows` rows would likely run with the pool (see poolLikely). */
function fusedPoolLikely(core: Core, request: PlacementRequest, pool: RankPool, rows: number): boolean {
  let scorer: ScorerRef;
  try {
    scorer = core.scorer(request);
  } catch {
    return false; // reported where the pass asks for it
  }
  return (scorer.rowLocal === true || scorer.rowwise === true) && poolLikely(pool, fusedRef(scorer), rows);
}

/** The pool-choice key of the fused pass (its own timings, apart from plain scoring). */
const fusedRefs = new WeakMap<ScorerRef, ScorerRef>();
function fusedRef(scorer: ScorerRef): ScorerRef {
  let ref = fusedRefs.get(scorer);
  if (!ref) fusedRefs.set(scorer, (ref = { ...scorer, module: `${scorer.module}#fused` }));
  return ref;
}

/** One reused output vector for rowwise passes; a reader of an older pass notices by the generation. */
let rowwiseScratch: Float64Array = new Float64Array(0);
let rowwiseGeneration = 0;
function rowwiseOut(rows: number): Float64Array {
  if (rowwiseScratch.length !== rows) rowwiseScratch = sharedF64(rows);
  return rowwiseScratch;
}

/*
 * Lazy results are classes with getters on the prototype, not object literals with getters: V8
 * keeps an object literal's accessor functions in its map, and maps live in old space, so every
 * result (with the closures' whole context: the snapshot, its set, the scores) outlived two young
 * collections and was promoted — measured at 5,000 nodes: ~40 KB promoted per placement and young
 * collections several times longer.
 */

/** A pass's ranking: the placement now, the full order and the rejections when first read. */
class LazyRanking implements Ranking {
  #ranked: RankedNode[] | undefined;
  #rejected: Rejection[] | undefined;
  constructor(readonly top: RankedNode, private readonly build: { ranked(): RankedNode[]; rejected(): Rejection[] }) {}
  get ranked(): RankedNode[] {
    return (this.#ranked ??= this.build.ranked());
  }
  get rejected(): Rejection[] {
    return (this.#rejected ??= this.build.rejected());
  }
}

class Scheduled implements ScheduleResult {
  constructor(private readonly ranking: Ranking, readonly pass: 1 | 2, readonly request: PlacementRequest) {}
  get ranked(): RankedNode[] {
    return this.ranking.ranked;
  }
  get top(): RankedNode {
    return this.ranking.top;
  }
  get rejected(): Rejection[] {
    return this.ranking.rejected;
  }
}

/** Keeps the placement's draw apart from the shuffle of the full order (same seed otherwise). */
const TOP_SALT = 0x9e3779b9;

/** The row of the `n`-th (from 0) score equal to `best`, in row order. */
function nthBest(scores: ArrayLike<number>, best: number, n: number): number {
  for (let i = 0, seen = 0; i < scores.length; i++) {
    if (scores[i] === best && seen++ === n) return i;
  }
  throw new Error(`nthBest: fewer than ${n + 1} rows score ${best}`);
}

/** What one scan of a score vector tells. */
export interface ScoreSummary {
  fitCount: number;
  best: number;
  /** First row with the best score. */
  bestAt: number;
  bestCount: number;
  /** Rows that fit (score ≥ 0), ascending; built on first call. */
  fit(): Int32Array;
  /** Write those rows into `out` (copied from `fit()` once built, else found again: no new array). */
  fillFit(out: Int32Array): void;
}

export function summarize(scores: ArrayLike<number>): ScoreSummary {
  return summaryOf(scores, scanScores(scores, scores.length));
}

/** The summary of `scores` from its scan's figures (found here or by the pool's threads). */
export function summaryOf(scores: ArrayLike<number>, scan: ScanSummary): ScoreSummary {
  const count = scores.length;
  const { fitCount, best, bestAt, bestCount } = scan;
  let fit: Int32Array | undefined;
  let asked = 0;
  const find = (out: Int32Array) => {
    for (let i = 0, k = 0; i < count; i++) if (scores[i] >= 0) out[k++] = i;
  };
  return {
    fitCount, best, bestAt, bestCount,
    fit() {
      if (!fit) {
        const rows = new Int32Array(fitCount);
        find(rows);
        fit = rows;
      }
      return fit;
    },
    fillFit(out) {
      // a summary asked twice is a kept one (same scores, next placement): keep the rows too
      if (!fit && ++asked > 1) this.fit();
      if (fit) out.set(fit);
      else find(out);
    },
  };
}

/**
 * Fisher–Yates over `fit[0..count)` with `rng(seed)` (inlined here: the same numbers, without a
 * closure call per step).
 */
export function shuffleRows(fit: Int32Array, count: number, seed: number): void {
  let a = seed >>> 0;
  for (let i = count - 1; i > 0; i--) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const j = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (i + 1));
    const x = fit[i];
    fit[i] = fit[j];
    fit[j] = x;
  }
}

/** Float64 words are read as two uint32 halves; which half is the high one depends on the platform. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * `items[0..count)` stably sorted by `scores[item]` descending — the same order as
 * `Array.prototype.sort((a, b) => scores[b] - scores[a])` (stable since ES2019) for the scores
 * ≥ 0 that reach here — without a JS comparator: an LSD radix sort over the IEEE-754 bits
 * (for non-negative doubles the bit pattern, read as an unsigned integer, orders like the
 * number; inverting it gives descending order). LSD radix sort is stable, so ties keep the
 * shuffled order. Byte positions where every key agrees are skipped.
 */
function stableByScoreDesc(items: Int32Array, count: number, scores: ArrayLike<number>): Int32Array {
  const keys = new Float64Array(count);
  for (let k = 0; k < count; k++) keys[k] = scores[items[k]] + 0; // −0 → +0: equal for the comparator too
  const words = new Uint32Array(keys.buffer);
  const lo = LITTLE_ENDIAN ? 0 : 1;
  const hi = 1 - lo;
  // Inverted halves (descending order), then one histogram per 11-bit digit, all in one pass.
  const low = new Uint32Array(count);
  const high = new Uint32Array(count);
  const hist = new Int32Array(6 * RADIX);
  for (let k = 0; k < count; k++) {
    const l = ~words[2 * k + lo] >>> 0;
    const h = ~words[2 * k + hi] >>> 0;
    low[k] = l;
    high[k] = h;
    hist[l & MASK]++;
    hist[RADIX + ((l >>> 11) & MASK)]++;
    hist[2 * RADIX + (l >>> 22)]++;
    hist[3 * RADIX + (h & MASK)]++;
    hist[4 * RADIX + ((h >>> 11) & MASK)]++;
    hist[5 * RADIX + (h >>> 22)]++;
  }
  let src = new Int32Array(count); // positions into keys/items, in the current order
  for (let k = 0; k < count; k++) src[k] = k;
  let dst = new Int32Array(count);
  for (let pass = 0; pass < 6; pass++) {
    const word = pass < 3 ? low : high;
    const shift = (pass % 3) * 11;
    const base = pass * RADIX;
    if (hist[base + ((word[0] >>> shift) & MASK)] === count) continue; // one digit value: order unchanged
    let sum = 0;
    for (let d = base; d < base + RADIX; d++) {
      const c = hist[d];
      hist[d] = sum;
      sum += c;
    }
    for (let k = 0; k < count; k++) {
      const p = src[k];
      dst[hist[base + ((word[p] >>> shift) & MASK)]++] = p;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  for (let k = 0; k < count; k++) dst[k] = items[src[k]];
  return dst;
}

/** Radix-sort digit: 11 bits, so a 64-bit key takes 6 passes (the top digit of a word has 10). */
const RADIX = 2048;
const MASK = RADIX - 1;

/**
 * Score `nodes` with the strategy's scorer: inline, or in the pool when one is given, the
 * scorer is worker-safe and the cluster is at least `pool.threshold` nodes. Same result either way.
 */
export async function scoreNodes(
  nodes: readonly NodeView[],
  scorer: ScorerRef,
  request: PlacementRequest,
  pool?: RankPool,
): Promise<ArrayLike<number>> {
  const req: ScoreRequest = { cpus: request.cpus, memory: request.memory };
  const seed = seedOf(request.id);
  const turn = poolTurn(pool, scorer, nodes.length);
  const started = performance.now();
  try {
    if (turn?.pool) return await pool!.score(nodes, scorer, req, seed);
    const fn = scorer.score ?? (await loadScorer(scorer.module));
    const table = buildNodeTable(nodes, { buffer: scratchFor(tableBytes(nodes.length)) });
    return scoreInline(fn, table, scorer, req, seed);
  } finally {
    turn?.record(performance.now() - started);
  }
}

/**
 * Score rows `rows` (ascending) of a cached node set: the same scores as `scoreNodes` on
 * `rows.map((r) => set.base.at(r))`, without rebuilding the table. All rows: the set's own table;
 * a subset: its rows gathered column by column; in the pool, the workers gather their chunk.
 */
export async function scoreRows(
  set: NodeSet,
  rows: Int32Array,
  scorer: ScorerRef,
  request: PlacementRequest,
  pool?: RankPool,
): Promise<ArrayLike<number>> {
  return (await rankRowsOf(set, rows, scorer, request, pool)).scores;
}

/** `scoreRows`, with the scores' summary when the pool's threads found it while scoring. */
async function rankRowsOf(set: NodeSet, rows: Int32Array, scorer: ScorerRef, request: PlacementRequest, pool?: RankPool): Promise<{ scores: ArrayLike<number>; summary?: ScanSummary }> {
  const req: ScoreRequest = { cpus: request.cpus, memory: request.memory };
  const seed = seedOf(request.id);
  const turn = poolTurn(pool, scorer, rows.length);
  const started = performance.now();
  try {
    if (turn?.pool) {
      const p = pool!;
      if (p.rankRows || p.scoreRows) {
        set.pin(); // the pool reads the table when the call's turn comes: keep it as it is until then
        try {
          return p.rankRows ? await p.rankRows(set, rows, scorer, req, seed) : { scores: await p.scoreRows!(set, rows, scorer, req, seed) };
        } finally {
          set.unpin();
        }
      }
      return { scores: await p.score(rows.length === set.count ? set.base.toArray() : Array.from(rows, (r) => set.base.at(r)), scorer, req, seed) };
    }
    const fn = scorer.score ?? (await loadScorer(scorer.module));
    const source = set.table;
    if (rows.length === set.count) return { scores: scoreInline(fn, source, scorer, req, seed) }; // rows ascending, none dropped: all of them
    const table = tableView(scratchFor(tableBytes(rows.length)), 0, rows.length);
    for (const c of COLUMNS) gather(source[c], rows, table[c]);
    return { scores: scoreInline(fn, table, scorer, req, seed) };
  } finally {
    turn?.record(performance.now() - started);
  }
}

/**
 * Scores of rows `rows` of `set` for a pass: kept and patched per snapshot for row-local scorers
 * (`scoreSet`); otherwise all scored again, with the pool's summary when it scored them.
 */
function rankSet(set: NodeSet, rows: Int32Array, scorer: ScorerRef, request: PlacementRequest, pool?: RankPool): Promise<{ scores: ArrayLike<number>; summary?: ScanSummary }> {
  if (scorer.rowLocal) return scoreSet(set, rows, scorer, request, pool).then((scores) => ({ scores }));
  return rankRowsOf(set, rows, scorer, request, pool);
}

/**
 * `scoreRows` for a row-local scorer, reusing the scores of every node of the set: they are
 * computed once per (scorer, options, resources asked) and the rows' scores are picked from them.
 */
async function scoreSet(set: NodeSet, rows: Int32Array, scorer: ScorerRef, request: PlacementRequest, pool?: RankPool): Promise<ArrayLike<number>> {
  const all = await fullScores(set, scorer, request, pool);
  if (rows.length === set.count) return all;
  return set.pickScores(scoreKey(scorer, request), all, rows);
}

/** The key of a row-local scorer's vector: same key, same scores for the same NodeView. */
function scoreKey(scorer: ScorerRef, request: PlacementRequest): string {
  return `${scorer.module}\0${JSON.stringify(scorer.options)}\0${request.cpus}\0${request.memory}`;
}

/** Scores of every row of the set for a row-local scorer: kept per snapshot, patched from the previous one. */
async function fullScores(set: NodeSet, scorer: ScorerRef, request: PlacementRequest, pool?: RankPool): Promise<Float64Array> {
  const key = scoreKey(scorer, request);
  let all = set.scores(key);
  if (!all) {
    const inherited = set.inheritedScores(key);
    if (inherited) {
      // The previous snapshot's scores, with the replaced rows scored again (row-local: alone).
      // A handed-over vector is patched in place when a result reading it later can score its
      // rows again by itself (a scorer function at hand, see runPass); else it is copied.
      const inPlace = inherited.owned === true && scorer.score !== undefined;
      all = inPlace ? inherited.value : sharedCopyF64(inherited.value);
      const rows = inherited.changed;
      const fn = scorer.score ?? (await loadScorer(scorer.module));
      // in the scratch buffer: a fresh ArrayBuffer per placement cost more than scoring two rows
      const table = buildNodeTable(rows.map((r) => set.base.at(r)), { buffer: scratchFor(tableBytes(rows.length)) });
      const fresh = fn({ table, from: 0, to: rows.length, request: { cpus: request.cpus, memory: request.memory }, options: scorer.options, seed: seedOf(request.id) });
      if (inPlace) patched(all);
      for (let k = 0; k < rows.length; k++) all[rows[k]] = fresh[k];
    } else all = sharedCopyF64(await scoreRows(set, set.all, scorer, request, pool));
    set.keepScores(key, all);
  }
  return all;
}

/** `out[k] = column[rows[k]]`. */
export function gather(column: Float64Array, rows: Int32Array, out: Float64Array, from = 0, to = rows.length): void {
  for (let k = from; k < to; k++) out[k] = column[rows[k]];
}

/**
 * One scratch buffer for every inline scoring: ScoreFn is synchronous, so nothing else can
 * write the buffer between building the table and the scorer's return.
 */
function scratchFor(bytes: number): ArrayBuffer {
  if (scratch.byteLength < bytes) scratch = new ArrayBuffer(Math.max(bytes, scratch.byteLength * 2));
  return scratch;
}

function scoreInline(fn: ScoreFn, table: NodeTable, scorer: ScorerRef, request: ScoreRequest, seed: number): ArrayLike<number> {
  const out = fn({ table, from: 0, to: table.count, request, options: scorer.options, seed });
  // A result that is a view of a table (a scorer returning a column) is copied out before the
  // buffer can be reused or read again.
  return ArrayBuffer.isView(out) && out.buffer === table.totalCpus.buffer ? Array.from(out as ArrayLike<number>) : out;
}

let scratch = new ArrayBuffer(0);

async function loadScorer(module: string): Promise<ScoreFn> {
  const mod = (await import(module)) as { score?: ScoreFn };
  if (typeof mod.score !== 'function') {
    throw new SwarmError('SWARM_ERR_PLUGIN_FAILED', `scorer module ${module} does not export a score function`);
  }
  return mod.score;
}

/** The legacy text for a pass where a filter left no node. */
export function filterFailure(core: Core, c: Candidates): string {
  const ex = c.exhausted!;
  const ownError = `error from ${ex.plugin} filter: `;
  // A filter's own full message (health) replaces the listing.
  if (ex.message !== undefined && !ex.message.startsWith(ownError)) return ex.message;
  const order = core.hooks.filter.taps.map((t) => t.name);
  const last = order.indexOf(ex.plugin);
  let text = ERR_CONDITIONS_PREFIX;
  for (const fc of c.conditions) {
    const at = order.indexOf(fc.plugin);
    if (last >= 0 && at > last) continue; // filters after the failing one ran on nothing: not listed
    if (fc.conditions.length > 0) text += `\n[${fc.conditions.join(' ')}]`;
  }
  if (ex.message !== undefined) {
    text += `\nerror from ${ex.plugin.replace(/^filter-/, '')} filter: ${ex.message.slice(ownError.length)}`;
  }
  return text;
}

function explain(core: Core, request: PlacementRequest, pass: 1 | 2, outcome: PassOutcome): void {
  if (!core.logger.isLevelEnabled('debug')) return;
  core.logger.debug({
    request: request.id,
    name: request.name,
    pass,
    rejected: outcome.ok ? outcome.ranking.rejected : outcome.rejected(),
    ...(outcome.ok
      ? { ranked: outcome.ranking.ranked.map((r) => ({ node: r.node.name, id: r.node.id, score: r.score })) }
      : { error: outcome.message }),
  }, outcome.ok ? `scheduled on ${outcome.ranking.top.node.name} (pass ${pass})` : `scheduling pass ${pass} failed`);
}
