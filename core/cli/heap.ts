/**
 * V8 heap sizing for `swarm manage` (applied by the manager itself, so every user gets it, however
 * it is launched: the `swarm` binary, `npm run swarm`, a test or bench child process).
 *
 * The manager allocates fast (engine answers parsed per container, node views rebuilt per engine)
 * while its live heap is modest (about 110 MB at 1,000 engines and 10,000 containers). V8's default
 * heap growing factor scales with the maximum heap size, up to 4x the live heap after each full GC
 * on a machine with a large default limit: the manager's heap then reached 320 MB for 110 MB live,
 * and its RSS ~400-460 MB (bench scale part, 1,000 simulated engines, 10,000 containers). With a
 * 60% growing factor the same run stays at ~245 MB RSS; the price is more frequent (incremental,
 * mostly concurrent) major GCs: 30% saved another ~10 MB but cost about 10% more manager CPU per
 * container in side-by-side runs.
 *
 * A value given by the user (`NODE_OPTIONS=--heap-growing-percent=N` or a node flag) wins.
 *
 * The young generation is sized by the `swarm` executable instead (core/cli/bin.js, 32 MB per
 * semi-space instead of V8's 16 MB): V8 reads that size only when the isolate starts, so it cannot
 * be set from here. Under load at 1,000 engines the manager allocates ~170-200 KB per container
 * created+started (parsed engine answers, HTTP objects on both sides); with 16 MB semi-spaces that
 * is a scavenge every ~70 containers (every 100-150 ms), each a 7-15 ms pause copying the ~2.5 MB
 * that is alive at that moment. 32 MB halves the number of scavenges (same pause each: survivors, not
 * allocation, set it), fewer short-lived objects live long enough to be promoted, and major GCs fall
 * from ~10 to ~3 over 10,000 containers: manager CPU per container fell 0-25% (median ~18%) in 9 alternating
 * side-by-side runs, for 5-33 MB more RSS at 10,000 containers (bench scale part, 1,000 simulated
 * engines). 24 MB measured the same as 32 in those runs (scavenge count, RSS); 64 MB took RSS to ~330 MB.
 * `npm run swarm` and the quick start (`npm run cluster`) run the executable too; the test kit runs
 * `node --import tsx core/cli/main.ts`, without that flag.
 */
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 60;

/** True when the process was started with its own `--heap-growing-percent`. */
export function userHeapFlag(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  const given = (s: string) => /--heap[-_]growing[-_]percent\b/.test(s);
  return execArgv.some(given) || given(nodeOptions);
}

/** Set V8's heap growing factor for this process unless the user chose one; returns what was set. */
export function tuneHeap(percent = HEAP_GROWING_PERCENT): number | undefined {
  if (userHeapFlag()) return undefined;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
