/**
 * Image routes through docker CLI 28: images grouped across nodes with the `node` filter, tag on
 * every holder (201), rmi everywhere, inspect/history, save → load teed to every node, import,
 * classic build placed by a `constraint:` build arg, and pull errors per node for a reference the
 * engines reject locally. Pulls, pushes and logins against a real (loopback) registry are in
 * api-registry.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerCli } from '../cluster/index.ts';
import { apiCall, startTestManager, uniqueName, type TestManager } from './api-manager.ts';

let m: TestManager;
let dir: string;
const images: string[] = [];
const containers: string[] = [];
const docker = (...args: string[]) => dockerCli(m.host, args);

async function ok(...args: string[]): Promise<string> {
  const r = await docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** `repo:tag` rows of `docker images` for one node (or all). */
async function imageRows(filter: string[]): Promise<string[]> {
  return (await ok('images', ...filter, '--format', '{{.Repository}}:{{.Tag}} {{.ID}}')).trim().split('\n').filter(Boolean);
}

before(async () => {
  m = await startTestManager();
  dir = mkdtempSync(join(tmpdir(), 'apiimg-'));
});
after(async () => {
  if (containers.length) await docker('rm', '-f', ...containers);
  for (const i of images) await docker('rmi', '-f', i);
  rmSync(dir, { recursive: true, force: true });
  await m?.stop();
});

test('images are grouped by ID across nodes and filtered by node', async () => {
  const all = await imageRows(['--filter', 'reference=busybox:latest']);
  // Each shared engine imported busybox itself: one row per distinct image ID.
  const ids = new Set<string>();
  assert.ok(all.length >= 1 && all.length <= m.engines.length, all.join('\n'));
  for (const e of m.engines) {
    const rows = await imageRows(['--filter', `node=${e.name}`, '--filter', 'reference=busybox:latest']);
    assert.equal(rows.length, 1, `${e.name}: ${rows.join(', ')}`);
    ids.add(rows[0].split(' ')[1]);
  }
  assert.equal(ids.size, all.length, 'grouping by ID gives one row per distinct ID');
  const bad = await apiCall(m.host, 'GET', `/v1.41/images/json?filters=${encodeURIComponent('{"before":["no-such-image:x"]}')}`);
  assert.equal(bad.status, 400);
  assert.equal(bad.json().message, "Invalid filter: 'type'='before': no such image found: 'no-such-image:x'");
});

test('tag goes to every node holding the image (201); rmi removes it everywhere', async () => {
  const tag = `${uniqueName('tagged')}:1`;
  images.push(tag);
  const r = await apiCall(m.host, 'POST', `/v1.41/images/busybox:latest/tag?repo=${tag.split(':')[0]}&tag=1`);
  assert.equal(r.status, 201, r.text);
  for (const e of m.engines) {
    const rows = await imageRows(['--filter', `node=${e.name}`, '--filter', `reference=${tag}`]);
    assert.equal(rows.length, 1, `${e.name} has the tag`);
  }
  await ok('tag', 'busybox:latest', `${tag.split(':')[0]}:2`);
  images.push(`${tag.split(':')[0]}:2`);
  const inspect = JSON.parse(await ok('image', 'inspect', tag)) as { RepoTags: string[] }[];
  assert.ok(inspect[0].RepoTags.includes(tag));
  assert.match(await ok('history', tag), /Imported from -/);
  const out = await ok('rmi', tag, `${tag.split(':')[0]}:2`);
  assert.equal(out.split('\n').filter((l) => l === `Untagged: ${tag}`).length, m.engines.length);
  assert.deepEqual(await imageRows(['--filter', `reference=${tag}`]), []);
  const missing = await docker('rmi', tag);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /No such image/);
});

test('save, then load tees the archive to every node', async () => {
  const repo = uniqueName('loaded');
  const tag = `${repo}:1`;
  images.push(tag);
  await ok('tag', 'busybox:latest', tag);
  const file = join(dir, 'saved.tar');
  await ok('save', tag, '-o', file);
  assert.ok(statSync(file).size > 100_000);
  await ok('rmi', tag);
  assert.deepEqual(await imageRows(['--filter', `reference=${tag}`]), []);
  const out = await ok('load', '-i', file);
  for (const e of m.engines) assert.match(out, new RegExp(`${e.name}: Loaded image: ${tag}`));
  for (const e of m.engines) {
    assert.equal((await imageRows(['--filter', `node=${e.name}`, '--filter', `reference=${tag}`])).length, 1, e.name);
  }
  // all nodes now hold the same image: one row
  assert.equal((await imageRows(['--filter', `reference=${tag}`])).length, 1);
});

test('import sends the tarball to every node', async () => {
  const c = uniqueName('export');
  containers.push(c);
  await ok('create', '--name', c, 'busybox', 'true');
  const file = join(dir, 'exported.tar');
  await ok('export', c, '-o', file);
  const tag = `${uniqueName('imported')}:1`;
  images.push(tag);
  const out = await ok('import', file, tag);
  for (const e of m.engines) assert.match(out, new RegExp(`${e.name}: sha256:[0-9a-f]{64}`));
  for (const e of m.engines) {
    assert.equal((await imageRows(['--filter', `node=${e.name}`, '--filter', `reference=${tag}`])).length, 1, e.name);
  }
});

test('classic build runs on the node the constraint build arg names', async () => {
  const target = m.engines[m.engines.length - 1].name;
  const ctx = join(dir, 'ctx');
  mkdirSync(ctx, { recursive: true });
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox:latest\nARG X=default\nRUN echo built-$X > /b.txt\n');
  const tag = `${uniqueName('built')}:1`;
  images.push(tag);
  const r = await dockerCli(m.host, ['build', '-t', tag, '--build-arg', 'X=arg', '--build-arg', `constraint:node==${target}`, ctx],
    { env: { DOCKER_BUILDKIT: '0' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Building on ${target}\\n`));
  assert.match(r.stdout, new RegExp(`Successfully tagged ${tag}`));
  assert.deepEqual((await imageRows(['--filter', `reference=${tag}`])).length, 1);
  assert.equal((await imageRows(['--filter', `node=${target}`, '--filter', `reference=${tag}`])).length, 1);
  const c = uniqueName('built-run');
  containers.push(c);
  assert.equal(await ok('run', '--name', c, '-e', `constraint:node==${target}`, tag, 'cat', '/b.txt'), 'built-arg\n');
});

test('pull reports per node and fails when no node could pull', async () => {
  const r = await apiCall(m.host, 'POST', '/v1.41/images/create?fromImage=Bad..Name&tag=latest');
  assert.equal(r.status, 200);
  const lines = r.text.trim().split('\n').map((l) => JSON.parse(l) as { id?: string; status?: string; error?: string });
  for (const e of m.engines) {
    assert.ok(lines.some((l) => l.id === e.name && l.status === 'Pulling Bad..Name:latest...'), `start line for ${e.name}`);
    assert.ok(lines.some((l) => l.id === e.name && /invalid reference format/.test(l.status ?? '')), `error line for ${e.name}`);
  }
  const last = lines[lines.length - 1];
  assert.match(last.error ?? '', /invalid reference format/);
});
