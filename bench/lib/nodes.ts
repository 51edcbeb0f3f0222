/**
 * Synthetic cluster snapshots for the scheduler benchmark: plain NodeView data built in memory,
 * deterministic (seeded), shaped like a busy real cluster: mixed labels, partly reserved
 * resources, a few containers per node (some with published ports) and the busybox image.
 */
import type { ContainerView, ImageView, NodeView } from '../../core/types.ts';

/** Small seeded PRNG (mulberry32): same cluster on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GiB = 2 ** 30;
const BUSYBOX: ImageView = { id: 'sha256:busybox', repoTags: ['busybox:latest'], repoDigests: [] };

export function makeNodes(count: number, seed = 42): NodeView[] {
  const rand = rng(seed + count);
  const nodes: NodeView[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const addr = `${ip}:2375`;
    const totalCpus = 8;
    const totalMemory = 16 * GiB;
    const k = i % 4; // 0..3 containers
    const containers: ContainerView[] = [];
    let usedCpus = 0;
    let usedMemory = 0;
    for (let j = 0; j < k; j++) {
      const cpus = rand() < 0.5 ? 1 : 0;
      const memory = Math.floor(rand() * 4) * 256 * 2 ** 20;
      usedCpus += cpus;
      usedMemory += memory;
      containers.push({
        id: `c${i.toString(16).padStart(8, '0')}${j}`.padEnd(64, '0'),
        names: [`/app-${i}-${j}`],
        image: j === 0 ? 'busybox:latest' : 'redis:7',
        imageId: j === 0 ? BUSYBOX.id : 'sha256:redis',
        state: 'running',
        labels: { tier: j === 0 ? 'web' : 'db' },
        portBindings: j === 1 ? [{ containerPort: '80/tcp', hostIp: '', hostPort: '80' }] : [],
        networkMode: 'default',
        exposedPorts: j === 1 ? ['80/tcp'] : [],
        cpus,
        memory,
        created: 1_700_000_000 + i,
      });
    }
    nodes[i] = {
      id: `ENGINE${i.toString(36).toUpperCase().padStart(6, '0')}|${addr}`,
      name: `node-${i + 1}`,
      addr,
      ip,
      labels: {
        storagedriver: 'overlay2', kernelversion: '6.1.0', operatingsystem: 'Debian GNU/Linux 12', ostype: 'linux',
        storage: i % 2 === 0 ? 'ssd' : 'disk', zone: `z${i % 4}`,
      },
      state: 'healthy',
      healthIndicator: 100,
      totalCpus,
      totalMemory,
      usedCpus,
      usedMemory,
      containers,
      images: [BUSYBOX],
    };
  }
  return nodes;
}

/**
 * The create bodies placed in turn: plain, with reservations, with a hard constraint, with an
 * image affinity and a published port, so every default filter has work to do.
 */
export const REQUEST_BODIES: Record<string, unknown>[] = [
  { Image: 'busybox', Cmd: ['true'] },
  { Image: 'busybox', HostConfig: { Memory: 64 * 2 ** 20, CpuShares: 1 } },
  { Image: 'busybox', Env: ['constraint:storage==ssd'] },
  { Image: 'busybox', Env: ['affinity:image==busybox'], ExposedPorts: { '8080/tcp': {} }, HostConfig: { PortBindings: { '8080/tcp': [{ HostPort: '8080' }] } } },
];
