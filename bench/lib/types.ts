/**
 * Shapes shared by the benchmark driver and its parts. Every comparison a part reports is a
 * ratio of two figures measured side by side in the same run: absolute numbers alone are noise
 * on a shared 2-core machine.
 */

/** One line of `latest.json` `targets`: computed by the run from a measurement, never typed in. */
export interface TargetResult {
  name: string;
  /** The measured figure; null when the part could not measure it (see `note`). */
  measured: number | null;
  /** The threshold as written in the issue, e.g. `>= 5000` or `< 2`. */
  target: string;
  unit: string;
  met: boolean;
  /** Why a target was not measured, or under which reduced conditions (quick run). */
  note?: string;
}

/** A chart the report embeds (SVG written beside the markdown). */
export interface ChartSpec {
  /** File stem, unique within the run (`scheduler-throughput`). */
  id: string;
  title: string;
  kind: 'bars' | 'lines';
  /** Axis label of the values. */
  unit: string;
  /** X categories (bars: groups; lines: x values as labels). */
  categories: string[];
  series: { name: string; values: (number | null)[] }[];
  /** Optional horizontal reference line (a target). */
  reference?: { value: number; label: string };
  /** Log scale on the value axis (throughput over 3 decades of cluster size). */
  log?: boolean;
}

/** A table for the markdown report. */
export interface TableSpec {
  title: string;
  columns: string[];
  rows: (string | number | null)[][];
}

export interface PartResult {
  part: string;
  title: string;
  /** 'ok' when it ran; 'not run' with a reason when a dependency is missing; 'failed' on error. */
  status: 'ok' | 'not run' | 'failed';
  reason?: string;
  /** What was run (node counts, iterations, quick or full), for the report header. */
  setup: Record<string, unknown>;
  /** Raw figures, free form per part, kept in latest.json. */
  raw: Record<string, unknown>;
  targets: TargetResult[];
  tables: TableSpec[];
  charts: ChartSpec[];
  durationMs: number;
}

export interface RunContext {
  quick: boolean;
  /** `--profile`: run the scale part's manager under `node --cpu-prof` and report where its CPU went. */
  profile: boolean;
  /** Repository root. */
  root: string;
  /** Progress reporting on stderr. */
  progress: Progress;
  /** Set once the run is being aborted (SIGINT): parts stop early and clean up. */
  signal: AbortSignal;
  /** Resources parts share (the real engines of parts 2 and 3), started once per run. */
  shared: Map<string, unknown>;
  /** Cleanup run once at the end of the run (after every part), last registered first. */
  onExit(fn: () => Promise<void>): void;
}

export interface Progress {
  /** Start a step; `total` enables a bar. */
  step(label: string, total?: number): void;
  /** Advance the current step by `n` (default 1), or set it with `at`. */
  tick(n?: number): void;
  set(done: number): void;
  /** A line that stays on screen. */
  log(line: string): void;
  done(): void;
}

export type Comparator = '>=' | '<=' | '<' | '>';

export interface TargetDef {
  name: string;
  op: Comparator;
  threshold: number;
  unit: string;
}
