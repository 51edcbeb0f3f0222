import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createCore } from '../../core/core.ts';
import token, {
  DEFAULT_TOKEN_URL, ERR_FETCH_STATUS, createCluster, deleteCluster, parseTokenUrl, resolveBaseUrl,
} from './index.ts';
import { startTokenServer } from './server.ts';

const HB = 100;

async function firstList(backend: { watch(s: AbortSignal): AsyncIterable<string[]> }, failFast = false): Promise<string[]> {
  const ac = new AbortController();
  try {
    for await (const list of backend.watch(ac.signal)) return list;
  } finally {
    ac.abort();
  }
  throw new Error(`watch ended (failFast=${failFast})`);
}

test('token URL forms: bare token uses the base URL, host/path/token keeps the base scheme', () => {
  assert.deepEqual(parseTokenUrl('abc', 'http://127.0.0.1:8383/v1/'), { base: 'http://127.0.0.1:8383/v1', token: 'abc' });
  assert.deepEqual(parseTokenUrl('h:1/v1/abc', 'https://x/v1'), { base: 'https://h:1/v1', token: 'abc' });
  assert.throws(() => parseTokenUrl('', DEFAULT_TOKEN_URL), { message: 'token is empty' });
  assert.throws(() => parseTokenUrl('h:1/v1/', DEFAULT_TOKEN_URL), { message: 'token is empty' });
});

test('base URL: option, then SWARM_DISCOVERY_URL, then the default; bad URLs fail in the factory', () => {
  assert.equal(resolveBaseUrl({ url: 'http://a:1/v1' }, { SWARM_DISCOVERY_URL: 'http://b:2/v1' }), 'http://a:1/v1');
  assert.equal(resolveBaseUrl({}, { SWARM_DISCOVERY_URL: 'http://b:2/v1/' }), 'http://b:2/v1');
  assert.equal(resolveBaseUrl({}, {}), DEFAULT_TOKEN_URL);
  assert.throws(() => token({ url: 'not a url' }), /plugin discovery-token: invalid url "not a url"/);
  assert.throws(() => token({ url: 'ftp://x/v1' }), /must be http/);
});

test('create, register with TTL, list, expiry, delete against the token service', async (t) => {
  let now = 1_000_000;
  const srv = await startTokenServer({ host: '127.0.0.60', port: 0, now: () => now });
  t.after(() => srv.close());
  const core = createCore({ plugins: [token({ url: srv.url })] });
  const id = await createCluster(srv.url);
  assert.match(id, /^[0-9a-f]{32}$/);
  const backend = await core.discovery(`token://${id}`, { heartbeat: HB, ttl: 30_000, opts: {} });
  assert.deepEqual(await firstList(backend), []);
  await backend.register('10.0.0.1:2375');
  now += 10_000;
  const other = await core.discovery(`token://${id}`, { heartbeat: HB, ttl: 60_000, opts: {} });
  await other.register('10.0.0.2:2375');
  assert.deepEqual((await firstList(backend)).sort(), ['10.0.0.1:2375', '10.0.0.2:2375']);
  now += 25_000; // 35 s after the first registration (ttl 30 s), 25 s after the second (ttl 60 s)
  assert.deepEqual(await firstList(backend), ['10.0.0.2:2375']);
  await backend.register('10.0.0.1:2375'); // re-registration brings it back, once
  await backend.register('10.0.0.1:2375');
  assert.deepEqual((await firstList(backend)).sort(), ['10.0.0.1:2375', '10.0.0.2:2375']);
  // The host/path/token form reaches the same service.
  const hostForm = await core.discovery(`token://${new URL(srv.url).host}/v1/${id}`, { heartbeat: HB, ttl: 1000, opts: {} });
  assert.equal((await firstList(hostForm)).length, 2);
  await deleteCluster({ base: srv.url, token: id });
  const gone = await core.discovery(`token://${id}`, { heartbeat: HB, ttl: 1000, opts: {}, failFast: true });
  await assert.rejects(firstList(gone, true), { message: ERR_FETCH_STATUS(404) });
});

test('the watch keeps its list while the service fails, logs once, and catches up', async (t) => {
  let status = 200;
  let body = '["a:1"]';
  const fake = createServer((_req, res) => { res.statusCode = status; res.end(body); });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.60', r));
  t.after(() => new Promise<void>((r) => fake.close(() => r())));
  const port = (fake.address() as { port: number }).port;
  const lines: string[] = [];
  const { pino } = await import('pino');
  const { Writable } = await import('node:stream');
  const logger = pino(new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c)).msg); cb(); } }));
  const core = createCore({ plugins: [token({ url: `http://127.0.0.60:${port}/v1` })], logger });
  const backend = await core.discovery('token://t1', { heartbeat: 50, ttl: 1000, opts: {} });
  const ac = new AbortController();
  const it = backend.watch(ac.signal)[Symbol.asyncIterator]();
  assert.deepEqual((await it.next()).value, ['a:1']);
  status = 500;
  const next = it.next();
  while (lines.length === 0) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300)); // several failed polls
  status = 200;
  body = '["a:1","b:2"]';
  assert.deepEqual((await next).value, ['a:1', 'b:2']);
  ac.abort();
  await it.return?.();
  assert.deepEqual(lines.filter((l) => l.startsWith('Failed')), [ERR_FETCH_STATUS(500)]);
});

test('unreachable service: register rejects with a one-line error', async () => {
  const core = createCore({ plugins: [token({ url: 'http://127.0.0.61:42001/v1' })] });
  const backend = await core.discovery('token://abc', { heartbeat: 1000, ttl: 3000, opts: {} });
  await assert.rejects(backend.register('a:1'), (err: Error) =>
    /^discovery service 127\.0\.0\.61:42001 unreachable: .*ECONNREFUSED/.test(err.message) && !err.message.includes('\n'));
});

test('the service rejects bad registrations', async (t) => {
  const srv = await startTokenServer({ host: '127.0.0.60', port: 0 });
  t.after(() => srv.close());
  const bad = await fetch(`${srv.url}/clusters/abc?ttl=10`, { method: 'POST', body: 'no-port' });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /missing port in address/);
  const badTtl = await fetch(`${srv.url}/clusters/abc?ttl=-1`, { method: 'POST', body: 'a:1' });
  assert.equal(badTtl.status, 400);
  assert.equal((await fetch(`${srv.url}/clusters/none`)).status, 404);
});

test('a token service on a port fetch() refuses (6000, a WHATWG "bad port") works; bad URLs name themselves', async (t) => {
  // The client used fetch, which fails such ports with a bare "bad port"; Go's client (the original) did not.
  const srv = await startTokenServer({ host: '127.0.0.93', port: 6000 });
  t.after(() => srv.close());
  const id = await createCluster('http://127.0.0.93:6000/v1');
  assert.match(id, /^[0-9a-f]{32}$/);
  await assert.rejects(createCluster('notaurl'), { message: 'invalid discovery service URL "notaurl/clusters"' });
  await assert.rejects(createCluster('ftp://x/v1'), { message: 'discovery service URL must be http:// or https://, got "ftp://x/v1/clusters"' });
});
