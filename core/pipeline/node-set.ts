/**
 * What the scheduler derives from one cluster snapshot (a NodeList or an array of NodeViews) and
 * keeps across placements: the schedulable nodes, their columnar NodeTable, per-node filter
 * verdicts and the scores of row-local strategies.
 *
 * Why it is safe to keep: a NodeView is a snapshot that nobody mutates (core/types.ts), so
 * anything computed from a NodeView object stays true for that object. A node that changes (a
 * container added or removed, a label, its health) is a NEW NodeView from the engine layer.
 *  - The same snapshot with the same NodeViews finds its NodeSet again (element by element; a
 *    NodeList or a frozen array cannot have been edited, so it is not compared again).
 *  - A new snapshot that differs from the previous snapshot of the same caller in a few NodeViews
 *    (one placement: the chosen node; a container that went away: its node) gets a NodeSet
 *    DERIVED from the previous one: everything is carried over except what belongs to the
 *    replaced rows, which is recomputed (verdicts and scores of those rows only, lazily). Carried
 *    data is copied on write, never edited in place: a placement still running on the previous
 *    snapshot (or a result read later) sees exactly what it saw.
 *  - Anything else (more than a few changes, a node joining or leaving the schedulable set, a
 *    different length) builds a fresh NodeSet.
 * Nothing here outlives its snapshot: only the last snapshot's set and the last set per core are
 * held; a derived set keeps the previous set's arrays, not the set.
 */
import { buildNodeTable, COLUMNS, tableBytes, tableView, writeRow } from './node-table.ts';
import { changesBetween } from './lineage.ts';
import { isImmutable, NodeList, nodeArray, nodeAt, type Nodes } from './node-list.ts';
import type { NodeTable, NodeView } from '../types.ts';

/** Per-node verdicts of one named predicate: 0 = not evaluated yet, 1 = passes, 2 = fails. */
export interface Verdicts {
  readonly v: Uint8Array;
  /** How many nodes have a verdict. */
  known: number;
  /** How many of them fail. */
  fails: number;
  /**
   * Outcomes already computed, by input rows (an Int32Array the core or an earlier filter made):
   * the verdicts of a snapshot never change, so neither does what a given input keeps.
   */
  outcomes: WeakMap<Int32Array, { kept: Int32Array; dropped: Int32Array } | 'all'>;
  /**
   * Rows replaced since `outcomes` was filled, with the verdict they had then (their entry in
   * `v` is 0 again). `resolve` re-tests them: same verdicts → `outcomes` stays valid.
   */
  pending: { row: number; old: number }[];
}

/**
 * How many times a verdict array was handed to a newer snapshot and patched in place: a reader
 * that kept the array (a conjunction in candidates.ts) compares it to see whether it still holds
 * its snapshot's verdicts.
 */
const verdictEpochs = new WeakMap<Uint8Array, number>();

export function verdictEpoch(v: Uint8Array): number {
  return verdictEpochs.get(v) ?? 0;
}

/**
 * Typed arrays the fused pass reads live in SharedArrayBuffers, so the rank pool's kernel thread
 * reads them where they are (fused-scan.ts). Allocation costs the same; nothing is copied later.
 */
export function sharedU8(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n));
}

export function sharedF64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(n * Float64Array.BYTES_PER_ELEMENT));
}

export function sharedCopyF64(from: ArrayLike<number>): Float64Array {
  const out = sharedF64(from.length);
  out.set(from);
  return out;
}

/** Re-test the replaced rows of `memo` (see Verdicts.pending). Call before reading `v`. */
export function resolve(memo: Verdicts, base: NodeList, predicate: (node: NodeView) => boolean): void {
  if (memo.pending.length === 0) return;
  let stale = false;
  for (const { row, old } of memo.pending) {
    if (memo.v[row] !== 0) continue;
    const v = predicate(base.at(row)) ? 1 : 2;
    memo.v[row] = v;
    memo.known++;
    if (v === 2) memo.fails++;
    if (v !== old) stale = true;
  }
  memo.pending = [];
  if (stale) memo.outcomes = new WeakMap();
}

/** Score vectors (one per scorer and resources asked) kept per set. */
const MAX_SCORE_KEYS = 16;

/** Verdict caches kept per set; a set asked for more distinct predicates starts over (user-given rules are unbounded). */
const MAX_VERDICT_KEYS = 256;

