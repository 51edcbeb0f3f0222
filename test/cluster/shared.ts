/**
 * Starts the shared test cluster once (3 engines node-1..3 on 127.0.0.11-13 when free) and
 * keeps it up until SIGTERM/SIGINT. Used by test/run-all.sh and test/cluster/up.sh.
 *
 *   node --import tsx test/cluster/shared.ts [--state FILE] [--count N]
 *
 * Prints the engines as one JSON line (the value of SWARM_TEST_ENGINES) and, with --state,
 * writes the same JSON to FILE atomically once every engine answers.
 */
import { renameSync, writeFileSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_IPS, startEngines, type EngineGroup } from './engines.ts';

const { values } = parseArgs({
  options: { state: { type: 'string' }, count: { type: 'string', default: '3' } },
});
const count = Number(values.count);

let group: EngineGroup | undefined;
let stopping = false;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (values.state) rmSync(values.state, { force: true });
  // Signal during start-up: the exit reaper (test/cluster/proc.ts) stops what was started.
  if (group) await group.stop();
  process.exit(code);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void shutdown(0));

try {
  group = await startEngines({
    reuse: false,
    count,
    ips: DEFAULT_IPS,
    names: Array.from({ length: count }, (_, i) => `node-${i + 1}`),
  });
} catch (err) {
  console.error(`shared cluster: ${(err as Error).message}`);
  process.exit(1);
}
const json = JSON.stringify(group.engines);
if (values.state) {
  writeFileSync(`${values.state}.tmp`, json);
  renameSync(`${values.state}.tmp`, values.state);
}
console.log(json);
if (stopping) await group.stop();
// Stay alive: the engines are our children and are stopped by shutdown().
setInterval(() => {}, 1 << 30);
