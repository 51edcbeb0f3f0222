/**
 * Summarise a V8 `.cpuprofile` (from `node --cpu-prof`): where the time went, as self time per
 * function, and per "first frame of our code" (the deepest caller that lives in this repository,
 * not in node_modules or Node itself), which is where a fix would go.
 */
import { readFileSync } from 'node:fs';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  self: { frame: string; ms: number; share: number }[];
  ours: { frame: string; ms: number; share: number }[];
}

function label(cf: CallFrame, root: string): string {
  const file = cf.url.startsWith('file://') ? cf.url.slice(7) : cf.url;
  const short = file.startsWith(root) ? file.slice(root.length) : file.replace(/^.*node_modules\//, '');
  // tsx-compiled modules report line 0 for everything: a line number is only shown when it means something.
  return `${cf.functionName || '(anonymous)'} ${short || '(native)'}${cf.url && cf.lineNumber > 0 ? `:${cf.lineNumber + 1}` : ''}`;
}

export function summarizeProfile(file: string, root: string, top = 12): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const rootDir = root.endsWith('/') ? root : `${root}/`;
  const time = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) time.set(p.samples[i], (time.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));

  const self = new Map<string, number>();
  const ours = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of time) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') {
      idle += us;
      continue;
    }
    total += us;
    const key = label(node.callFrame, rootDir);
    self.set(key, (self.get(key) ?? 0) + us);
    let cur: number | undefined = id;
    let below: CallFrame | undefined;
    let owner = name === '(garbage collector)' ? '(garbage collector)' : '(outside the repository)';
    while (cur !== undefined) {
      const cf = byId.get(cur)!.callFrame;
      const f = cf.url.startsWith('file://') ? cf.url.slice(7) : cf.url;
      if (f.startsWith(rootDir) && !f.includes('/node_modules/')) {
        // Name the library call it went into, when there is one: that is usually the culprit.
        owner = `${label(cf, rootDir)}${below ? ` → ${label(below, rootDir)}` : ''}`;
        break;
      }
      below = cf;
      cur = parent.get(cur);
    }
    ours.set(owner, (ours.get(owner) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([frame, us]) => ({ frame, ms: us / 1000, share: total > 0 ? us / total : 0 }));
  return { totalMs: total / 1000, idleMs: idle / 1000, self: rank(self), ours: rank(ours) };
}
