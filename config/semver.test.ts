import { test } from 'node:test';
import assert from 'node:assert/strict';
import { satisfies } from './semver.ts';

test('peer ranges a plugin may declare, checked against swarm versions', () => {
  const cases: [string, string, boolean][] = [
    ['1.2.9', '^1.2.0', true], ['1.2.9', '^1.3.0', false], ['2.0.0', '^1.2.0', false],
    ['0.2.5', '^0.2.1', true], ['0.3.0', '^0.2.1', false], ['0.0.3', '^0.0.3', true], ['0.0.4', '^0.0.3', false],
    ['1.2.9', '~1.2.3', true], ['1.3.0', '~1.2.3', false], ['1.9.0', '~1', true],
    ['1.2.9', '>=1.2 <2', true], ['1.2.9', '>= 1.3.0', false], ['1.2.9', '>1.2', false], ['1.3.0', '>1.2', true],
    ['1.2.9', '<=1.2', true], ['1.2.9', '<1.2.9', false],
    ['1.2.9', '1.x', true], ['1.2.9', '1.2.x', true], ['1.2.9', '1.3.x', false], ['1.2.9', '*', true], ['1.2.9', '', true],
    ['1.2.9', '1.2.9', true], ['1.2.9', '=1.2.8', false],
    ['1.2.9', '1.0.0 - 1.2', true], ['1.3.0', '1.0.0 - 1.2', false],
    ['1.2.9', '^2 || ^1.2', true], ['1.2.9', '^2 || ^3', false],
  ];
  for (const [version, range, expected] of cases) assert.equal(satisfies(version, range), expected, `${version} in "${range}"`);
});

test('an unreadable range is an error, not a match', () => {
  assert.throws(() => satisfies('1.2.9', 'latest'), /invalid semver range "latest"/);
  assert.throws(() => satisfies('1.2.9', '1.x.3'), /invalid semver range/);
});
