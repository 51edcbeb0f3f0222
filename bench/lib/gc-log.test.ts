import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochNow, GcLog, slowOverlapShare } from './gc-log.ts';

test('slowOverlapShare counts slow requests that overlap a pause, and only those', () => {
  const requests = [
    { start: 0, ms: 1 }, // fast: ignored even though a pause overlaps it
    { start: 10, ms: 5 }, // slow, pause 12–13 inside
    { start: 20, ms: 5 }, // slow, pause 18–21 overlaps its start
    { start: 30, ms: 5 }, // slow, pause 35–36 starts when it ended: no overlap
    { start: 40, ms: 6 }, // slow, no pause near
  ];
  const pauses = [{ start: 35, ms: 1 }, { start: 0.5, ms: 1 }, { start: 12, ms: 1 }, { start: 18, ms: 3 }];
  assert.equal(slowOverlapShare(requests, pauses, 5), 2 / 4);
  assert.equal(slowOverlapShare(requests, pauses, 6), 0);
  assert.ok(Number.isNaN(slowOverlapShare(requests, pauses, 7)));
  assert.equal(slowOverlapShare(requests, [], 5), 0);
});

test('GcLog sees a forced collection on the epoch clock', async () => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const log = new GcLog();
  try {
    const from = epochNow();
    gc();
    const to = epochNow();
    await new Promise((r) => setImmediate(r)); // Node queues the entry from the collection's epilogue
    const seen = log.between(from, to + 1);
    assert.ok(seen.length >= 1, 'the forced collection is listed');
    for (const p of seen) {
      assert.ok(p.start >= from && p.start <= to, 'on the epoch clock, within the call');
      assert.ok(p.ms >= 0 && p.ms <= to - from + 1);
    }
    assert.equal(log.between(to + 1, to + 2).length, 0);
  } finally {
    log.stop();
  }
});
