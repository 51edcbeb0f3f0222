import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ERR_KEY, ERR_NO_OPERATOR, ERR_VALUE, ExprError, compileValue, exprString, exprText, matchExpr, parseExpr, parseExprs,
} from './expr.ts';

test('parseExpr: operators, keys, values, soft marker', () => {
  const rows: [string, { key: string; operator: '==' | '!='; value: string; soft: boolean }][] = [
    ['storage==ssd', { key: 'storage', operator: '==', value: 'ssd', soft: false }],
    ['storage!=ssd', { key: 'storage', operator: '!=', value: 'ssd', soft: false }],
    ['node==~node-1', { key: 'node', operator: '==', value: 'node-1', soft: true }],
    ['node!=~node-1', { key: 'node', operator: '!=', value: 'node-1', soft: true }],
    // `==` is tried first and split at its first occurrence: the rest keeps the extra `=`
    ['key===value', { key: 'key', operator: '==', value: '=value', soft: false }],
    ['Region==EU', { key: 'region', operator: '==', value: 'EU', soft: false }], // key lower-cased
    ['com.example.type==front-end', { key: 'com.example.type', operator: '==', value: 'front-end', soft: false }],
    ['_x==1', { key: '_x', operator: '==', value: '1', soft: false }],
    ['node==/node-[12]/', { key: 'node', operator: '==', value: '/node-[12]/', soft: false }],
    ['whitelist==n1|n2', { key: 'whitelist', operator: '==', value: 'n1|n2', soft: false }],
    ['image==busybox:latest', { key: 'image', operator: '==', value: 'busybox:latest', soft: false }],
    ['kk==a b', { key: 'kk', operator: '==', value: 'a b', soft: false }],
    ['kk==^(a)?+\\$', { key: 'kk', operator: '==', value: '^(a)?+\\$', soft: false }],
  ];
  for (const [text, want] of rows) {
    const got = parseExpr(text);
    assert.deepEqual({ key: got.key, operator: got.operator, value: got.value, soft: got.soft }, want, text);
    assert.equal(got.raw, text);
  }
});

test('parseExpr: legacy error messages', () => {
  const rows: [string, string][] = [
    ['storage', ERR_NO_OPERATOR],
    ['storage=ssd', ERR_NO_OPERATOR],
    ['storage<>ssd', ERR_NO_OPERATOR],
    ['a==b', ERR_KEY('a')], // one-character key
    ['==b', ERR_KEY('')],
    ['1a==b', ERR_KEY('1a')],
    ['a b==c', ERR_KEY('a b')],
    ['xx==a,b', ERR_VALUE('a,b')], // no commas
    // `==` is searched first, so the key of `ab!=c==d` is `ab!=c`
    ['ab!=c==d', ERR_KEY('ab!=c')],
    ['xx==', ERR_VALUE('')],
    ['xx==~', ERR_VALUE('~')],
    ['xx==~~x', ERR_VALUE('~~x')],
    ['xx==a@b', ERR_VALUE('a@b')],
    ['xx==a\u00a0b', ERR_VALUE('a\u00a0b')], // RE2 \s is ASCII only
  ];
  for (const [text, message] of rows) {
    assert.throws(() => parseExpr(text), (err: unknown) => err instanceof ExprError && err.message === message, text);
  }
  assert.throws(() => parseExprs(['ok==1', 'bad']), { message: ERR_NO_OPERATOR });
  assert.equal(ERR_NO_OPERATOR, 'One of operator ==, != is expected');
  assert.equal(ERR_KEY('a'), "Key 'a' is invalid");
  assert.equal(ERR_VALUE('a,b'), "Value 'a,b' is invalid");
});

test('exprText / exprString', () => {
  const e = parseExpr('Node!=~n1');
  assert.equal(exprText(e), 'node!=n1');
  assert.equal(exprString(e), 'node!=~n1');
});

test('matchExpr: globs are anchored, * → .*, other metacharacters not escaped', () => {
  const rows: [string, string[], boolean][] = [
    ['kk==ssd', ['ssd'], true],
    ['kk==ssd', ['ssd2'], false], // anchored
    ['kk==ssd', ['xssd'], false],
    ['kk==ss*', ['ssd'], true],
    ['kk==*', [''], true], // missing label compares as ''
    ['kk==x', [''], false],
    ['kk!=x', [''], true],
    ['kk==4.*', ['4x19'], true], // `.` keeps its regex meaning
    ['kk==4.*', ['5.1'], false],
    ['kk==a|b', ['b'], true], // `|` is alternation: ^a|b$
    ['kk==a|b', ['xb'], true], // …and the anchors bind to each side only
    ['kk==colou?r', ['color'], true],
    ['kk==SSD', ['ssd'], false], // case-sensitive
    ['kk==[', ['['], false], // invalid pattern: no match
    ['kk!=[', ['['], true], //  …so != is true
  ];
  for (const [text, whats, want] of rows) assert.equal(matchExpr(parseExpr(text), whats), want, `${text} vs ${JSON.stringify(whats)}`);
});

test('matchExpr: /regex/ is unanchored; (?i) works; invalid regex never matches', () => {
  const rows: [string, string[], boolean][] = [
    ['node==/node-[12]/', ['node-1'], true],
    ['node==/node-[12]/', ['my-node-2-x'], true], // substring
    ['node==/^node-[12]$/', ['my-node-2'], false],
    ['node==/node-[12]/', ['node-3'], false],
    ['node==/(?i)NODE/', ['node-3'], true],
    ['node==/(/', ['('], false],
    ['node!=/(/', ['('], true],
  ];
  for (const [text, whats, want] of rows) assert.equal(matchExpr(parseExpr(text), whats), want, text);
  assert.equal(compileValue('/'), compileValue('/')); // cached
  assert.ok(compileValue('/')!.test('/')); // lone slash is a glob, not an empty regex
  // too large to compile: V8 only says so on first use — still "never matches", not a throw
  const huge = 'a'.repeat(100_000);
  const outcome = (text: string): boolean | string => {
    try {
      return matchExpr(parseExpr(text), [huge]);
    } catch (err) {
      return `threw: ${String(err).slice(0, 60)}`; // short: the full message holds the whole pattern
    }
  };
  assert.equal(outcome(`storage==${huge}`), false, 'huge glob ==');
  assert.equal(outcome(`storage!=${huge}`), true, 'huge glob !=');
});

test('matchExpr: == is any-match, != is none-match', () => {
  const eq = parseExpr('container==web');
  const ne = parseExpr('container!=web');
  assert.equal(matchExpr(eq, ['db', 'web']), true);
  assert.equal(matchExpr(eq, ['db']), false);
  assert.equal(matchExpr(eq, []), false);
  assert.equal(matchExpr(ne, ['db', 'web']), false);
  assert.equal(matchExpr(ne, ['db']), true);
  assert.equal(matchExpr(ne, []), true);
});
