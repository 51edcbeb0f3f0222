import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findContainer, findNetwork, findVolume, imageMatches, nameConflictMessage, nameTaken, naturalCompare, parseReference } from './lookup.ts';

const ID_A = 'aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111';
const ID_B = 'bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222';
const ID_C = 'aaaaaaaaaaab3333333333333333333333333333333333333333333333333333';
const SW_A = 'cccccccccccc4444444444444444444444444444444444444444444444444444';

const row = (id: string, names: string[], nodeName: string, swarmId?: string) => ({
  id, names, nodeName, nodeId: `DOCKERID-${nodeName}|10.0.0.1:2375`,
  labels: (swarmId ? { 'com.docker.swarm.id': swarmId } : {}) as Record<string, string>,
});

const rows = [
  row(ID_A, ['/web'], 'node-1', SW_A),
  row(ID_B, ['/db'], 'node-2'),
  row(ID_C, ['/dup'], 'node-1'),
  row('dddddddddddd5555555555555555555555555555555555555555555555555555', ['/dup'], 'node-2'),
];

test('container lookup: full and 12-char short ID first', () => {
  assert.equal(findContainer(rows, ID_A)?.id, ID_A);
  assert.equal(findContainer(rows, ID_A.slice(0, 12))?.id, ID_A);
});

test('container lookup: swarm ID exact and short', () => {
  assert.equal(findContainer(rows, SW_A)?.id, ID_A);
  assert.equal(findContainer(rows, SW_A.slice(0, 12))?.id, ID_A);
});

test('container lookup: names as name, /name, node/name, nodeID/name', () => {
  assert.equal(findContainer(rows, 'web')?.id, ID_A);
  assert.equal(findContainer(rows, '/db')?.id, ID_B);
  assert.equal(findContainer(rows, 'node-2/db')?.id, ID_B);
  assert.equal(findContainer(rows, 'DOCKERID-node-2|10.0.0.1:2375/db')?.id, ID_B);
  assert.equal(findContainer(rows, 'node-1/db'), undefined);
});

test('container lookup: the same name on two engines is ambiguous, node/name is not', () => {
  assert.equal(findContainer(rows, 'dup'), undefined);
  assert.equal(findContainer(rows, 'node-1/dup')?.id, ID_C);
  assert.equal(findContainer(rows, 'node-2/dup')?.names[0], '/dup');
});

test('container lookup: unique ID or swarm-ID prefix last; ambiguous prefix is not found', () => {
  assert.equal(findContainer(rows, 'bbb')?.id, ID_B);
  assert.equal(findContainer(rows, 'aaaaaaaaaaa'), undefined); // ID_A and ID_C
  assert.equal(findContainer(rows, 'aaaaaaaaaaaa1')?.id, ID_A);
  assert.equal(findContainer(rows, 'cccc')?.id, ID_A);
  assert.equal(findContainer(rows, 'zzz'), undefined);
  assert.equal(findContainer(rows, ''), undefined);
});

test('a name beats an ID prefix', () => {
  const r = [row(ID_A, ['/x'], 'n1'), row(ID_B, ['/aaa'], 'n1')];
  assert.equal(findContainer(r, 'aaa')?.id, ID_B);
});

test('name uniqueness compares name and /name, the message is the legacy 409 text', () => {
  assert.equal(nameTaken(rows, 'web'), true);
  assert.equal(nameTaken(rows, '/web'), true);
  assert.equal(nameTaken(rows, 'node-1/web'), false);
  assert.equal(nameTaken(rows, 'nope'), false);
  assert.equal(nameConflictMessage('web'),
    'Conflict: The name web is already assigned. You have to delete (or rename) that container to be able to assign web to a container again.');
});

const busybox = { id: 'sha256:2de7aeaa4327f5c378dc4e48ea9569c49140de60e5007f28eecd04508ded8009', repoTags: ['busybox:latest', 'me/tool:1.0'], repoDigests: ['busybox@sha256:abcdef'] };

