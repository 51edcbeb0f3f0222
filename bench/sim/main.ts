/**
 * Run the engine simulator as its own process (so its CPU is not counted in the manager's or the
 * load generator's):
 *   node --import tsx bench/sim/main.ts --count 1000 --host 127.0.0.80 --base-port 21000
 * Prints one JSON line `{"ready":true,"engines":[…addr…]}` on stdout once every engine listens.
 * `GET /_sim/stats` on any engine port returns request counts. Stops on SIGTERM/SIGINT.
 */
import { startSimulator } from './engine-sim.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const sim = await startSimulator({
  count: Number(arg('count', '10')),
  host: arg('host', '127.0.0.80'),
  basePort: Number(arg('base-port', '21000')),
  cpus: Number(arg('cpus', '4')),
  memory: Number(arg('memory', String(8 * 2 ** 30))),
  delayMs: Number(arg('delay-ms', '0')),
});
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, engines: sim.engines.map((e) => e.addr) })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await sim.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
