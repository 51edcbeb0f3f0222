/**
 * What the scheduler derives from one cluster snapshot (an array of NodeViews) and keeps across
 * placements: the schedulable nodes, their columnar NodeTable, and per-node filter verdicts.
 *
 * Why it is safe to keep: a NodeView is a snapshot that nobody mutates (core/types.ts), so
 * anything computed from the same NodeView objects stays true. A NodeSet is found again only
 * for the SAME array holding the SAME NodeView objects (checked element by element, a few µs at
 * 5,000 nodes); a node that changes (a container added or removed, a label, its health) is a
 * new NodeView from the engine layer, so the array no longer matches and a fresh NodeSet is
 * built. Nothing here is module state that outlives its snapshot: the cache is a WeakMap keyed
 * by the caller's array.
 */
import { buildNodeTable } from './node-table.ts';
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
  readonly outcomes: WeakMap<Int32Array, { kept: Int32Array; dropped: Int32Array } | 'all'>;
}

/** Score vectors (one per scorer and resources asked) kept per set. */
const MAX_SCORE_KEYS = 16;

/** Verdict caches kept per set; a set asked for more distinct predicates starts over (user-given rules are unbounded). */
const MAX_VERDICT_KEYS = 256;

export class NodeSet {
  /** Nodes that take part in scheduling (healthy or unhealthy), in input order. Frozen. */
  readonly base: readonly NodeView[];
  /** 0..base.length−1: the rows of "every schedulable node". */
  readonly all: Int32Array;
  #table: NodeTable | undefined;
  readonly #verdicts = new Map<string, Verdicts>();
  readonly #scores = new Map<string, Float64Array>();
  /** Scores of a subset of rows, picked from a kept score vector: by rows, then by score key. */
  readonly #picked = new WeakMap<Int32Array, Map<string, Float64Array>>();
  readonly #summaries = new WeakMap<Float64Array, unknown>();

  constructor(nodes: readonly NodeView[]) {
    this.base = Object.freeze(nodes.filter((n) => n.state === 'healthy' || n.state === 'unhealthy'));
    this.all = new Int32Array(this.base.length);
    for (let i = 0; i < this.all.length; i++) this.all[i] = i;
  }

  get count(): number {
    return this.base.length;
  }

  /** The columnar table of `base` (row i = base[i]), built on first use and kept. */
  get table(): NodeTable {
    this.#table ??= buildNodeTable(this.base);
    return this.#table;
  }

  /** Scores of every row under `key` (see ScorerRef.rowLocal), if computed before. */
  scores(key: string): Float64Array | undefined {
    return this.#scores.get(key);
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

  keepScores(key: string, scores: Float64Array): void {
    if (this.#scores.size >= MAX_SCORE_KEYS) this.#scores.clear();
    this.#scores.set(key, scores);
  }

  /**
   * The verdict cache of a named predicate. The name must determine the predicate: same name
   * ⇒ same answer for the same NodeView (the caller namespaces it with its plugin name).
   */
  verdicts(key: string): Verdicts {
    let v = this.#verdicts.get(key);
    if (!v) {
      if (this.#verdicts.size >= MAX_VERDICT_KEYS) this.#verdicts.clear();
      v = { v: new Uint8Array(this.base.length), known: 0, fails: 0, outcomes: new WeakMap() };
      this.#verdicts.set(key, v);
    }
    return v;
  }
}

interface Entry {
  /** The caller's array as it was (a copy of its element references), to detect in-place edits. */
  nodes: readonly NodeView[];
  /** Frozen when first seen: it cannot have changed since. */
  frozen: boolean;
  set: NodeSet;
}

const sets = new WeakMap<readonly NodeView[], Entry>();

function same(a: readonly NodeView[], b: readonly NodeView[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The NodeSet of a snapshot: the cached one when `nodes` still holds the same NodeViews, else a
 * new one. A frozen array cannot have been edited in place, so it is not compared again (at
 * 100,000 nodes the comparison is a good part of a placement): an engine layer that hands out
 * one frozen array per cluster state gets every cache for free.
 */
export function nodeSetOf(nodes: readonly NodeView[]): NodeSet {
  const hit = sets.get(nodes);
  if (hit && (hit.frozen || same(hit.nodes, nodes))) return hit.set;
  const set = new NodeSet(nodes);
  const frozen = Object.isFrozen(nodes);
  sets.set(nodes, { nodes: frozen ? EMPTY : [...nodes], frozen, set });
  return set;
}

const EMPTY: readonly NodeView[] = Object.freeze([]);
