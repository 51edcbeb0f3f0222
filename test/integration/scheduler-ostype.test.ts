/**
 * The automatic ostype constraint (§4.4) and the OS-mismatch retry (§5.6) with images of other
 * operating systems, on the 3 (Linux) kit engines through the manager. A loopback registry holds
 * a Windows-only image and a Linux+Windows manifest list, written over the registry's HTTP API
 * (a Linux dockerd cannot build or push Windows images).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { dockerCli, startRegistry, type TestRegistry } from '../cluster/index.ts';
import { startTestManager, uniqueName, type TestManager } from './api-manager.ts';

const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

let m: TestManager;
let reg: TestRegistry;
const containers: string[] = [];
const images = new Set<string>();
const docker = (...args: string[]) => dockerCli(m.host, args);

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function http(method: string, url: string, body?: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Monolithic blob upload (POST then PUT with the digest). */
async function putBlob(repo: string, blob: Buffer): Promise<string> {
  const digest = sha256(blob);
  const start = await http('POST', `http://${reg.addr}/v2/${repo}/blobs/uploads/`);
  assert.equal(start.status, 202, start.body);
  const loc = new URL(String(start.headers.location), `http://${reg.addr}`);
  loc.searchParams.set('digest', digest);
  const put = await http('PUT', loc.toString(), blob, { 'content-type': 'application/octet-stream' });
  assert.equal(put.status, 201, put.body);
  return digest;
}

async function putManifest(repo: string, tag: string, mediaType: string, manifest: unknown): Promise<{ digest: string; size: number }> {
  const body = Buffer.from(JSON.stringify(manifest));
  const r = await http('PUT', `http://${reg.addr}/v2/${repo}/manifests/${tag}`, body, { 'content-type': mediaType });
  assert.equal(r.status, 201, r.body);
  return { digest: sha256(body), size: body.length };
}

/** A one-layer image whose config says `os`; returns its manifest's digest and size. */
async function putImage(repo: string, tag: string, os: string): Promise<{ digest: string; size: number }> {
  const tar = Buffer.alloc(1024); // an empty tar archive: two zero blocks
  const layer = gzipSync(tar);
  const layerDigest = await putBlob(repo, layer);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os, config: {}, rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    ...(os === 'windows' ? { 'os.version': '10.0.17763.1' } : {}),
  }));
  const configDigest = await putBlob(repo, config);
  return putManifest(repo, tag, MANIFEST, {
    schemaVersion: 2, mediaType: MANIFEST,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: configDigest },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: layerDigest }],
  });
}

/** The manifest digest and size of a tag pushed by dockerd. */
async function manifestOf(repo: string, tag: string): Promise<{ digest: string; size: number }> {
  const r = await http('GET', `http://${reg.addr}/v2/${repo}/manifests/${tag}`, undefined, { accept: MANIFEST });
  assert.equal(r.status, 200, r.body);
  return { digest: String(r.headers['docker-content-digest']), size: Buffer.byteLength(r.body) };
}

