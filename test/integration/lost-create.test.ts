// A create whose answer is lost (the engine made the container, but the connection dropped before
// the manager read the reply) must not leave a container its client was told had failed.
// A small forwarder in front of a real engine passes everything through, except that it drops the
// connection right after the engine has answered a container create.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startEngines, startManager, dockerCli, type ManagerProcess, type TestEngine } from '../cluster/index.ts';

let engine: TestEngine;
let stopEngines: () => Promise<void> = async () => {};
let manager: ManagerProcess | undefined;
let forwarder: http.Server;
let dropped = 0;
const LABEL = `lost-create-${process.pid}`;

function startForwarder(target: TestEngine): Promise<http.Server> {
  const agent = new http.Agent({ keepAlive: false });
  const server = http.createServer((req, res) => {
    const upstream = http.request({
      host: target.ip, port: target.port, method: req.method, path: req.url, headers: req.headers, agent,
    }, (answer) => {
      if (req.method === 'POST' && /\/containers\/create/.test(req.url ?? '') && answer.statusCode === 201) {
        answer.resume();
        answer.on('end', () => { dropped++; req.socket.destroy(); });
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function labelled(): Promise<string[]> {
  const r = await dockerCli(engine.host, ['ps', '-a', '-q', '--filter', `label=${LABEL}`]);
  return r.stdout.split('\n').filter(Boolean);
}

before(async () => {
  const group = await startEngines({ count: 1 });
  engine = group.engines[0]!;
  stopEngines = group.stop;
  forwarder = await startForwarder(engine);
  const port = (forwarder.address() as AddressInfo).port;
  manager = await startManager(['--engine-refresh-min-interval', '5s', '--engine-refresh-max-interval', '5s', `nodes://127.0.0.1:${port}`]);
  for (let i = 0; i < 120; i++) {
    const info = await dockerCli(manager.host, ['info']);
    if (/Status: Healthy/.test(info.stdout)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
});

after(async () => {
  const left = await labelled();
  if (left.length) await dockerCli(engine.host, ['rm', '-f', ...left]);
  await manager?.stop();
  await new Promise((r) => forwarder.close(r));
  await stopEngines();
});

test('a create whose answer was lost fails for its client and leaves no container behind', async () => {
  assert.ok(manager);
  const r = await dockerCli(manager.host, ['create', '--label', LABEL, 'busybox', 'true']);
  assert.notEqual(r.code, 0, 'the client is told the create failed');
  assert.ok(dropped >= 1, 'the forwarder dropped a create answer');
  // The manager sweeps right away, and once more 10 s later for a slow engine.
  let left: string[] = [];
  for (let i = 0; i < 40; i++) {
    left = await labelled();
    if (left.length === 0) break;
    await new Promise((res) => setTimeout(res, 500));
  }
  assert.deepEqual(left, [], 'the container made by the lost create was removed');
  assert.match(manager.logs(), /left by a failed create/);
});
