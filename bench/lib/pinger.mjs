// Worker thread that sends `GET <url>` back to back (keep-alive, one at a time, `gapMs` apart)
// until told to stop, and posts back every latency in ms with its send time (epoch ms, the clock
// bench/lib/gc-log.ts uses, so slow pings can be matched with the server thread's GC pauses).
// It has its own event loop, so it measures how long the server under test takes to answer, not
// how busy the parent thread is.
// Plain JavaScript on purpose: under Node 20, a worker thread does not get tsx's ESM loader
// hooks, so a `.ts` worker entry fails to load.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { url, gapMs } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let running = true;
let lat = [];
let starts = [];
let errors = 0;

parentPort.on('message', (msg) => {
  if (msg === 'flush') {
    parentPort.postMessage({ latencies: lat, starts, errors });
    lat = [];
    starts = [];
    errors = 0;
  } else if (msg === 'stop') {
    running = false;
  }
});

function once() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) {
          lat.push(performance.now() - t0);
          starts.push(performance.timeOrigin + t0);
        }
        else errors++;
        resolve();
      });
    });
    req.on('error', () => { errors++; resolve(); });
  });
}

while (running) {
  await once();
  if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
}
agent.destroy();
