/**
 * Malformed input to a real `swarm manage` over real engines, table-driven: every answer is a
 * Docker-style `{"message"}` (that key only) with the status a Docker client expects, compared with
 * what the engine itself answers where the manager passes the engine's verdict on; nothing is
 * created by a refused request, and the manager process is alive and serving afterwards.
 *
 * Each row below failed before the fix named in its comment (see the commit history); the rows at
 * the end pin behaviour that already held.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { request as httpRequest } from 'node:http';
import { dockerCli, startEngines, startManager, type ManagerProcess, type TestEngine } from '../cluster/index.ts';

let engines: TestEngine[] = [];
let stopEngines: () => Promise<void> = async () => {};
let manager: ManagerProcess;
let addr: { host: string; port: number };
const TAG = `badin${process.pid}`;
const container = `${TAG}-c`; // running, on engines[0]
const network = `${TAG}-net`; // bridge network on engines[0]
const volume = `${TAG}-vol`; // on every node, in use on every node
const cleanup: string[][] = [];

interface Answer { status: number; body: string; contentType: string }

function send(to: { host: string; port: number }, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string | number> = { ...headers };
    if (body !== undefined) h['content-length'] = Buffer.byteLength(body);
    const req = httpRequest({ ...to, method, path, headers: h, timeout: 30_000 });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? '') }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}

const engineAddr = (e: TestEngine) => ({ host: e.ip, port: e.port });
const JSON_CT = { 'content-type': 'application/json' };

/** A Docker-style error: status, JSON content type, `{"message"}` only, no stack. */
function assertError(a: Answer, status: number, message: string | RegExp, what: string): string {
  assert.equal(a.status, status, `${what}: ${a.body}`);
  assert.match(a.contentType, /^application\/json/, what);
  const parsed = JSON.parse(a.body) as Record<string, unknown>;
  assert.deepEqual(Object.keys(parsed), ['message'], `${what}: ${a.body}`);
  const text = String(parsed.message);
  if (typeof message === 'string') assert.equal(text, message, what);
  else assert.match(text, message, what);
  assert.doesNotMatch(a.body, /\n\s+at |node_modules|\.ts:\d+/, `${what}: no stack`);
  return text;
}

