import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonical, createEntries, expandRange, MAX_RANGE, parseFileContent, splitHostPort } from './entries.ts';
import { parseKvUrl, kvPaths, readKvTls } from './kv.ts';

test('expandRange refuses a range of more than MAX_RANGE entries instead of expanding it', () => {
  assert.equal(expandRange('127.0.0.1:[1:65536]').length, MAX_RANGE);
  assert.throws(() => expandRange('127.0.0.1:[1:99999999]'), { message: 'range [1:99999999] in "127.0.0.1:[1:99999999]" has 99999999 entries, at most 65536' });
  assert.throws(() => parseFileContent('a:1\n10.0.[0:999999].1:2375\n'), /has 1000000 entries, at most 65536/);
});

test('expandRange expands one inclusive numeric range, also inside the port', () => {
  assert.deepEqual(expandRange('10.0.0.[1:3]:2375'), ['10.0.0.1:2375', '10.0.0.2:2375', '10.0.0.3:2375']);
  assert.deepEqual(expandRange('192.168.1.2:[2:4]375'), ['192.168.1.2:2375', '192.168.1.2:3375', '192.168.1.2:4375']);
  assert.deepEqual(expandRange('h:2375'), ['h:2375']);
  assert.deepEqual(expandRange('h[a:b]:1'), ['h[a:b]:1'], 'non-numeric range is left as written');
  assert.deepEqual(expandRange('h[3:1]:1'), [], 'empty range yields nothing, as legacy');
});

test('splitHostPort reproduces Go net.SplitHostPort messages', () => {
  assert.deepEqual(splitHostPort('a:1'), { host: 'a', port: '1' });
  assert.deepEqual(splitHostPort('[::1]:2375'), { host: '::1', port: '2375' });
  assert.throws(() => splitHostPort('abc'), /^Error: address abc: missing port in address$/);
  assert.throws(() => splitHostPort('a:b:c'), /address a:b:c: too many colons in address/);
  assert.throws(() => splitHostPort('[::1'), /missing '\]' in address/);
});

test('createEntries skips empty strings and rejects invalid ones', () => {
  assert.deepEqual(createEntries(['a:1', '', 'b:2']), ['a:1', 'b:2']);
  assert.throws(() => createEntries(['a:1', 'nope']), /address nope: missing port in address/);
  assert.deepEqual(canonical(['b:1', 'a:1', 'b:1']), ['a:1', 'b:1']);
});

test('parseFileContent: comments, trailing comments, blank lines, ranges', () => {
  const text = '# engines\n\n  10.0.0.1:2375  \n10.0.0.[2:3]:2375 # two more\n   # indented comment\n\n';
  assert.deepEqual(parseFileContent(text), ['10.0.0.1:2375', '10.0.0.2:2375', '10.0.0.3:2375']);
  assert.deepEqual(parseFileContent(''), []);
  assert.throws(() => parseFileContent('10.0.0.1\n'), /missing port/);
});

test('parseKvUrl: several hosts, prefix, default port, bad address', () => {
  const u = (raw: string) => ({ raw, scheme: raw.split('://')[0], rest: raw.split('://')[1] });
  assert.deepEqual(parseKvUrl(u('etcd://h1:1,h2:2/a/b/'), 2379), { hosts: ['h1:1', 'h2:2'], prefix: 'a/b' });
  assert.deepEqual(parseKvUrl(u('zk://h1'), 2181), { hosts: ['h1:2181'], prefix: '' });
  assert.throws(() => parseKvUrl(u('etcd:///x'), 2379), /no etcd server address/);
  assert.throws(() => parseKvUrl(u('etcd://h:99999'), 2379), /invalid port/);
  const opts = { heartbeat: 1000, ttl: 3000, opts: {} };
  assert.deepEqual(kvPaths({ hosts: [], prefix: 'p' }, opts), { nodes: 'p/docker/swarm/nodes', leader: 'p/docker/swarm/leader' });
  assert.deepEqual(kvPaths({ hosts: [], prefix: '' }, { ...opts, opts: { 'kv.path': '/custom/' } }).nodes, 'custom');
});

test('readKvTls needs all three files', () => {
  assert.equal(readKvTls({ heartbeat: 1, ttl: 2, opts: {} }), undefined);
  assert.throws(() => readKvTls({ heartbeat: 1, ttl: 2, opts: { 'kv.cacertfile': '/x' } }),
    /missing kv\.certfile, kv\.keyfile/);
  assert.throws(() => readKvTls({ heartbeat: 1, ttl: 2, opts: { 'kv.cacertfile': '/nope/a', 'kv.certfile': '/nope/b', 'kv.keyfile': '/nope/c' } }),
    /failed to read kv\.cacertfile '\/nope\/a'/);
});
