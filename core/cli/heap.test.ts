import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HEAP_GROWING_PERCENT, userHeapFlag } from './heap.ts';

test('a heap growing percent given by the user (node flag or NODE_OPTIONS) is respected', () => {
  assert.equal(userHeapFlag([], ''), false);
  assert.equal(userHeapFlag(['--import', 'tsx'], '--max-old-space-size=4096'), false);
  assert.equal(userHeapFlag(['--heap-growing-percent=80'], ''), true);
  assert.equal(userHeapFlag([], '--enable-source-maps --heap_growing_percent=10'), true);
});

test('this V8 knows the flag (an unknown one would be ignored without an error)', () => {
  const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
  assert.match(options, /--heap-growing-percent/);
  assert.ok(HEAP_GROWING_PERCENT > 0 && HEAP_GROWING_PERCENT < 100);
});

// core/cli/bin.js run as a program (as the installed `swarm` command is): its shell lines exec node
// with a 32 MB semi-space unless NODE_OPTIONS sizes the heap itself. A probe module given through
// NODE_OPTIONS reports the node flags and PID the process ended up with, then exits.
const BIN = resolve(import.meta.dirname, 'bin.js');

function launch(nodeOptions: string, direct = true): { execArgv: string[]; pid: number; nodeOptions: string; childPid: number } {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-bin-'));
  try {
    const probe = join(dir, 'probe.mjs');
    writeFileSync(probe, "process.stderr.write(JSON.stringify({ execArgv: process.execArgv, pid: process.pid, nodeOptions: process.env.NODE_OPTIONS }) + '\\n'); process.exit(0);\n");
    const env = { PATH: process.env.PATH ?? '', NODE_OPTIONS: `${nodeOptions} --import ${probe}`.trim() };
    const r = direct
      ? spawnSync(BIN, ['--version'], { env, encoding: 'utf8' })
      : spawnSync(process.execPath, [BIN, '--version'], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return { ...(JSON.parse(r.stderr.trim().split('\n').pop()!) as { execArgv: string[]; pid: number; nodeOptions: string }), childPid: r.pid! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the swarm executable runs node with a 32 MB semi-space, in the same process', () => {
  const r = launch('');
  assert.deepEqual(r.execArgv, ['--max-semi-space-size=32']);
  assert.equal(r.pid, r.childPid, 'the launcher execs node: the spawned PID is the manager');
});

test('the swarm executable leaves the heap sizes to NODE_OPTIONS when it sets them', () => {
  for (const given of ['--max-semi-space-size=8', '--max_semi_space_size=8', '--max-old-space-size=2048 --max-semi-space-size=64']) {
    const r = launch(given);
    assert.deepEqual(r.execArgv, [], given);
    assert.ok(r.nodeOptions.startsWith(given), given);
  }
  // Other NODE_OPTIONS do not stop it.
  assert.deepEqual(launch('--max-old-space-size=2048 --enable-source-maps').execArgv, ['--max-semi-space-size=32']);
});

test('the swarm executable works through a symlink (npm links it as node_modules/.bin/swarm)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swarm-bin-'));
  try {
    symlinkSync(BIN, join(dir, 'swarm'));
    const r = spawnSync(join(dir, 'swarm'), ['--version'], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('node given explicitly (node core/cli/bin.js) runs the file with only the flags given to node', () => {
  assert.deepEqual(launch('', false).execArgv, []);
});

test('this V8 knows the semi-space flag the launcher passes', () => {
  const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
  assert.match(options, /--max-semi-space-size/);
});
