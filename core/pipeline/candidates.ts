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
    this.nodes = Object.freeze([...nodes]);
    this.rejected = Object.freeze([...(init.rejected ?? [])]);
    this.conditions = Object.freeze([...(init.conditions ?? [])]);
    this.exhausted = init.exhausted;
    this.plugin = init.plugin ?? 'core';
    Object.freeze(this);
  }

  get size(): number {
    return this.nodes.length;
  }

  /** The same candidates, attributed to another plugin. Used by the core, not by filters. */
  as(plugin: string): Candidates {
    return new Candidates(this.nodes, { ...this.fields(), plugin });
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
    const kept: NodeView[] = [];
    const rejected = [...this.rejected];
    for (const node of this.nodes) {
      if (predicate(node)) kept.push(node);
      else rejected.push({ node: node.id, plugin: this.plugin, reason: reason(node) });
    }
    const conditions = options.conditions
      ? [...this.conditions, { plugin: this.plugin, conditions: options.conditions }]
      : this.conditions;
    const exhausted = this.exhausted
      ?? (kept.length === 0 && this.nodes.length > 0
        ? { plugin: this.plugin, ...(options.emptyMessage ? { message: options.emptyMessage } : {}) }
        : undefined);
    return new Candidates(kept, { rejected, conditions, exhausted, plugin: this.plugin });
  }

  /** Record what this filter checked without dropping anything. */
  describe(conditions: string[]): Candidates {
    return new Candidates(this.nodes, {
      ...this.fields(),
      conditions: [...this.conditions, { plugin: this.plugin, conditions }],
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
