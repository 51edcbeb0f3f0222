/**
 * docker-compose 1.29 with images from a loopback registry, through the manager: `up -d` of a
 * service whose image no node holds (compose pulls it through the manager's per-node pull, then
 * creates), `pull` again, and `down`. Compose reads the pull's progress stream itself (docker-py),
 * so this checks that the per-node progress lines are a stream it accepts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeCli, dockerCli, startRegistry, type TestRegistry } from '../cluster/index.ts';
import { startTestManager, uniqueName, type TestManager } from './api-manager.ts';

let m: TestManager;
let reg: TestRegistry;
let dir: string;
let ref: string;
const project = uniqueName('rc').replace(/-/g, '');
const compose = (...args: string[]) => composeCli(m.host, ['--no-ansi', '-p', project, ...args], { cwd: dir, timeout: 180_000 });

/** Node names holding `ref`, as the manager sees them. */
async function holders(): Promise<string[]> {
  const out: string[] = [];
  for (const e of m.engines) {
    const r = await dockerCli(m.host, ['images', '-q', '--filter', `node=${e.name}`, '--filter', `reference=${ref}`]);
    if (r.stdout.trim() !== '') out.push(e.name);
  }
  return out;
}

before(async () => {
  [m, reg] = await Promise.all([startTestManager(), startRegistry()]);
  dir = mkdtempSync(join(tmpdir(), 'regcompose-'));
  ref = `${reg.addr}/${uniqueName('svc')}:1`;
  // Pushed from one engine straight, then removed there: no node holds it when compose starts.
  const e = m.engines[0];
  for (const args of [['tag', 'busybox:latest', ref], ['push', ref], ['rmi', ref]]) {
    const r = await dockerCli(e.host, args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  writeFileSync(join(dir, 'docker-compose.yml'), [
    'version: "2.4"',
    'services:',
    '  app:',
    `    image: ${ref}`,
    "    command: sh -c 'echo app-started; sleep 3600'",
    '    network_mode: bridge',
    '',
  ].join('\n'));
});

after(async () => {
  await compose('down', '-t', '1');
  await dockerCli(m.host, ['rmi', '-f', ref]);
  rmSync(dir, { recursive: true, force: true });
  await Promise.all([reg?.stop(), m?.stop()]);
});

test('compose up -d pulls a registry image through the manager, then runs the service', async () => {
  assert.deepEqual(await holders(), []);
  const up = await compose('up', '-d');
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stderr, /Pulling app/);
  const ps = await dockerCli(m.host, ['ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Image}} {{.Status}}']);
  assert.match(ps.stdout.trim(), new RegExp(`^${ref.replace(/[.]/g, '\\.')} Up`));
  assert.deepEqual((await holders()).sort(), m.engines.map((e) => e.name).sort(), 'pulled on every node');
  const logs = await compose('logs', 'app');
  assert.match(logs.stdout, /app-started/);
});

test('compose pull refreshes the image on every node; down removes the service', async () => {
  const pull = await compose('pull');
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(pull.stderr, /Pulling app/);
  const down = await compose('down', '-t', '1');
  assert.equal(down.code, 0, down.stderr);
  const left = await dockerCli(m.host, ['ps', '-a', '-q', '--filter', `label=com.docker.compose.project=${project}`]);
  assert.equal(left.stdout.trim(), '');
});
