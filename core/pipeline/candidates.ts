import type { NodeView, Rejection } from '../types.ts';
import { resolve, verdictEpoch, type NodeSet, type Verdicts } from './node-set.ts';
import type { NodeList } from './node-list.ts';

/** The conditions one filter checked, in the legacy error listing (`[port 80 (Bridge mode)]`). */
export interface FilterConditions {
  plugin: string;
  conditions: string[];
}

/** Set when a filter leaves no node: which plugin, and the message it wants shown, if any. */
export interface Exhaustion {
  plugin: string;
  /** A filter-specific full message (health: `No healthy node available in the cluster`). */
  message?: string;
}

const EMPTY: readonly never[] = Object.freeze([]);

/**
 * Drops recorded without building their Rejection objects: `keepWhere` promises a reason that
 * depends on the node alone, so it can be asked when (if ever) someone reads `rejected`.
 */
interface LazyDrops {
  plugin: string;
  base: NodeList;
  rows: Int32Array;
  reason: (node: NodeView) => string;
}
/**
 * One dropping filter of a conjunction (see Fields.conj): its verdicts over every row of the set,
 * as they were when the filter ran (`epoch`: a later snapshot patches the array in place and bumps
 * it; then `predicate` is asked instead), and what a drop is recorded as.
 */
export interface ConjPart {
  readonly v: Uint8Array;
  readonly epoch: number;
  readonly predicate: (node: NodeView) => boolean;
  readonly plugin: string;
  readonly reason: (node: NodeView) => string;
}

/** Drops of one conjunction part: rows passing the parts before it and failing it. */
interface ConjDrops {
  conj: readonly ConjPart[];
  base: NodeList;
}
type Segment = readonly Rejection[] | LazyDrops | ConjDrops;

interface Fields {
  /** Plain form: the nodes themselves. */
  nodes?: readonly NodeView[];
  /** Row form: rows of `set.base`, ascending (filters never reorder). */
  set?: NodeSet;
  rows?: Int32Array;
  /**
   * Row form, not materialised: the rows of the set for which every part's verdict is "passes".
   * Filters that name their predicate (`keepWhere`) add a part instead of building kept-row lists;
   * the core then finds the placement in one fused pass over the set (fused-scan.ts).
   */
  conj?: readonly ConjPart[];
  /** With `conj`: at least one row passes every part. */
  nonEmpty?: boolean;
  segments: readonly Segment[];
  conditions: readonly FilterConditions[];
  exhausted: Exhaustion | undefined;
  plugin: string;
  /** Shared between values with the same nodes and drops: what was materialised already. */
  memo: { nodes?: readonly NodeView[]; rejected?: readonly Rejection[]; rows?: Int32Array };
}

/** Whether row `i` passes one part (a part whose array was patched since asks its predicate). */
function passesPart(p: ConjPart, base: NodeList, i: number): boolean {
  return verdictEpoch(p.v) === p.epoch ? p.v[i] === 1 : p.predicate(base.at(i));
}

/** Whether row `i` passes every part. */
function passesAll(conj: readonly ConjPart[], base: NodeList, i: number): boolean {
  for (const p of conj) if (!passesPart(p, base, i)) return false;
  return true;
}

/** The rows of a row-form value, materialised (once) when it is a conjunction. */
function rowsOfFields(f: Fields): Int32Array {
  if (f.rows) return f.rows;
  if (!f.memo.rows) {
    const base = f.set!.base;
    const conj = f.conj!;
    const out = new Int32Array(base.length);
    let k = 0;
    for (let i = 0; i < base.length; i++) if (passesAll(conj, base, i)) out[k++] = i;
    f.memo.rows = out.slice(0, k);
  }
  return f.memo.rows;
}

/** Set right before an internal construction (see the constructor). */
let internal: Fields | undefined;

function make(fields: Fields): Candidates {
  internal = fields;
  return new Candidates(EMPTY);
}

/**
 * The nodes still in the running, plus the record of every drop. Immutable: each operation
 * returns a new value, so a filter can never change what an earlier filter returned.
 *
 * Inside `schedule()` a value is in "row form": the nodes are rows of a cached NodeSet, so a
 * filter that names its predicate (`keepWhere`) reuses per-node verdicts across placements and
 * records drops without building their reasons until somebody reads `rejected`. Readers see the
 * same `nodes`, `rejected` and `size` either way.
 */
