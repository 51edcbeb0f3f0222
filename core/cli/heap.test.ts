import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
