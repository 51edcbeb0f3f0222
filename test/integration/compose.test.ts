/**
 * docker-compose 1.29 against the manager: up -d, ps, scale, logs, down on a small project of
 * busybox services. `network_mode: bridge` because compose's default project network would be
 * created with the legacy default driver (overlay), which engines without a cluster store refuse,
 * as with the original.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerCli } from '../cluster/index.ts';
import { startTestManager, uniqueName, type TestManager } from './api-manager.ts';

let m: TestManager;
let dir: string;
const project = uniqueName('cp').replace(/-/g, '');

function compose(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DOCKER_') && !k.startsWith('COMPOSE_')) env[k] = v;
  Object.assign(env, { DOCKER_HOST: m.host, COMPOSE_INTERACTIVE_NO_CLI: '1' });
  return new Promise((resolve) => {
    const child = spawn('docker-compose', ['--no-ansi', '-p', project, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
  });
}

const psNames = async () => (await dockerCli(m.host, ['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Names}} {{.Status}}']))
  .stdout.trim().split('\n').filter(Boolean).sort();

before(async () => {
  m = await startTestManager();
  dir = mkdtempSync(join(tmpdir(), 'compose-'));
  writeFileSync(join(dir, 'docker-compose.yml'), [
    'version: "2.4"',
    'services:',
    '  web:',
    '    image: busybox:latest',
    "    command: sh -c 'echo web-started; while true; do sleep 1; done'",
    '    network_mode: bridge',
    '  worker:',
    '    image: busybox:latest',
    "    command: sh -c 'echo worker-started; sleep 3600'",
    '    network_mode: bridge',
    '',
  ].join('\n'));
});
after(async () => {
  await compose('down', '-t', '1');
  rmSync(dir, { recursive: true, force: true });
  await m?.stop();
});

test('up -d starts every service, ps lists them', async () => {
  const up = await compose('up', '-d');
  assert.equal(up.code, 0, up.stderr);
  const ps = await compose('ps');
  assert.equal(ps.code, 0, ps.stderr);
  assert.match(ps.stdout, new RegExp(`${project}_web_1 .* Up`));
  assert.match(ps.stdout, new RegExp(`${project}_worker_1 .* Up`));
  const names = await psNames();
  assert.equal(names.length, 2);
  for (const n of names) assert.match(n, new RegExp(`^node-\\d+/${project}_(web|worker)_1 Up `));
});

test('scale adds replicas and logs gathers their output', async () => {
  const up = await compose('up', '-d', '--scale', 'web=3');
  assert.equal(up.code, 0, up.stderr);
  const names = await psNames();
  const web = names.filter((n) => n.includes('_web_'));
  assert.equal(web.length, 3, names.join('\n'));
  for (const n of web) assert.match(n, /^node-\d+\/\S+_web_\d Up /);
  let out = '';
  for (let i = 0; i < 50; i++) {
    out = (await compose('logs', '--no-color', 'web')).stdout;
    if ((out.match(/web-started/g) ?? []).length === 3) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal((out.match(/web-started/g) ?? []).length, 3, out);
  for (const i of [1, 2, 3]) assert.match(out, new RegExp(`web_${i}\\s+\\| web-started`));
});

test('exec -T and run --rm -T go through hijacked connections', async () => {
  const exec = await compose('exec', '-T', 'web', 'echo', 'exec-from-compose');
  assert.equal(exec.code, 0, exec.stderr);
  assert.equal(exec.stdout, 'exec-from-compose\n');
  const failing = await compose('exec', '-T', 'web', 'sh', '-c', 'exit 3');
  assert.equal(failing.code, 3);
  const run = await compose('run', '--rm', '-T', 'worker', 'echo', 'run-from-compose');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'run-from-compose\n', run.stderr);
});

test('down stops and removes everything', async () => {
  const down = await compose('down', '-t', '1');
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(await psNames(), []);
});
