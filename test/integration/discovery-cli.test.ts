// The discovery backends through the `swarm` command line (list, join, create) and the token
// service run as its own process: the texts a user sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../cluster/index.ts';
import { leftovers, portIsFree, runDir, startProc, terminate, waitFor } from '../cluster/proc.ts';

const MAIN = join(REPO_ROOT, 'core/cli/main.ts');

function swarm(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  delete childEnv.SWARM_DISCOVERY;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT, env: childEnv, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

async function freePortFrom(from: number): Promise<number> {
  for (let p = from; p < from + 100; p++) if (await portIsFree('127.0.0.1', p)) return p;
  throw new Error(`no free port from ${from}`);
}

test('swarm list nodes:// expands ranges; a bare token without token:// gets the legacy hint', { timeout: 60_000 }, async () => {
  const ok = await swarm(['list', 'nodes://127.0.0.1:[2375:2377]']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, '127.0.0.1:2375\n127.0.0.1:2376\n127.0.0.1:2377\n');
  const bad = await swarm(['list', '0123456789abcdef0123456789abcdef']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout + bad.stderr, /address 0123456789abcdef0123456789abcdef: missing port in address, please check you are using the correct discovery \(missing token:\/\/ \?\)/);
});

test('swarm list against an unreachable etcd fails with a one-line error, not a timeout', { timeout: 60_000 }, async () => {
  const r = await swarm(['list', '--timeout', '20s', 'etcd://127.0.0.1:42994/x']);
  assert.notEqual(r.code, 0);
  const text = (r.stdout + r.stderr).trim();
  assert.match(text, /etcd 127\.0\.0\.1:42994: .*ECONNREFUSED/);
  assert.doesNotMatch(text, /Timed out/);
});

test('swarm list token:// with an empty token says so', { timeout: 60_000 }, async () => {
  const r = await swarm(['list', 'token://']);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout + r.stderr, /token is empty/);
});

test('swarm join on file:// keeps logging that registration is not implemented', { timeout: 60_000 }, async () => {
  const dir = runDir('discovery-cli');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const p = startProc(process.execPath, ['--import', 'tsx', MAIN, 'join', '--advertise', '127.0.0.1:2375', '--heartbeat', '1s', '--ttl', '3s', 'file:///nonexistent'],
    join(dir, `join-file-${Date.now()}.log`), { cwd: REPO_ROOT, env });
  leftovers.pids.add(p.pid);
  try {
    await waitFor('two "not implemented" lines', () => (p.logs().match(/not implemented in this discovery service/g) ?? []).length >= 2, { timeoutMs: 30_000 });
    assert.equal(p.exitCode(), undefined, 'join must keep running');
  } finally {
    await terminate(p, 10_000);
    leftovers.pids.delete(p.pid);
  }
});

test('the token service runs on its own; swarm create and swarm list use it (SWARM_DISCOVERY_URL)', { timeout: 90_000 }, async () => {
  const port = await freePortFrom(42400);
  const base = `http://127.0.0.1:${port}/v1`;
  const dir = runDir('discovery-cli');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const srv = startProc(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'plugins/discovery-token/server.ts'), '--listen', `127.0.0.1:${port}`],
    join(dir, `token-${port}.log`), { cwd: REPO_ROOT, env });
  leftovers.pids.add(srv.pid);
  try {
    await waitFor('token service', () => /listening on http:\/\/127\.0\.0\.1:\d+\/v1/.test(srv.logs()), { timeoutMs: 30_000 });
    const created = await swarm(['create'], { SWARM_DISCOVERY_URL: base });
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^[0-9a-f]{32}$/);
    const res = await fetch(`${base}/clusters/${token}?ttl=30`, { method: 'POST', body: '10.0.5.1:2375' });
    assert.equal(res.status, 200);
    const listed = await swarm(['list', `token://${token}`], { SWARM_DISCOVERY_URL: base });
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout, '10.0.5.1:2375\n');
    const unknown = await swarm(['list', `token://${'f'.repeat(32)}`], { SWARM_DISCOVERY_URL: base });
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stdout + unknown.stderr, /Failed to fetch entries, Discovery service returned 404 HTTP status code/);
  } finally {
    await terminate(srv, 10_000);
    leftovers.pids.delete(srv.pid);
  }
});