test('image match: ID prefix of at least 3 chars, with or without sha256:', () => {
  assert.equal(imageMatches(busybox, '2de'), true);
  assert.equal(imageMatches(busybox, '2d'), false);
  assert.equal(imageMatches(busybox, 'sha256:2de7aeaa'), true);
  assert.equal(imageMatches(busybox, busybox.id), true);
  assert.equal(imageMatches(busybox, '2df'), false);
});

test('image match: repo:tag exact, bare repo = any tag, library/docker.io spelled or not', () => {
  assert.equal(imageMatches(busybox, 'busybox:latest'), true);
  assert.equal(imageMatches(busybox, 'busybox'), true);
  assert.equal(imageMatches(busybox, 'busybox:1.36'), false);
  assert.equal(imageMatches(busybox, 'docker.io/library/busybox:latest'), true);
  assert.equal(imageMatches(busybox, 'me/tool'), true);
  assert.equal(imageMatches(busybox, 'me/tool:2.0'), false);
  assert.equal(imageMatches(busybox, 'tool'), false);
  assert.equal(imageMatches(busybox, 'busybox@sha256:abcdef'), true);
  assert.equal(imageMatches(busybox, 'busybox@sha256:000000'), false);
});

test('references with a registry port keep the port in the repo', () => {
  assert.deepEqual(parseReference('localhost:5000/app'), { repo: 'localhost:5000/app', digest: undefined });
  assert.deepEqual(parseReference('localhost:5000/app:v1'), { repo: 'localhost:5000/app', tag: 'v1', digest: undefined });
});

test('network lookup: IDs, node/name, ambiguity of local networks, one global network on every engine', () => {
  const nets = [
    { id: 'n1bridge0000aaaa', name: 'bridge', nodeId: 'X|a', nodeName: 'node-1' },
    { id: 'n2bridge0000bbbb', name: 'bridge', nodeId: 'Y|b', nodeName: 'node-2' },
    { id: 'ovl000000000cccc', name: 'overlay1', nodeId: 'X|a', nodeName: 'node-1' },
    { id: 'ovl000000000cccc', name: 'overlay1', nodeId: 'Y|b', nodeName: 'node-2' },
  ];
  assert.equal(findNetwork(nets, 'bridge'), undefined);
  assert.equal(findNetwork(nets, 'node-2/bridge')?.id, 'n2bridge0000bbbb');
  assert.equal(findNetwork(nets, 'Y|b/bridge')?.id, 'n2bridge0000bbbb');
  assert.equal(findNetwork(nets, 'overlay1')?.id, 'ovl000000000cccc');
  assert.equal(findNetwork(nets, 'n1b')?.id, 'n1bridge0000aaaa');
  assert.equal(findNetwork(nets, 'n'), undefined);
  assert.equal(findNetwork(nets, 'n2bridge0000bbbb')?.nodeName, 'node-2');
});

test('volume lookup: node/name, ambiguous local volumes are not found, a shared driver wins', () => {
  const vols = [
    { name: 'data', driver: 'local', nodeId: 'X|a', nodeName: 'node-1' },
    { name: 'data', driver: 'local', nodeId: 'Y|b', nodeName: 'node-2' },
    { name: 'shared', driver: 'local', nodeId: 'X|a', nodeName: 'node-1' },
    { name: 'shared', driver: 'nfs', nodeId: 'Y|b', nodeName: 'node-2' },
    { name: 'only', driver: 'local', nodeId: 'Y|b', nodeName: 'node-2' },
  ];
  assert.equal(findVolume(vols, 'data'), undefined);
  assert.equal(findVolume(vols, 'node-1/data')?.nodeName, 'node-1');
  assert.equal(findVolume(vols, 'shared')?.driver, 'nfs');
  assert.equal(findVolume(vols, 'only')?.nodeName, 'node-2');
  assert.equal(findVolume(vols, 'none'), undefined);
});

test('natural order of node names', () => {
  assert.deepEqual(['node-10', 'node-2', 'node-1'].sort(naturalCompare), ['node-1', 'node-2', 'node-10']);
});