async function ok(...args: string[]): Promise<string> {
  const r = await dockerCli(manager.host, args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

before(async () => {
  const group = await startEngines({ count: 2 });
  engines = group.engines;
  stopEngines = group.stop; // shared engines: does nothing
  manager = await startManager(['--engine-refresh-min-interval', '2s', '--engine-refresh-max-interval', '2s',
    `nodes://${engines.map((e) => e.addr).join(',')}`]);
  const url = new URL(manager.host.replace(/^tcp:/, 'http:'));
  addr = { host: url.hostname, port: Number(url.port) };
  for (let i = 0; i < 120; i++) {
    const info = await dockerCli(manager.host, ['info']);
    if ((info.stdout.match(/Status: Healthy/g) ?? []).length === engines.length) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await ok('network', 'create', '-d', 'bridge', `${engines[0].name}/${network}`);
  cleanup.push(['network', 'rm', `${engines[0].name}/${network}`]);
  await ok('volume', 'create', volume); // on every node
  cleanup.push(['volume', 'rm', volume]);
  await ok('run', '-d', '--name', container, '-e', `constraint:node==${engines[0].name}`, '-v', `${volume}:/v`, 'busybox', 'sleep', '600');
  cleanup.unshift(['rm', '-f', container]);
  for (const [i, e] of engines.slice(1).entries()) {
    const other = `${container}${i + 2}`;
    await ok('run', '-d', '--name', other, '-e', `constraint:node==${e.name}`, '-v', `${volume}:/v`, 'busybox', 'sleep', '600');
    cleanup.unshift(['rm', '-f', other]);
  }
});

after(async () => {
  if (manager) for (const c of cleanup) await dockerCli(manager.host, c);
  await manager?.stop();
  await stopEngines();
});

interface Row {
  what: string;
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
  status: number;
  message: string | RegExp;
  /** Also send it to the container's engine (ids rewritten) and expect the same status and message. */
  sameAsEngine?: boolean;
}

const rows = (): Row[] => [
  // fastify's own errors (a bad %-escape) came as {"error","code","message","statusCode"}.
  { what: 'bad escape in a container path', method: 'GET', path: '/containers/%zz/json', status: 400, message: "'/containers/%zz/json' is not a valid url component" },
  { what: 'bad escape under a version prefix', method: 'GET', path: '/v1.41/volumes/%', status: 400, message: "'/volumes/%' is not a valid url component" },
  // filters that are JSON but not an object were ignored (200 with everything).
  { what: 'ps filters=[]', method: 'GET', path: '/containers/json?filters=%5B%5D', status: 400, message: 'invalid filter: []' },
  { what: 'ps filters=5', method: 'GET', path: '/v1.41/containers/json?all=1&filters=5', status: 400, message: 'invalid filter: 5' },
  { what: 'images filters="x"', method: 'GET', path: '/images/json?filters=%22x%22', status: 400, message: 'invalid filter: "x"' },
  { what: 'networks filters=[1]', method: 'GET', path: '/networks?filters=%5B1%5D', status: 400, message: 'invalid filter: [1]' },
  { what: 'volumes filters=true', method: 'GET', path: '/volumes?filters=true', status: 400, message: 'invalid filter: true' },
  // volume create bodies were not checked: `{"Name":5}` and an empty body made a randomly named volume on every node.
  { what: 'volume create, empty body', method: 'POST', path: '/volumes/create', body: '', headers: JSON_CT, status: 400, message: 'invalid JSON: got EOF while reading request body' },
  { what: 'volume create, Name 5', method: 'POST', path: '/volumes/create', body: '{"Name":5}', headers: JSON_CT, status: 400, message: 'invalid JSON: json: cannot unmarshal number 5 into Go struct field VolumeCreateBody.Name of type string' },
  { what: 'volume create, Labels 5', method: 'POST', path: '/v1.41/volumes/create', body: `{"Name":"${TAG}-x","Labels":5}`, headers: JSON_CT, status: 400, message: 'invalid JSON: json: cannot unmarshal number 5 into Go struct field VolumeCreateBody.Labels of type map[string]string' },
  { what: 'volume create, DriverOpts {"a":1}', method: 'POST', path: '/volumes/create', body: `{"Name":"${TAG}-y","DriverOpts":{"a":1}}`, headers: JSON_CT, status: 400, message: 'invalid JSON: json: cannot unmarshal number 1 into Go struct field VolumeCreateBody.DriverOpts of type string' },
  { what: 'volume create, array body', method: 'POST', path: '/volumes/create', body: '[]', headers: JSON_CT, status: 400, message: 'invalid JSON: json: cannot unmarshal array into Go value of type volume.VolumeCreateBody' },
  // network connect: the engine's 400 came back as a 404 (the original proxied the engine's answer).
  { what: 'connect with EndpointConfig 5', method: 'POST', path: `/networks/${network}/connect`, body: `{"Container":"${container}","EndpointConfig":5}`, headers: JSON_CT, status: 400, message: /cannot unmarshal number into Go struct field NetworkConnect.EndpointConfig/, sameAsEngine: true },
  { what: 'connect with an IP on a network without subnets', method: 'POST', path: `/v1.41/networks/${network}/connect`, body: `{"Container":"${container}","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.99.0.9"}}}`, headers: JSON_CT, status: 400, message: 'user specified IP address is supported only when connecting to networks with user configured subnets', sameAsEngine: true },
  // create of an invalid image reference was a 404 "No such image" (sending clients to pull it).
  { what: 'create, upper-case image', method: 'POST', path: `/containers/create?name=${TAG}-u`, body: '{"Image":"UPPER","Cmd":["true"]}', headers: JSON_CT, status: 400, message: 'invalid reference format: repository name must be lowercase', sameAsEngine: true },
  { what: 'create, image with a space', method: 'POST', path: `/containers/create?name=${TAG}-s`, body: '{"Image":"busy box","Cmd":["true"]}', headers: JSON_CT, status: 400, message: 'invalid reference format', sameAsEngine: true },
  { what: 'create, image a..b', method: 'POST', path: '/containers/create', body: '{"Image":"a..b:1"}', headers: JSON_CT, status: 400, message: 'invalid reference format', sameAsEngine: true },
  // volume rm of a volume in use on every node: each engine's 409 was reported as a 500.
  { what: 'volume rm, in use on every node', method: 'DELETE', path: `/volumes/${volume}`, status: 409, message: /volume is in use/ },

  // Already right before this audit: kept as a regression table.
  { what: 'unknown container', method: 'GET', path: `/containers/${TAG}-nope/json`, status: 404, message: `No such container: ${TAG}-nope` },
  { what: 'traversal-looking container id', method: 'POST', path: '/containers/..%2F..%2Fetc/stop', status: 404, message: 'No such container: ../../etc' },
  { what: 'unknown image', method: 'GET', path: `/images/${TAG}-nope/json`, status: 404, message: `No such image: ${TAG}-nope` },
  { what: 'unknown network', method: 'GET', path: `/networks/${TAG}-nope`, status: 404, message: `No such network: ${TAG}-nope` },
  { what: 'unknown volume', method: 'GET', path: `/volumes/${TAG}-nope`, status: 404, message: `No such volume: ${TAG}-nope` },
  { what: 'ps filters=notjson', method: 'GET', path: '/containers/json?filters=notjson', status: 400, message: 'invalid filter: notjson' },
  { what: 'ps limit=abc', method: 'GET', path: '/containers/json?limit=abc', status: 400, message: 'invalid value for limit: abc' },
  { what: 'create, invalid JSON', method: 'POST', path: '/containers/create', body: '{"Image": ', headers: JSON_CT, status: 400, message: /^invalid JSON/ },
  { what: 'create, HostConfig 5', method: 'POST', path: '/containers/create', body: '{"Image":"busybox","HostConfig":5}', headers: JSON_CT, status: 400, message: /cannot unmarshal number 5 into Go struct field Config.HostConfig/ },
  { what: 'create, Env not an array', method: 'POST', path: '/containers/create', body: '{"Image":"busybox","Env":"A=1"}', headers: JSON_CT, status: 400, message: /Config.Env of type \[\]string/ },
  { what: 'create, negative memory', method: 'POST', path: '/containers/create', body: '{"Image":"busybox","HostConfig":{"Memory":-1}}', headers: JSON_CT, status: 400, message: 'invalid HostConfig.Memory: -1 (must not be negative)' },
  { what: 'create, huge memory', method: 'POST', path: '/containers/create', body: '{"Image":"busybox","HostConfig":{"Memory":1e300}}', headers: JSON_CT, status: 400, message: /Config.HostConfig.Memory of type int64/ },
  { what: 'create, text/plain', method: 'POST', path: '/containers/create', body: '{"Image":"busybox"}', headers: { 'content-type': 'text/plain' }, status: 400, message: "Content-Type specified (text/plain) must be 'application/json'" },
  { what: 'create, odd name', method: 'POST', path: '/containers/create?name=a%20b', body: '{"Image":"busybox"}', headers: JSON_CT, status: 400, message: /^Invalid container name \(a b\)/ },
  { what: 'create, name taken', method: 'POST', path: `/containers/create?name=${container}`, body: '{"Image":"busybox"}', headers: JSON_CT, status: 409, message: /^Conflict: The name/ },
  { what: 'version /v0.1', method: 'GET', path: '/v0.1/version', status: 400, message: 'client version 0.1 is too old. Minimum supported API version is 1.12, please upgrade your client to a newer version' },
  { what: 'version /v9.99', method: 'GET', path: '/v9.99/info', status: 400, message: /^client version 9.99 is too new/ },
  { what: 'swarm-mode route', method: 'GET', path: '/services', status: 404, message: '404 page not found' },
];

test('bad input: each row gets its Docker-style error; nothing is created; the manager lives on', async () => {
  const volumesBefore = await ok('volume', 'ls', '-q');
  const containersBefore = await ok('ps', '-aq', '--no-trunc');
  const owner = engines[0];
  const engineId = await ok('inspect', '--format', '{{.Id}}', container);
  const netId = await ok('network', 'inspect', '--format', '{{.Id}}', `${owner.name}/${network}`);
  const problems: string[] = []; // every row is tried; the list of those that failed is the verdict
  for (const row of rows()) {
    const what = `${row.what} (${row.method} ${row.path})`;
    try {
      const got = await send(addr, row.method, row.path, row.body, row.headers);
      const text = assertError(got, row.status, row.message, what);
      if (row.sameAsEngine) {
        // The engine's own answer to the same request (names → the engine's IDs).
        const path = row.path.replace(network, netId);
        const body = row.body?.replace(`"${container}"`, `"${engineId}"`);
        const direct = await send(engineAddr(owner), row.method, path, body, row.headers);
        assert.equal(got.status, direct.status, `${what}: engine said ${direct.status} ${direct.body}`);
        assert.equal(text, (JSON.parse(direct.body) as { message: string }).message, what);
      }
    } catch (err) {
      problems.push((err as Error).message.split('\n')[0]!.slice(0, 300));
    }
  }
  assert.deepEqual(problems, [], `${problems.length} rows failed`);
  assert.ok(manager.running(), `the manager died:\n${manager.logs().slice(-2000)}`);
  assert.equal(await ok('volume', 'ls', '-q'), volumesBefore, 'a refused volume create made a volume');
  assert.equal(await ok('ps', '-aq', '--no-trunc'), containersBefore, 'a refused create made a container');
  // The in-use volume is still on every node.
  const vols = (await ok('volume', 'ls', '--format', '{{.Name}}')).split('\n');
  for (const e of engines) assert.ok(vols.includes(`${e.name}/${volume}`), vols.join(' '));
});

/** A raw HTTP/1.1 upgrade request; resolves with everything the server wrote before closing. */
function rawUpgrade(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(addr.port, addr.host, () => {
      s.write(`POST ${path} HTTP/1.1\r\nHost: swarm\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`);
    });
    let out = '';
    s.setTimeout(15_000, () => s.destroy(new Error(`no answer to upgrade ${path}`)));
    s.on('data', (d) => { out += d.toString('utf8'); });
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

test('hijacked routes (attach, exec start) with a bad %-escape: 400, not 500', async () => {
  for (const path of ['/containers/%zz/attach?stream=1&stdout=1', '/v1.41/exec/%zz/start']) {
    const out = await rawUpgrade(path);
    const [head, body] = out.split('\r\n\r\n');
    assert.match(head ?? '', /^HTTP\/1\.1 400 /, `${path}: ${out}`);
    assert.deepEqual(JSON.parse(body ?? ''), { message: `'${path.split('?')[0]!.replace(/^\/v1\.41/, '')}' is not a valid url component` });
  }
  // An unknown container on the same route is still the 404.
  const out = await rawUpgrade(`/containers/${TAG}-nope/attach?stream=1`);
  assert.match(out, /^HTTP\/1\.1 404 /);
  assert.match(out, new RegExp(`"No such container: ${TAG}-nope"`));
  assert.ok(manager.running());
  assert.equal(await ok('exec', container, 'echo', 'alive'), 'alive');
});

test('events with an until far in the future (2100) stay open and deliver events', async () => {
  // A delay past 2^31-1 ms made Node's timer fire at once: the stream ended before any event.
  const until = Math.floor(Date.UTC(2100, 0, 1) / 1000);
  const name = `${TAG}-ev`;
  const got = await new Promise<string>((resolve, reject) => {
    const req = httpRequest({ ...addr, method: 'GET', path: `/events?until=${until}`, timeout: 60_000 });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        if (text.includes(name)) { req.destroy(); resolve('event seen'); }
      });
      res.on('end', () => resolve(`the stream ended first: ${JSON.stringify(text.slice(0, 200))}`));
      // Something to see: a volume create on every node (each engine sends a volume event).
      void ok('volume', 'create', name).then(() => cleanup.push(['volume', 'rm', name]), reject);
    });
    req.on('timeout', () => req.destroy(new Error('no event within 60 s')));
    req.on('error', reject);
    req.end();
  });
  assert.equal(got, 'event seen');
});

test('clients hanging up mid-body: no error-level log line per hang-up, the manager still serves', async () => {
  // Each hang-up was logged at level error with a stack ("request failed … aborted").
  for (const path of ['/containers/create', '/volumes/create', '/networks/create', '/auth', `/containers/${container}/exec`]) {
    await new Promise<void>((resolve) => {
      const s = net.connect(addr.port, addr.host, () => {
        s.write(`POST ${path} HTTP/1.1\r\nHost: swarm\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"Image":"bu`);
        // Give the manager the partial body, then hang up.
        setTimeout(() => { s.destroy(); resolve(); }, 200);
      });
      s.on('error', () => resolve());
    });
  }
  assert.equal(await ok('inspect', '--format', '{{.Name}}', container), `/${container}`);
  const errors = manager.logs().split('\n').filter((l) => l.includes('"level":50') && l.includes('aborted'));
  assert.deepEqual(errors, []);
});