/** A value of the previous snapshot and the rows replaced since (to be recomputed). */
interface Inherited<T> {
  value: T;
  changed: readonly number[];
  /** The value was handed over (nobody else uses it): patch it in place instead of copying. */
  owned?: boolean;
  /** The table's version when it was handed over (tables only). */
  version?: number;
}

/** Per table object patched in place: which rows each patch wrote, newest last (bounded). */
const tablePatches = new WeakMap<NodeTable, { from: number; to: number; rows: readonly number[] }[]>();
const MAX_TABLE_PATCHES = 64;

function recordTablePatch(table: NodeTable, from: number, to: number, rows: readonly number[]): void {
  let log = tablePatches.get(table);
  if (!log) tablePatches.set(table, (log = []));
  log.push({ from, to, rows });
  if (log.length > MAX_TABLE_PATCHES) log.shift();
}

/** The rows written to `table` between versions `since` and `now`, when its patch log covers them. */
function tableRowsChanged(table: NodeTable, since: number, now: number): number[] | undefined {
  if (since === now) return [];
  const log = tablePatches.get(table);
  if (!log) return undefined;
  let at = log.length - 1;
  while (at >= 0 && log[at].to !== now) at--;
  const rows = new Set<number>();
  for (let v = now; v !== since; at--) {
    if (at < 0 || log[at].to !== v) return undefined;
    for (const r of log[at].rows) rows.add(r);
    v = log[at].from;
  }
  return [...rows];
}

/** Score vectors that two sets hold (a set derived without changes shares them): copied, never patched. */
const sharedScores = new WeakSet<Float64Array>();

/** How many times each score vector was patched in place after it was handed over. */
const patches = new WeakMap<Float64Array, number>();

/** The patch count of a kept score vector (0 for any other vector): a reader compares it to see whether it changed. */
export function patchCount(scores: ArrayLike<number>): number {
  return scores instanceof Float64Array ? patches.get(scores) ?? 0 : 0;
}

/** Record that `scores` was patched in place. */
export function patched(scores: Float64Array): void {
  patches.set(scores, (patches.get(scores) ?? 0) + 1);
}

/** Table contents get a new number each time they are built or patched (the pool compares it). */
let tableVersions = 0;

export class NodeSet {
  /** Nodes that take part in scheduling (healthy or unhealthy), in input order. */
  readonly base: NodeList;
  /** 0..base.length−1: the rows of "every schedulable node". */
  readonly all: Int32Array;
  /** Input index → base row, −1 for a node that does not take part. */
  readonly rowOf: Int32Array;
  /** The input as it was (element references), to compare the next snapshot with. */
  readonly input: Nodes;
  /** Every input node takes part: base holds the input's nodes (rowOf is the identity). */
  readonly identity: boolean;
  #table: NodeTable | undefined;
  #tableVersion = 0;
  /** Pool calls in flight on this set's table: while pinned, the table is copied, never handed over. */
  #pins = 0;
  #verdicts = new Map<string, Verdicts>();
  readonly #scores = new Map<string, Float64Array>();
  /** Scores of a subset of rows, picked from a kept score vector: by rows, then by score key. */
  readonly #picked = new WeakMap<Int32Array, Map<string, Float64Array>>();
  readonly #summaries = new WeakMap<Float64Array, unknown>();
  #inheritedTable: Inherited<NodeTable> | undefined;
  readonly #inheritedScores = new Map<string, Inherited<Float64Array>>();
  /** Verdicts of the previous snapshot, copied (minus the replaced rows) when first asked for. */
  readonly #inheritedVerdicts = new Map<string, Inherited<Verdicts>>();

  constructor(nodes: Nodes, derived?: { base: NodeList; all: Int32Array; rowOf: Int32Array; identity: boolean }) {
    // An immutable input cannot change under us: no copy.
    this.input = isImmutable(nodes) ? nodes : Object.freeze((nodes as readonly NodeView[]).slice());
    if (derived) {
      this.base = derived.base;
      this.all = derived.all;
      this.rowOf = derived.rowOf;
      this.identity = derived.identity;
      return;
    }
    const base: NodeView[] = [];
    this.rowOf = new Int32Array(nodes.length);
    for (let i = 0; i < nodes.length; i++) {
      const n = nodeAt(this.input, i);
      if (schedulable(n)) {
        this.rowOf[i] = base.length;
        base.push(n);
      } else this.rowOf[i] = -1;
    }
    this.identity = base.length === nodes.length;
    this.base = this.identity && this.input instanceof NodeList ? this.input : NodeList.from(base);
    this.all = new Int32Array(this.base.length);
    for (let i = 0; i < this.all.length; i++) this.all[i] = i;
  }