export class Candidates {
  readonly conditions: readonly FilterConditions[];
  readonly exhausted: Exhaustion | undefined;
  /** Name of the plugin currently filtering; set by the core before each filter tap runs. */
  readonly plugin: string;
  readonly #f: Fields;

  constructor(
    nodes: readonly NodeView[],
    init: {
      rejected?: readonly Rejection[];
      conditions?: readonly FilterConditions[];
      exhausted?: Exhaustion;
      plugin?: string;
    } = {},
  ) {
    if (internal) {
      this.#f = internal;
      internal = undefined;
    } else {
      const rejected = Object.freeze([...(init.rejected ?? [])]);
      this.#f = {
        nodes: Object.freeze([...nodes]),
        segments: rejected.length > 0 ? [rejected] : EMPTY,
        conditions: Object.freeze([...(init.conditions ?? [])]),
        exhausted: init.exhausted,
        plugin: init.plugin ?? 'core',
        memo: {},
      };
    }
    this.conditions = this.#f.conditions;
    this.exhausted = this.#f.exhausted;
    this.plugin = this.#f.plugin;
    Object.freeze(this);
  }

  /** Every schedulable node of `set`, in row form. Used by the core. */
  static of(set: NodeSet): Candidates {
    return make({ set, rows: set.all, segments: EMPTY, conditions: EMPTY, exhausted: undefined, plugin: 'core', memo: {} });
  }

  /** The rows (of `set.base`) of a row-form value; undefined for a plain one. Used by the core. */
  static rowsOf(c: Candidates): { set: NodeSet; rows: Int32Array } | undefined {
    const f = c.#f;
    return f.set && (f.rows || f.conj) ? { set: f.set, rows: rowsOfFields(f) } : undefined;
  }

  /**
   * The value as a conjunction over every row of its set (no part: every row), when it is one and
   * every part's verdicts are still as they were; undefined otherwise. Used by the core.
   */
  static conjunctionOf(c: Candidates): { set: NodeSet; parts: readonly ConjPart[] } | undefined {
    const f = c.#f;
    if (!f.set) return undefined;
    if (f.conj) return f.conj.every((p) => verdictEpoch(p.v) === p.epoch) ? { set: f.set, parts: f.conj } : undefined;
    return f.rows === f.set.all ? { set: f.set, parts: [] } : undefined;
  }

  /** The nodes still in the running (frozen). */
  get nodes(): readonly NodeView[] {
    const f = this.#f;
    if (f.nodes) return f.nodes;
    if (!f.memo.nodes) {
      const { base } = f.set!;
      const rows = rowsOfFields(f);
      const out: NodeView[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) out[i] = base.at(rows[i]);
      f.memo.nodes = Object.freeze(out);
    }
    return f.memo.nodes;
  }

  /** Every drop so far, in order (frozen). */
  get rejected(): readonly Rejection[] {
    const f = this.#f;
    if (f.segments.length === 0) return EMPTY;
    if (f.segments.length === 1 && Array.isArray(f.segments[0])) return f.segments[0] as readonly Rejection[];
    if (!f.memo.rejected) {
      const out: Rejection[] = [];
      for (const s of f.segments) {
        if (Array.isArray(s)) out.push(...(s as readonly Rejection[]));
        else if ('conj' in s) {
          const { conj, base } = s as ConjDrops;
          const before = conj.slice(0, -1);
          const last = conj[conj.length - 1];
          for (let i = 0; i < base.length; i++) {
            if (passesAll(before, base, i) && !passesPart(last, base, i)) out.push({ node: base.at(i).id, plugin: last.plugin, reason: last.reason(base.at(i)) });
          }
        } else {
          const { plugin, base, rows, reason } = s as LazyDrops;
          for (let i = 0; i < rows.length; i++) {
            const node = base.at(rows[i]);
            out.push({ node: node.id, plugin, reason: reason(node) });
          }
        }
      }
      f.memo.rejected = Object.freeze(out);
    }
    return f.memo.rejected;
  }

  get size(): number {
    const f = this.#f;
    return f.nodes ? f.nodes.length : rowsOfFields(f).length;
  }

  /** No node left (cheaper than `size === 0`: a conjunction is not materialised for it). */
  get empty(): boolean {
    const f = this.#f;
    if (f.nodes) return f.nodes.length === 0;
    if (f.conj) return !f.nonEmpty;
    return f.rows!.length === 0;
  }

  /** The same candidates, attributed to another plugin. Used by the core, not by filters. */
  as(plugin: string): Candidates {
    return make({ ...this.#f, plugin });
  }

  /**
   * Keep the nodes for which `predicate` holds; every other node is recorded with `reason(node)`.
   * `options.conditions` describes what was checked (for the legacy error text);
   * `options.emptyMessage` replaces the generic error when this filter drops the last node.
   */
  keep(
    predicate: (node: NodeView) => boolean,
    reason: (node: NodeView) => string,
    options: { conditions?: string[]; emptyMessage?: string } = {},
  ): Candidates {
    const f = this.#f;
    if (!f.nodes) return this.#keepRows(predicate, reason, options, undefined);
    const nodes = f.nodes;
    const n = nodes.length;
    // Most filters keep most nodes: copy nothing until the first drop.
    let first = 0;
    while (first < n && predicate(nodes[first])) first++;
    if (first === n) return this.#unchanged(options);
    const out = nodes.slice(0, first);
    const rej: Rejection[] = [{ node: nodes[first].id, plugin: f.plugin, reason: reason(nodes[first]) }];
    for (let i = first + 1; i < n; i++) {
      const node = nodes[i];
      if (predicate(node)) out.push(node);
      else rej.push({ node: node.id, plugin: f.plugin, reason: reason(node) });
    }
    return this.#narrowed({ nodes: Object.freeze(out) }, Object.freeze(rej), out.length, n, options);
  }

  /**
   * `keep`, for a predicate and a reason that depend on the node snapshot alone, named by `key`
   * (unique within this plugin: the same key must always mean the same predicate). Row-form
   * candidates remember each node's verdict under (plugin, key) for as long as the snapshot
   * lives, skip the whole scan when every node is known to pass, and build the reasons only
   * when `rejected` is read. Plain candidates behave exactly like `keep`.
   */
  keepWhere(
    key: string,
    predicate: (node: NodeView) => boolean,
    reason: (node: NodeView) => string,
    options: { conditions?: string[]; emptyMessage?: string } = {},
  ): Candidates {
    if (this.#f.nodes) return this.keep(predicate, reason, options);
    return this.#keepRows(predicate, reason, options, key);
  }

  #keepRows(
    predicate: (node: NodeView) => boolean,
    reason: (node: NodeView) => string,
    options: { conditions?: string[]; emptyMessage?: string },
    key: string | undefined,
  ): Candidates {
    const f = this.#f;
    const set = f.set!;
    const base = set.base;
    const memo = key === undefined ? undefined : set.verdicts(`${f.plugin}\0${key}`);
    if (memo) resolve(memo, base, predicate);
    if (memo && memo.fails === 0 && memo.known === base.length) return this.#unchanged(options);
    if (memo && (f.conj || f.rows === set.all)) return this.#conjoin(memo, predicate, reason, options);
    const rows = rowsOfFields(f);
    const n = rows.length;
    const seen = memo?.outcomes.get(rows);
    if (seen === 'all') return this.#unchanged(options);
    if (seen) {
      const drops: LazyDrops = { plugin: f.plugin, base, rows: seen.dropped, reason };
      return this.#narrowed({ set, rows: seen.kept }, drops, seen.kept.length, n, options);
    }
    let kept: Int32Array | undefined;
    let dropped: Int32Array | undefined;
    let k = 0;
    let d = 0;
    const eager: Rejection[] = [];
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      let pass: boolean;
      if (memo) {
        let v = memo.v[row];
        if (v === 0) {
          v = predicate(base.at(row)) ? 1 : 2;
          memo.v[row] = v;
          memo.known++;
          if (v === 2) memo.fails++;
        }
        pass = v === 1;
      } else pass = predicate(base.at(row));
      if (pass) {
        if (kept) kept[k] = row;
        k++;
        continue;
      }
      if (!kept) {
        kept = new Int32Array(n);
        kept.set(rows.subarray(0, i));
        dropped = new Int32Array(n - i);
      }
      if (memo) dropped![d++] = row;
      else eager.push({ node: base.at(row).id, plugin: f.plugin, reason: reason(base.at(row)) });
    }
    if (!kept) {
      memo?.outcomes.set(rows, 'all');
      return this.#unchanged(options);
    }
    // exact-length copies: a kept outcome is the input of the next filter's cache
    const keptRows = kept.slice(0, k);
    let drops: Segment;
    if (memo) {
      const droppedRows = dropped!.slice(0, d);
      memo.outcomes.set(rows, { kept: keptRows, dropped: droppedRows });
      drops = { plugin: f.plugin, base, rows: droppedRows, reason };
    } else drops = Object.freeze(eager);
    return this.#narrowed({ set, rows: keptRows }, drops, k, n, options);
  }

  /**
   * keepWhere on every row of the set (or a conjunction): the verdicts of every row are made
   * known, and the value becomes a conjunction with this filter's verdicts as one more part.
   */
  #conjoin(
    memo: Verdicts,
    predicate: (node: NodeView) => boolean,
    reason: (node: NodeView) => string,
    options: { conditions?: string[]; emptyMessage?: string },
  ): Candidates {
    const f = this.#f;
    const base = f.set!.base;
    if (memo.known < base.length) {
      const v = memo.v;
      for (let i = 0; i < base.length; i++) {
        if (v[i] !== 0) continue;
        const pass = predicate(base.at(i));
        v[i] = pass ? 1 : 2;
        memo.known++;
        if (!pass) memo.fails++;
      }
    }
    if (memo.fails === 0) return this.#unchanged(options);
    const before = f.conj ? f.nonEmpty === true : base.length > 0;
    const conj = [...(f.conj ?? []), { v: memo.v, epoch: verdictEpoch(memo.v), predicate, plugin: f.plugin, reason }];
    let nonEmpty = false;
    if (before) for (let i = 0; i < base.length && !nonEmpty; i++) nonEmpty = passesAll(conj, base, i);
    const drops: ConjDrops = { conj, base };
    return this.#narrowed({ set: f.set!, conj, nonEmpty }, drops, nonEmpty ? 1 : 0, before ? 1 : 0, options);
  }

  /** Nothing dropped: this value, or a copy that also lists this filter's conditions. */
  #unchanged(options: { conditions?: string[] }): Candidates {
    return options.conditions ? this.describe(options.conditions) : this;
  }

  #narrowed(
    kept: { nodes: readonly NodeView[] } | { set: NodeSet; rows: Int32Array } | { set: NodeSet; conj: readonly ConjPart[]; nonEmpty: boolean },
    drops: Segment,
    left: number,
    before: number,
    options: { conditions?: string[]; emptyMessage?: string },
  ): Candidates {
    const f = this.#f;
    const conditions = options.conditions
      ? Object.freeze([...f.conditions, { plugin: f.plugin, conditions: [...options.conditions] }])
      : f.conditions;
    const exhausted = f.exhausted
      ?? (left === 0 && before > 0
        ? { plugin: f.plugin, ...(options.emptyMessage ? { message: options.emptyMessage } : {}) }
        : undefined);
    return make({ ...kept, segments: [...f.segments, drops], conditions, exhausted, plugin: f.plugin, memo: {} });
  }

  /** Record what this filter checked without dropping anything. */
  describe(conditions: string[]): Candidates {
    const f = this.#f;
    return make({
      ...f,
      conditions: Object.freeze([...f.conditions, { plugin: f.plugin, conditions: [...conditions] }]),
    });
  }

  /** Fail this filter with an error of its own (e.g. an expression that does not parse). */
  fail(message: string): Candidates {
    const f = this.#f;
    const rejected = [...this.rejected, ...this.nodes.map((n) => ({ node: n.id, plugin: f.plugin, reason: message }))];
    return new Candidates([], {
      rejected,
      conditions: f.conditions,
      exhausted: f.exhausted ?? { plugin: f.plugin, message: `error from ${f.plugin} filter: ${message}` },
      plugin: f.plugin,
    });
  }
}
