import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createCore } from '../../core/core.ts';
import file, { ERR_READ } from './index.ts';

function capture() {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({
    write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk)).msg); cb(); },
  }));
  return { logger, lines };
}

test('reads the file, then picks up edits at once through fs.watch (heartbeat 1h)', { timeout: 20_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'cluster');
  writeFileSync(path, '# engines\n10.0.0.1:2375\n\n10.0.0.[2:3]:2375 # more\n');
  const core = createCore({ plugins: [file()] });
  const backend = await core.discovery(`file://${path}`, { heartbeat: 3_600_000, ttl: 1, opts: {} });
  const ac = new AbortController();
  const seen: string[][] = [];
  for await (const list of backend.watch(ac.signal)) {
    seen.push(list);
    if (seen.length === 1) writeFileSync(path, '10.0.0.1:2375\n10.0.0.9:2375\n');
    if (seen.length === 2) {
      // An editor replacing the file (write temp + rename) is seen too.
      writeFileSync(join(dir, 'tmp'), '10.0.0.7:2375\n');
      renameSync(join(dir, 'tmp'), path);
    }
    if (seen.length === 3) ac.abort();
  }
  assert.deepEqual(seen, [
    ['10.0.0.1:2375', '10.0.0.2:2375', '10.0.0.3:2375'],
    ['10.0.0.1:2375', '10.0.0.9:2375'],
    ['10.0.0.7:2375'],
  ]);
});

test('a missing file is logged once with the legacy text, the watch goes on and sees it appear', { timeout: 20_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'later');
  const { logger, lines } = capture();
  const core = createCore({ plugins: [file()], logger });
  const backend = await core.discovery(`file://${path}`, { heartbeat: 200, ttl: 1, opts: {} });
  const ac = new AbortController();
  setTimeout(() => writeFileSync(path, 'a:1\n'), 1000);
  for await (const list of backend.watch(ac.signal)) {
    assert.deepEqual(list, ['a:1']);
    ac.abort();
  }
  const errors = lines.filter((l) => l.startsWith('failed to read'));
  assert.deepEqual(errors, [ERR_READ(path, `open ${path}: no such file or directory`)]);
});

test('failFast turns a read error into a rejection; register is not implemented', async () => {
  const core = createCore({ plugins: [file()] });
  const backend = await core.discovery('file:///nonexistent/swarm-cluster', { heartbeat: 1000, ttl: 1, opts: {}, failFast: true });
  await assert.rejects(async () => { for await (const _ of backend.watch(new AbortController().signal)) break; },
    /^SwarmError: failed to read '\/nonexistent\/swarm-cluster': open \/nonexistent\/swarm-cluster: no such file or directory$/);
  await assert.rejects(backend.register('a:1'), { message: 'not implemented in this discovery service' });
});

test('an invalid line is reported and the last good list is kept', { timeout: 20_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'c');
  writeFileSync(path, 'a:1\n');
  const { logger, lines } = capture();
  const core = createCore({ plugins: [file()], logger });
  const backend = await core.discovery(`file://${path}`, { heartbeat: 100, ttl: 1, opts: {} });
  const ac = new AbortController();
  const it = backend.watch(ac.signal)[Symbol.asyncIterator]();
  assert.deepEqual((await it.next()).value, ['a:1']);
  writeFileSync(path, 'a:1\nbroken\n');
  const next = it.next(); // the watch runs while we wait for its log line
  while (!lines.some((l) => l.includes('address broken: missing port'))) await new Promise((r) => setTimeout(r, 50));
  writeFileSync(path, 'b:2\n');
  assert.deepEqual((await next).value, ['b:2']);
  ac.abort();
  await it.return?.();
});
