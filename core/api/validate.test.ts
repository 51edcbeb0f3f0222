import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateCreateBody } from './validate.ts';

const message = (body: Record<string, unknown>): string | undefined => {
  try {
    validateCreateBody(body);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
};

test('create bodies: field types are checked as encoding/json does, exact names first', () => {
  assert.equal(message({ Image: 'busybox', Cmd: ['true'], HostConfig: { Memory: 1 << 20, CpuShares: 2 } }), undefined);
  assert.equal(message({ Image: 5 }), 'invalid JSON: json: cannot unmarshal number 5 into Go struct field Config.Image of type string');
  assert.equal(message({ Image: 'x', HostConfig: { Memory: 'a lot' } }), 'invalid JSON: json: cannot unmarshal string into Go struct field Config.HostConfig.Memory of type int64');
  assert.equal(message({ Image: 'x', Cmd: [1] }), 'invalid JSON: json: cannot unmarshal number 1 into Go struct field Config.Cmd of type string');
});

test('create bodies: names that match no field exactly match case-insensitively, every time (the folded names are kept per type)', () => {
  for (let round = 0; round < 3; round++) {
    assert.equal(message({ image: 5 }), 'invalid JSON: json: cannot unmarshal number 5 into Go struct field Config.Image of type string');
    assert.equal(message({ IMAGE: 'x', hostconfig: { memory: 'a lot' } }), 'invalid JSON: json: cannot unmarshal string into Go struct field Config.HostConfig.Memory of type int64');
    assert.equal(message({ Image: 'x', HostConfig: { restartpolicy: { maximumretrycount: 'x' } } }), 'invalid JSON: json: cannot unmarshal string into Go struct field Config.HostConfig.RestartPolicy.MaximumRetryCount of type int');
    assert.equal(message({ image: 'x', NoSuchField: 5, hostconfig: { nosuch: 'y' } }), undefined);
  }
});
