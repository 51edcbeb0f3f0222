/**
 * A persistent cluster snapshot: NodeViews in chunks of 1,024, where the next snapshot shares
 * every chunk it did not change with the one before.
 *
 * Why: the engine layer hands the scheduler a new snapshot for each placement with a node or two
 * replaced. As a plain frozen array that is a copy of the whole cluster each time: 800 KB at
 * 100,000 nodes. Each copy landed in V8's young large-object space, so a scavenge ran every ~20
 * placements, and the live copy was promoted each time (~40 MB/s into old space), which made a
 * major GC run every few seconds; those pauses were most of the API's slow `/_ping`s while
 * placements ran back to back (bench scheduler part, "What the slow pings waited for"). Replacing
 * one node here copies one chunk (8 KB) and the chunk index (~800 bytes at 100,000 nodes).
 *
 * Immutable: `with` returns a new list. The chunks are never handed out, so they need not be
 * frozen (on Node 20 an element read of a frozen array is several times slower, see lineage.ts).
 */
import type { NodeView } from '../types.ts';

const SHIFT = 10;
const CHUNK = 1 << SHIFT;
const MASK = CHUNK - 1;

export class NodeList implements Iterable<NodeView> {
  readonly length: number;
  readonly #chunks: readonly (readonly NodeView[])[];
  /** The whole list as one frozen array, made when first asked for (see toArray). */
  #array: readonly NodeView[] | undefined;

  private constructor(chunks: readonly (readonly NodeView[])[], length: number) {
    this.#chunks = chunks;
    this.length = length;
    Object.freeze(this);
  }

  static readonly empty: NodeList = new NodeList([], 0);

  /** A list of `nodes`, in their order (copied: later changes to `nodes` do not show). */
  static from(nodes: ArrayLike<NodeView> | Iterable<NodeView>): NodeList {
    const all = Array.isArray(nodes) ? (nodes as readonly NodeView[]) : Array.from(nodes as Iterable<NodeView>);
    const chunks: NodeView[][] = [];
    for (let from = 0; from < all.length; from += CHUNK) chunks.push(all.slice(from, from + CHUNK));
    return new NodeList(chunks, all.length);
  }

  /** The node at `i`, 0 ≤ i < length (outside: a TypeError or undefined). */
  at(i: number): NodeView {
    return this.#chunks[i >> SHIFT][i & MASK];
  }

  /**
   * This list with `changes` applied (index → node; indices must be within the list). Copies each
   * chunk that changes once and shares the others; returns this list when nothing changes.
   */
  with(changes: Iterable<readonly [number, NodeView]>): NodeList {
    let chunks: (readonly NodeView[])[] | undefined;
    let copied: Set<number> | undefined;
    for (const [i, node] of changes) {
      if (!(i >= 0 && i < this.length && Number.isInteger(i))) throw new RangeError(`NodeList.with: index ${i} is outside 0..${this.length - 1}`);
      const c = i >> SHIFT;
      if ((chunks ?? this.#chunks)[c][i & MASK] === node) continue;
      chunks ??= this.#chunks.slice();
      copied ??= new Set();
      if (!copied.has(c)) {
        chunks[c] = chunks[c].slice();
        copied.add(c);
      }
      (chunks[c] as NodeView[])[i & MASK] = node;
    }
    return chunks ? new NodeList(chunks, this.length) : this;
  }

  /**
   * Indices in [from, to) where this list holds another NodeView than `before` (a list of the same
   * length), appended to `out`. Chunks the two share are skipped without reading them, so two
   * lists one derived from the other compare in time proportional to what changed.
   */
  changedSince(before: NodeList, out: number[], from = 0, to = this.length): number[] {
    if (before.length !== this.length) throw new RangeError('NodeList.changedSince: lists of different lengths');
    const mine = this.#chunks;
    const theirs = before.#chunks;
    for (let c = from >> SHIFT; c << SHIFT < to; c++) {
      const a = mine[c];
      const b = theirs[c];
      if (a === b) continue;
      const start = Math.max(from, c << SHIFT);
      const end = Math.min(to, (c + 1) << SHIFT);
      for (let i = start; i < end; i++) if (!Object.is(a[i & MASK], b[i & MASK])) out.push(i);
    }
    return out;
  }

  /** The list as one frozen array, made once per list (for readers that want an array). */
  toArray(): readonly NodeView[] {
    if (!this.#array) this.#array = Object.freeze(this.#chunks.flat());
    return this.#array;
  }

  *[Symbol.iterator](): Iterator<NodeView> {
    for (const chunk of this.#chunks) yield* chunk;
  }
}

/** A cluster snapshot as the scheduler takes it: a NodeList, or an array (frozen: it may be kept as it is). */
export type Nodes = NodeList | readonly NodeView[];

/** `nodes[i]` of either form. */
export function nodeAt(nodes: Nodes, i: number): NodeView {
  return nodes instanceof NodeList ? nodes.at(i) : nodes[i];
}

/** The snapshot as an array: the array itself, or the list's own (made once). */
export function nodeArray(nodes: Nodes): readonly NodeView[] {
  return nodes instanceof NodeList ? nodes.toArray() : nodes;
}

/** true when the snapshot cannot change: a NodeList, or a frozen array. */
export function isImmutable(nodes: Nodes): boolean {
  return nodes instanceof NodeList || Object.isFrozen(nodes);
}