  get count(): number {
    return this.base.length;
  }

  /** The columnar table of `base` (row i = base[i]), built (or carried over and patched) on first use. */
  get table(): NodeTable {
    if (!this.#table) {
      const inh = this.#inheritedTable;
      if (inh) {
        let table = inh.value;
        if (!inh.owned) {
          table = tableView(new SharedArrayBuffer(tableBytes(this.count)), 0, this.count);
          for (const c of COLUMNS) table[c].set(inh.value[c]);
        }
        for (const row of inh.changed) writeRow(table, row, this.base.at(row));
        this.#table = table;
        this.#inheritedTable = undefined;
        this.#tableVersion = ++tableVersions;
        if (inh.owned && inh.version !== undefined) recordTablePatch(table, inh.version, this.#tableVersion, inh.changed);
      } else {
        this.#table = buildNodeTable(this.base, { shared: true });
        this.#tableVersion = ++tableVersions;
      }
    }
    return this.#table;
  }

  /**
   * Rows of `table` written since it had version `since` (the same table object, patched in place
   * by the sets derived since), or undefined when that is not known. Lets the rank pool update its
   * copy of the table instead of writing all of it again.
   */
  rowsChangedSince(since: number): readonly number[] | undefined {
    return tableRowsChanged(this.table, since, this.version);
  }

  /** Identifies the contents of `table` (see RowSource in rank-pool.ts). */
  get version(): number {
    void this.table;
    return this.#tableVersion;
  }

  /** Keep the table as it is while a pool call reads it (queued calls read it later). */
  pin(): void {
    this.#pins++;
  }

  unpin(): void {
    this.#pins--;
  }

  /** Scores of every row under `key` (see ScorerRef.rowLocal), if computed before. */
  scores(key: string): Float64Array | undefined {
    return this.#scores.get(key);
  }

  /** The previous snapshot's vector under `key` and the rows to score again, if any. */
  inheritedScores(key: string): Inherited<Float64Array> | undefined {
    return this.#inheritedScores.get(key);
  }

  keepScores(key: string, scores: Float64Array): void {
    if (this.#scores.size >= MAX_SCORE_KEYS) this.#scores.clear();
    this.#scores.set(key, scores);
    this.#inheritedScores.delete(key);
  }

  /** `make(scores)`, computed once per kept score vector (see pickScores / keepScores). */
  summary<T>(scores: Float64Array, make: (scores: Float64Array) => T): T {
    let s = this.#summaries.get(scores) as T | undefined;
    if (s === undefined) {
      s = make(scores);
      this.#summaries.set(scores, s);
    }
    return s;
  }

  /** `all[rows[k]]` for every k, for a score vector kept under `key`; computed once per rows object. */
  pickScores(key: string, all: Float64Array, rows: Int32Array): Float64Array {
    let byKey = this.#picked.get(rows);
    if (!byKey) {
      byKey = new Map();
      this.#picked.set(rows, byKey);
    }
    let out = byKey.get(key);
    if (!out) {
      out = new Float64Array(rows.length);
      for (let k = 0; k < rows.length; k++) out[k] = all[rows[k]];
      if (byKey.size >= MAX_SCORE_KEYS) byKey.clear();
      byKey.set(key, out);
    }
    return out;
  }

  /**
   * The verdict cache of a named predicate. The name must determine the predicate: same name
   * ⇒ same answer for the same NodeView (the caller namespaces it with its plugin name).
   * Call `resolve` before reading `v`.
   */
  verdicts(key: string): Verdicts {
    let v = this.#verdicts.get(key);
    if (!v) {
      if (this.#verdicts.size >= MAX_VERDICT_KEYS) this.#verdicts.clear();
      const inh = this.#inheritedVerdicts.get(key);
      if (inh) {
        v = carryOver(inh.value, inh.changed, inh.owned === true);
        this.#inheritedVerdicts.delete(key);
      } else v = { v: sharedU8(this.base.length), known: 0, fails: 0, outcomes: new WeakMap(), pending: [] };
      this.#verdicts.set(key, v);
    }
    return v;
  }

  /**
   * A set for `nodes`, which equal this set's input except at `changed` (input indices, whose
   * nodes take part in scheduling in both). Carries everything over, copied, minus the changed rows.
   */
  derive(nodes: Nodes, changed: readonly number[]): NodeSet {
    const rows: number[] = [];
    const replaced: [number, NodeView][] = [];
    for (const i of changed) {
      const row = this.rowOf[i];
      if (row >= 0) {
        rows.push(row);
        replaced.push([row, nodeAt(nodes, i)]);
      }
    }
    // With every node taking part, a NodeList input is the base itself; else the base shares
    // every chunk but the replaced rows' with this set's (node-list.ts).
    const base = this.identity && nodes instanceof NodeList ? nodes : this.base.with(replaced);
    const next = new NodeSet(nodes, { base, all: this.all, rowOf: this.rowOf, identity: this.identity });
    if (rows.length === 0) {
      // only nodes outside the schedulable set changed: share everything
      next.#table = this.#table;
      next.#tableVersion = this.#tableVersion;
      next.#inheritedTable = this.#inheritedTable;
      next.#verdicts = this.#verdicts;
      for (const [k, v] of this.#scores) {
        next.#scores.set(k, v);
        sharedScores.add(v); // held by two sets now: never to be patched in place
      }
      for (const [k, v] of this.#inheritedScores) {
        const shared = { ...v, owned: false };
        next.#inheritedScores.set(k, shared);
        this.#inheritedScores.set(k, shared);
      }
      for (const [k, v] of this.#inheritedVerdicts) {
        // both sets may use it now: neither may patch it in place
        const shared = { ...v, owned: false };
        next.#inheritedVerdicts.set(k, shared);
        this.#inheritedVerdicts.set(k, shared);
      }
      return next;
    }
    // Something not used for a while accumulates replaced rows; past the limit it is recomputed instead.
    const limit = maxChanges(this.count);
    if (this.#table) {
      // Hand the table over when no pool call reads it: the next snapshot patches its few rows
      // in place (this set builds a new one if it is ever used again). Else copy on write.
      const owned = this.#pins === 0;
      next.#inheritedTable = { value: this.#table, changed: rows, owned, version: this.#tableVersion };
      if (owned) this.#table = undefined;
    } else if (this.#inheritedTable) {
      const changed = mergeChanged(this.#inheritedTable.changed, rows, limit);
      if (changed) next.#inheritedTable = { ...this.#inheritedTable, changed };
      if (this.#inheritedTable.owned) this.#inheritedTable = undefined;
    }
    // Score vectors are handed over too (patched in place by the next set, see scoreSet in
    // schedule.ts); a result that still reads one notices by its patch count (patchCount).
    for (const [k, v] of this.#scores) next.#inheritedScores.set(k, { value: v, changed: rows, owned: !sharedScores.has(v) });
    this.#scores.clear();
    for (const [k, v] of this.#inheritedScores) {
      const changed = next.#inheritedScores.has(k) ? undefined : mergeChanged(v.changed, rows, limit);
      if (changed) next.#inheritedScores.set(k, { value: v.value, changed, owned: v.owned });
    }
    this.#inheritedScores.clear();
    // Verdicts are handed over, like the table: the next set patches them in place and this one,
    // if it is ever used again, starts its verdicts afresh. A memo is only read synchronously
    // (Candidates.keepWhere), so no reader can see it change under it.
    for (const [k, memo] of this.#verdicts) next.#inheritedVerdicts.set(k, { value: memo, changed: rows, owned: true });
    this.#verdicts = new Map();
    for (const [k, inh] of this.#inheritedVerdicts) {
      const changed = next.#inheritedVerdicts.has(k) ? undefined : mergeChanged(inh.changed, rows, limit);
      if (changed) next.#inheritedVerdicts.set(k, { value: inh.value, changed, owned: inh.owned });
    }
    this.#inheritedVerdicts.clear();
    return next;
  }
}

/**
 * `earlier` (rows replaced before, not yet recomputed) and `rows` (replaced now), or undefined
 * past `limit` (then the value is recomputed instead). Every list holds distinct rows and `rows`
 * is a handful: a scan of `earlier` per row and one copy, not a Set of both (a table binpack's
 * fused pass never reads carried ~1,000 rows from placement to placement: that Set cost ~14 µs
 * a placement at 100,000 nodes).
 */
function mergeChanged(earlier: readonly number[], rows: readonly number[], limit: number): readonly number[] | undefined {
  if (earlier.length === 0) return rows;
  let all: number[] | undefined;
  for (const row of rows) if (!earlier.includes(row)) (all ??= earlier.slice()).push(row);
  const merged = all ?? earlier;
  return merged.length > limit ? undefined : merged;
}

/** `row` is among the first `count` entries of `pending`. */
function isPendingRow(pending: readonly { row: number }[], count: number, row: number): boolean {
  for (let p = 0; p < count; p++) if (pending[p].row === row) return true;
  return false;
}

/**
 * `memo` for a snapshot where `rows` hold other NodeViews: their verdicts are unknown again and
 * listed as pending with the verdict they had (see Verdicts.pending). A copy, unless `owned`
 * (handed over: nobody else holds it), then its arrays are patched in place.
 */
function carryOver(memo: Verdicts, rows: readonly number[], owned: boolean): Verdicts {
  let v = memo.v;
  if (owned) verdictEpochs.set(v, verdictEpoch(v) + 1);
  else {
    v = sharedU8(memo.v.length);
    v.set(memo.v);
  }
  let { known, fails } = memo;
  const pending = owned ? memo.pending : memo.pending.slice();
  const earlier = pending.length;
  let untested = false;
  for (const row of rows) {
    const old = v[row];
    if (old === 0) {
      // Never tested here: no kept outcome depends on it, but the previous set may still test
      // its old node and add outcomes that disagree with this set's: keep outcomes apart.
      if (!isPendingRow(pending, earlier, row)) untested = true;
      continue;
    }
    if (!isPendingRow(pending, earlier, row)) pending.push({ row, old });
    v[row] = 0;
    known--;
    if (old === 2) fails--;
  }
  return { v, known, fails, outcomes: untested ? new WeakMap() : memo.outcomes, pending };
}

/** Only validated engines take part; the health filter decides about unhealthy ones. */
function schedulable(n: NodeView): boolean {
  return n.state === 'healthy' || n.state === 'unhealthy';
}

/** More replaced nodes than this (per 1,000 … at least 8) and a fresh set is cheaper than carrying over. */
function maxChanges(count: number): number {
  return Math.max(8, count >> 6);
}

interface Entry {
  /** Frozen when first seen: it cannot have changed since. */
  frozen: boolean;
  set: NodeSet;
}

/**
 * The set of the last snapshot seen, held strongly. Not a WeakMap keyed by the snapshot: V8's
 * scavenger treats the values of a long-lived WeakMap as reachable, so every snapshot array (and
 * its set) lived through two young-generation collections and was promoted, only to be freed by
 * the next full collection — measured at 5,000 nodes: ~38 KB promoted per placement and
 * scavenges 3–4× longer. Only ONE is kept (it was 4): every snapshot array still alive at a scavenge is
 * visited slot by slot, and at 100,000 nodes keeping the last 4 made each scavenge ~0.5 ms longer
 * (2.1 → 1.6 ms median) and the API's /_ping p99 under back-to-back placements worse (bench
 * scheduler part, alternating runs: 4.92 / 5.38 ms with 4, 4.63 / 4.70 ms with 1). An older
 * snapshot is simply seen anew (derived from the caller's previous set when it can be).
 */
let recent: { nodes: Nodes; entry: Entry } | undefined;
const sets = {
  get(nodes: Nodes): Entry | undefined {
    return recent?.nodes === nodes ? recent.entry : undefined;
  },
  set(nodes: Nodes, entry: Entry): void {
    recent = { nodes, entry };
  },
};
/**
 * The NodeSet of a snapshot: the cached one when `nodes` still holds the same NodeViews; else
 * one derived from `previous` (the caller's last snapshot) when only a few nodes were replaced;
 * else a new one.
 */
export function nodeSetOf(nodes: Nodes, previous?: NodeSet): NodeSet {
  const hit = sets.get(nodes);
  if (hit && (hit.frozen || same(hit.set.input, nodes))) return hit.set;
  const set = (previous && derivable(previous, nodes)) ?? new NodeSet(nodes);
  sets.set(nodes, { frozen: isImmutable(nodes), set });
  return set;
}

/** Element by element; only asked for a mutable input (an array), so no NodeList reaches it in practice. */
function same(a: Nodes, b: Nodes): boolean {
  if (a.length !== b.length) return false;
  a = nodeArray(a);
  b = nodeArray(b);
  // Object.is: an identity test that does not read the objects (`!==` on objects spread over a
  // large heap was several times slower)
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function derivable(previous: NodeSet, nodes: Nodes): NodeSet | undefined {
  const changed = told(previous.input, nodes) ?? diff(previous.input, nodes, 0, nodes.length, []);
  return changed && previous.derive(nodes, changed);
}

/**
 * The replaced indices as the snapshot's producer recorded them (lineage.ts), checked like `diff`
 * checks them; undefined when nothing was recorded (the caller compares instead).
 */
function told(before: Nodes, nodes: Nodes): number[] | undefined {
  if (before.length !== nodes.length) return undefined;
  const changed = changesBetween(before, nodes, maxChanges(nodes.length));
  if (!changed) return undefined;
  const out: number[] = [];
  for (const i of changed) {
    const was = nodeAt(before, i);
    const now = nodeAt(nodes, i);
    if (Object.is(was, now)) continue;
    if (schedulable(was) !== schedulable(now)) return undefined;
    out.push(i);
  }
  return out;
}

/**
 * Input indices in [from, to) where `nodes` holds another NodeView than `before`, appended to
 * `changed`; undefined when the two are too different to derive one set from the other.
 */
function diff(before: Nodes, nodes: Nodes, from: number, to: number, changed: number[]): number[] | undefined {
  if (before.length !== nodes.length) return undefined;
  const limit = maxChanges(nodes.length);
  if (before instanceof NodeList && nodes instanceof NodeList) {
    // shared chunks are skipped unread: proportional to what changed
    const found = nodes.changedSince(before, [], from, to);
    for (const i of found) {
      if (changed.length === limit || schedulable(before.at(i)) !== schedulable(nodes.at(i))) return undefined;
      changed.push(i);
    }
    return changed;
  }
  before = nodeArray(before);
  nodes = nodeArray(nodes);
  for (let i = from; i < to; i++) {
    if (Object.is(before[i], nodes[i])) continue;
    if (changed.length === limit || schedulable(before[i]) !== schedulable(nodes[i])) return undefined;
    changed.push(i);
  }
  return changed;
}

/**
 * `nodeSetOf`, with the comparison against the previous snapshot done in chunks of `chunk`
 * nodes and `pause()` awaited between them: at 100,000 nodes the comparison alone holds the
 * thread for about a millisecond (one pointer test per node, each reading the node's map). Only
 * a frozen input is compared in pieces (a mutable one could change between them); the result is
 * the set `nodeSetOf` would give.
 */
export async function nodeSetOfChunked(nodes: Nodes, previous: NodeSet | undefined, pause: () => Promise<void>, chunk = 25_000): Promise<NodeSet> {
  // Two NodeLists compare chunk by chunk, skipping the ones they share: no need to pause.
  const cheap = nodes instanceof NodeList && previous?.input instanceof NodeList;
  if (!previous || !isImmutable(nodes) || nodes.length <= chunk || cheap) return nodeSetOf(nodes, previous);
  const hit = sets.get(nodes);
  if (hit && (hit.frozen || same(hit.set.input, nodes))) return hit.set;
  const recorded = told(previous.input, nodes);
  if (recorded) {
    const set = previous.derive(nodes, recorded);
    sets.set(nodes, { frozen: true, set });
    return set;
  }
  let changed: number[] | undefined = [];
  for (let from = 0; changed && from < nodes.length; from += chunk) {
    if (from > 0) await pause();
    changed = diff(previous.input, nodes, from, Math.min(nodes.length, from + chunk), changed);
  }
  const again = sets.get(nodes); // another call may have made it meanwhile
  if (again && again !== hit) return again.set;
  const set = (changed && previous.derive(nodes, changed)) ?? new NodeSet(nodes);
  sets.set(nodes, { frozen: true, set });
  return set;
}
