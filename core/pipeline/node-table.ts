/**
 * The columnar NodeTable scorers read (core/types.ts): one Float64Array per column, all laid
 * out back to back in ONE buffer, so a SharedArrayBuffer-backed table reaches worker threads
 * without copying, and a worker can rebuild the views from (buffer, byteOffset, count) alone.
 * Pure module: no I/O, safe to import from a worker.
 */
import type { NodeTable, NodeView } from '../types.ts';
import { NodeList, type Nodes } from './node-list.ts';

/** Column order in the buffer. Changing it changes the worker protocol: keep it append-only. */
export const COLUMNS = ['totalCpus', 'totalMemory', 'usedCpus', 'usedMemory', 'health', 'containers'] as const;
export type Column = (typeof COLUMNS)[number];

/** Bytes needed for a table of `count` rows. */
export function tableBytes(count: number): number {
  return COLUMNS.length * count * Float64Array.BYTES_PER_ELEMENT;
}

/** Views over an existing buffer (no copy). `byteOffset` must be a multiple of 8. */
export function tableView(buffer: ArrayBufferLike, byteOffset: number, count: number): NodeTable {
  return {
    count,
    totalCpus: column(buffer, byteOffset, count, 0),
    totalMemory: column(buffer, byteOffset, count, 1),
    usedCpus: column(buffer, byteOffset, count, 2),
    usedMemory: column(buffer, byteOffset, count, 3),
    health: column(buffer, byteOffset, count, 4),
    containers: column(buffer, byteOffset, count, 5),
  };
}

/**
 * Column `i` of a table laid out from `byteOffset`. A module function, not a closure in
 * tableView: under tsx every named closure costs a `name` definition when it is created (~0.3 µs).
 */
function column(buffer: ArrayBufferLike, byteOffset: number, count: number, i: number): Float64Array {
  return new Float64Array(buffer, byteOffset + i * count * Float64Array.BYTES_PER_ELEMENT, count);
}

/** Write one node into row `i`. */
export function writeRow(table: NodeTable, i: number, node: NodeView): void {
  table.totalCpus[i] = node.totalCpus;
  table.totalMemory[i] = node.totalMemory;
  table.usedCpus[i] = node.usedCpus;
  table.usedMemory[i] = node.usedMemory;
  table.health[i] = node.healthIndicator;
  table.containers[i] = node.containers.length; // all states + in-flight creations, as the engine layer lists them
}

/**
 * Build a table for `nodes`, row i = nodes[i]. With `target`, the rows are written into that
 * buffer at that offset (e.g. the rank pool's shared arena); otherwise a fresh ArrayBuffer
 * (or SharedArrayBuffer when `shared`) is allocated.
 */
export function buildNodeTable(
  nodes: Nodes,
  target?: { buffer: ArrayBufferLike; byteOffset?: number } | { shared: true },
): NodeTable {
  let buffer: ArrayBufferLike;
  let byteOffset = 0;
  if (target && 'buffer' in target) {
    buffer = target.buffer;
    byteOffset = target.byteOffset ?? 0;
  } else {
    const bytes = tableBytes(nodes.length);
    buffer = target && 'shared' in target ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  }
  const table = tableView(buffer, byteOffset, nodes.length);
  if (nodes instanceof NodeList) for (let i = 0; i < nodes.length; i++) writeRow(table, i, nodes.at(i));
  else for (let i = 0; i < nodes.length; i++) writeRow(table, i, nodes[i]);
  return table;
}
