// watchLoop, the outage-tolerant watch shared by the KV backends, with a scripted source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { watchLoop, type WatchSource } from './kv.ts';

function capture() {
  const lines: string[] = [];
  const logger = pino(new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c)).msg); cb(); } }));
  return { logger, lines };
}

/** A source that replays `steps`: a list, or an Error to throw; then ends the watch by aborting. */
function scripted(steps: (string[] | Error)[], ac: AbortController): WatchSource {
  let i = 0;
  return {
    async list() {
      const step = steps[i++];
      if (step === undefined) { ac.abort(); return []; }
      if (step instanceof Error) throw step;
      return step;
    },
    changed: async () => undefined,
  };
}

test('yields sorted, de-duplicated lists only when they change; outages keep the list and are logged once', async () => {
  const ac = new AbortController();
  const { logger, lines } = capture();
  const down = new Error('connect ECONNREFUSED 127.0.0.1:2379');
  const source = scripted([['b:1', 'a:1', 'a:1'], ['a:1', 'b:1'], down, down, down, ['a:1', 'b:1'], ['a:1', 'c:1', 'bad-entry']], ac);
  const seen: string[][] = [];
  for await (const l of watchLoop(source, ac.signal, { what: 'etcd h:1', heartbeat: 10, logger })) seen.push(l);
  assert.deepEqual(seen, [['a:1', 'b:1'], ['a:1', 'c:1']]);
  assert.deepEqual(lines.filter((l) => l.includes('unreachable')),
    ['discovery: etcd h:1 unreachable (connect ECONNREFUSED 127.0.0.1:2379); keeping the last list of 2 entries, retrying']);
  assert.equal(lines.filter((l) => l.includes('reachable again')).length, 1);
  assert.deepEqual(lines.filter((l) => l.includes('invalid entry')),
    ['discovery: etcd h:1: ignoring invalid entry: address bad-entry: missing port in address']);
});

test('failFast: the first failure ends the watch with a one-line error naming the store', async () => {
  const ac = new AbortController();
  const { logger } = capture();
  const source = scripted([new Error('14 UNAVAILABLE: No connection established\nmore detail')], ac);
  await assert.rejects(async () => { for await (const _ of watchLoop(source, ac.signal, { what: 'etcd h:1', heartbeat: 10, logger, failFast: true })) break; },
    { code: 'SWARM_ERR_DISCOVERY', message: 'etcd h:1: 14 UNAVAILABLE: No connection established' });
});
