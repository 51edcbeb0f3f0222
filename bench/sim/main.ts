/**
 * Run the engine simulator as its own processes (so its CPU is not counted in the manager's or the
 * load generator's):
 *   node --import tsx bench/sim/main.ts --count 1000 --host 127.0.0.80 --base-port 21000 [--workers 2]
 * With `--workers N` (N > 1) the engines are split over N child processes (engine i still listens
 * on base-port + i): one event loop answering 1,000 engines at 500 containers/s (several engine calls
 * each) would itself be the bottleneck of the measurement.
 * Prints one JSON line `{"ready":true,"pids":[…],"engines":[…addr…],"stats":[…addr…]}` on stdout once every
 * engine listens; `GET /_sim/stats` on each `stats` address returns that process's request counts
 * (sum them). Stops on SIGTERM/SIGINT (and stops its workers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startSimulator } from './engine-sim.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const count = Number(arg('count', '10'));
const host = arg('host', '127.0.0.80');
const basePort = Number(arg('base-port', '21000'));
const workers = Math.max(1, Math.min(Number(arg('workers', '1')), count));
const common = ['--host', host, '--cpus', arg('cpus', '4'), '--memory', arg('memory', String(8 * 2 ** 30)), '--delay-ms', arg('delay-ms', '0')];

if (workers === 1) {
  const sim = await startSimulator({
    count,
    host,
    basePort,
    cpus: Number(arg('cpus', '4')),
    memory: Number(arg('memory', String(8 * 2 ** 30))),
    delayMs: Number(arg('delay-ms', '0')),
    indexOffset: Number(arg('index-offset', '0')),
  });
  const engines = sim.engines.map((e) => e.addr);
  process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid, pids: [process.pid], engines, stats: engines.slice(0, 1) })}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await sim.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  // A worker whose parent died must not linger.
  if (process.argv.includes('--index-offset')) process.stdin.on('end', () => void stop()).resume();
} else {
  if (!basePort) throw new Error('--workers needs a fixed --base-port');
  const self = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = [];
  const per = Math.ceil(count / workers);
  const starts: Promise<{ engines: string[]; stats: string[]; pids: number[] }>[] = [];
  for (let w = 0; w < workers; w++) {
    const offset = w * per;
    const n = Math.min(per, count - offset);
    if (n <= 0) break;
    // The same Node flags (tsx loader, --cpu-prof when profiling) as this process.
    const child = spawn(process.execPath, [...process.execArgv, self, ...common,
      '--count', String(n), '--base-port', String(basePort + offset), '--index-offset', String(offset)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.push(child);
    starts.push(new Promise((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', (line) => {
        try {
          resolve(JSON.parse(line) as { engines: string[]; stats: string[]; pids: number[] });
        } catch (err) {
          reject(err);
        }
      });
      child.once('exit', (code) => reject(new Error(`simulator worker ${w} exited with ${code}`)));
    }));
  }
  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 5_000).unref();
    })));
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  try {
    const parts = await Promise.all(starts);
    process.stdout.write(`${JSON.stringify({
      ready: true, pid: process.pid, pids: [process.pid, ...parts.flatMap((p) => p.pids)],
      engines: parts.flatMap((p) => p.engines), stats: parts.flatMap((p) => p.stats),
    })}\n`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    await stop(1);
  }
}