async function ok(args: string[]): Promise<string> {
  const r = await docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function constraintsOf(container: string): Promise<string[]> {
  const labels = JSON.parse(await ok(['inspect', '-f', '{{json .Config.Labels}}', container])) as Record<string, string>;
  return JSON.parse(labels['com.docker.swarm.constraints'] ?? '[]') as string[];
}

/** `ref` tagged from busybox on one engine only (straight to the engine), visible to the manager. */
async function localTag(engineIndex: number, ref: string): Promise<void> {
  const e = m.engines[engineIndex];
  images.add(ref);
  const r = await dockerCli(e.host, ['tag', 'busybox:latest', ref]);
  assert.equal(r.code, 0, r.stderr);
  const deadline = Date.now() + 15_000;
  while (m.cluster.imageOwners(ref).length !== 1) {
    if (Date.now() > deadline) throw new Error(`manager does not see ${ref} on ${e.name}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

let windowsRef: string;
let mixedRef: string;

before(async () => {
  [m, reg] = await Promise.all([startTestManager(), startRegistry()]);
  const repo = uniqueName('os');
  // Linux entry: busybox as dockerd pushes it; Windows entry and image: written by hand.
  const linuxRef = `${reg.addr}/${repo}:linux`;
  images.add(linuxRef);
  const e = m.engines[0];
  assert.equal((await dockerCli(e.host, ['tag', 'busybox:latest', linuxRef])).code, 0);
  const pushed = await dockerCli(e.host, ['push', linuxRef]);
  assert.equal(pushed.code, 0, pushed.stderr);
  await dockerCli(e.host, ['rmi', linuxRef]);
  const linux = await manifestOf(repo, 'linux');
  const windows = await putImage(repo, 'windows', 'windows');
  await putManifest(repo, 'mixed', MANIFEST_LIST, {
    schemaVersion: 2, mediaType: MANIFEST_LIST,
    manifests: [
      { mediaType: MANIFEST, ...linux, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: MANIFEST, ...windows, platform: { architecture: 'amd64', os: 'windows', 'os.version': '10.0.17763.1' } },
    ],
  });
  windowsRef = `${reg.addr}/${repo}:windows`;
  mixedRef = `${reg.addr}/${repo}:mixed`;
  images.add(windowsRef);
  images.add(mixedRef);
});

after(async () => {
  if (containers.length) await docker('rm', '-f', ...containers);
  for (const ref of images) await docker('rmi', '-f', ref);
  await Promise.all([reg?.stop(), m?.stop()]);
});

test('a Linux+Windows manifest list: pulled on every Linux node, created with ostype==/(linux)|(windows)/', async () => {
  const out = await ok(['pull', mixedRef]);
  for (const e of m.engines) assert.match(out, new RegExp(`${e.name}: Pulling .* : downloaded`));
  const c = uniqueName('mixed');
  containers.push(c);
  assert.equal((await ok(['run', '--name', c, mixedRef, 'echo', 'ran'])).trim(), 'ran');
  assert.deepEqual(await constraintsOf(c), ['ostype==/(linux)|(windows)/']);
});

test('a Windows-only image: the automatic hard constraint leaves no Linux node', async () => {
  // The manager must believe some node holds the name, or the create is a 404 before scheduling.
  await localTag(1, windowsRef);
  const r = await docker('run', '--name', uniqueName('win'), windowsRef, 'true');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Unable to find a node that satisfies the following conditions[\s\S]*\[ostype==windows\]/);
});

test('OS-mismatch retry: the engine refuses the Windows image, the retry adds ostype==windows', async () => {
  const ref = `${windowsRef}-retry`;
  // Same bytes under another tag, held (as a Linux image) by node 2 only.
  const repo = ref.slice(reg.addr.length + 1).split(':')[0];
  const win = await http('GET', `http://${reg.addr}/v2/${repo}/manifests/windows`, undefined, { accept: MANIFEST });
  await putManifest(repo, 'windows-retry', MANIFEST, JSON.parse(win.body));
  await localTag(1, ref);
  // An ostype rule of the user's turns the automatic lookup off; the soft node rule sends pass 1
  // to node 1, whose engine pulls the image and answers `image operating system "windows" cannot
  // be used on this platform`.
  const r = await docker('run', '--name', uniqueName('mismatch'), '-e', 'constraint:ostype!=plan9',
    '-e', `constraint:node==~${m.engines[0].name}`, ref, 'true');
  assert.notEqual(r.code, 0);
  // ostype==windows is none of the user's rules: the retry added it after node 1's engine refused.
  assert.match(r.stderr, /Unable to find a node that satisfies the following conditions/);
  // The rules the scheduler names (any order; the node rule as the scheduler writes soft rules).
  const rules = /\[([^\]]*ostype[^\]]*)\]/.exec(r.stderr)?.[1].split(' ') ?? [];
  assert.deepEqual(rules.filter((x) => x.startsWith('ostype')).sort(), ['ostype!=plan9', 'ostype==windows'], r.stderr);
  assert.equal(rules.length, 3, r.stderr);
  // Node 1 tried: it never keeps a Windows image.
  assert.equal(m.cluster.imageOwners(ref).map((e) => e.name).join(), m.engines[1].name);
});

test('pulling a Windows-only image: every node reports the OS mismatch and the pull fails', async () => {
  const r = await docker('pull', windowsRef.replace(/:windows$/, ':windows-retry'));
  assert.notEqual(r.code, 0);
  for (const e of m.engines.filter((_, i) => i !== 1)) {
    assert.match(r.stdout, new RegExp(`${e.name}: Pulling .* : image operating system "windows" cannot be used on this platform`), r.stdout);
  }
});
