import type { NodeView, Rejection } from '../types.ts';

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

/**
 * The nodes still in the running, plus the record of every drop. Immutable: each operation
 * returns a new value, so a filter can never change what an earlier filter returned.
 */
const EMPTY: readonly never[] = Object.freeze([]);

/** Set right before an internal construction whose arrays are frozen already (see the constructor). */
let trusted = false;

/** A Candidates over frozen arrays, without copying them. */
function shared(
  nodes: readonly NodeView[],
  init: { rejected: readonly Rejection[]; conditions: readonly FilterConditions[]; exhausted: Exhaustion | undefined; plugin: string },
): Candidates {
  trusted = true;
  return new Candidates(nodes, init);
}

export class Candidates {
  readonly nodes: readonly NodeView[];
  readonly rejected: readonly Rejection[];
  readonly conditions: readonly FilterConditions[];
  readonly exhausted: Exhaustion | undefined;
  /** Name of the plugin currently filtering; set by the core before each filter tap runs. */
  readonly plugin: string;

  constructor(
    nodes: readonly NodeView[],
    init: {
      rejected?: readonly Rejection[];
      conditions?: readonly FilterConditions[];
      exhausted?: Exhaustion;
      plugin?: string;
    } = {},
  ) {
    if (trusted) {
      // Internal path: the arrays are already frozen (ours, or built by us and frozen here), so
      // sharing them is as safe as copying them and saves a 5,000-element copy per filter.
      trusted = false;
      this.nodes = nodes;
      this.rejected = init.rejected ?? EMPTY;
      this.conditions = init.conditions ?? EMPTY;
    } else {
      this.nodes = Object.freeze([...nodes]);
      this.rejected = Object.freeze([...(init.rejected ?? [])]);
      this.conditions = Object.freeze([...(init.conditions ?? [])]);
    }
    this.exhausted = init.exhausted;
    this.plugin = init.plugin ?? 'core';
    Object.freeze(this);
  }

  get size(): number {
    return this.nodes.length;
  }

  /** The same candidates, attributed to another plugin. Used by the core, not by filters. */
  as(plugin: string): Candidates {
    return shared(this.nodes, { ...this.fields(), plugin });
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
    const nodes = this.nodes;
    const n = nodes.length;
    // Most filters keep most nodes: copy nothing until the first drop.
    let first = 0;
    while (first < n && predicate(nodes[first])) first++;
    let kept: readonly NodeView[] = nodes;
    let rejected = this.rejected;
    if (first < n) {
      const out = nodes.slice(0, first);
      const rej = [...this.rejected];
      rej.push({ node: nodes[first].id, plugin: this.plugin, reason: reason(nodes[first]) });
      for (let i = first + 1; i < n; i++) {
        const node = nodes[i];
        if (predicate(node)) out.push(node);
        else rej.push({ node: node.id, plugin: this.plugin, reason: reason(node) });
      }
      kept = Object.freeze(out);
      rejected = Object.freeze(rej);
    }
    const conditions = options.conditions
      ? Object.freeze([...this.conditions, { plugin: this.plugin, conditions: [...options.conditions] }])
      : this.conditions;
    if (kept === nodes && conditions === this.conditions) return this; // nothing changed: immutable, so share
    const exhausted = this.exhausted
      ?? (kept.length === 0 && n > 0
        ? { plugin: this.plugin, ...(options.emptyMessage ? { message: options.emptyMessage } : {}) }
        : undefined);
    return shared(kept, { rejected, conditions, exhausted, plugin: this.plugin });
  }

  /** Record what this filter checked without dropping anything. */
  describe(conditions: string[]): Candidates {
    return shared(this.nodes, {
      ...this.fields(),
      conditions: Object.freeze([...this.conditions, { plugin: this.plugin, conditions: [...conditions] }]),
    });
  }

  /** Fail this filter with an error of its own (e.g. an expression that does not parse). */
  fail(message: string): Candidates {
    const rejected = [...this.rejected, ...this.nodes.map((n) => ({ node: n.id, plugin: this.plugin, reason: message }))];
    return new Candidates([], {
      rejected,
      conditions: this.conditions,
      exhausted: this.exhausted ?? { plugin: this.plugin, message: `error from ${this.plugin} filter: ${message}` },
      plugin: this.plugin,
    });
  }

  private fields() {
    return { rejected: this.rejected, conditions: this.conditions, exhausted: this.exhausted, plugin: this.plugin };
  }
}
