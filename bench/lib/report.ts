import type { PartResult, TargetResult } from './types.ts';

export interface RunMeta {
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  only: string[] | null;
  machine: { cpus: number; cpuModel: string; memoryMB: number; node: string; platform: string; loadAverageAtStart?: number[]; loadAverageAtEnd?: number[] };
  git: { commit: string; dirty: boolean };
}

export interface RunResult {
  meta: RunMeta;
  parts: (PartResult & { measuredAt: string; quick: boolean })[];
  targets: TargetResult[];
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return '—';
    return Math.abs(v) >= 100 ? `${Math.round(v)}` : `${+v.toPrecision(3)}`;
  }
  return String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(columns: string[], rows: unknown[][]): string {
  const head = `| ${columns.map(cell).join(' | ')} |`;
  const sep = `| ${columns.map(() => '---').join(' | ')} |`;
  return [head, sep, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** The markdown report: targets first (met or not, with the figure), then one section per part. */
export function renderMarkdown(run: RunResult, chartPath: (id: string) => string): string {
  const { meta } = run;
  const out: string[] = [];
  out.push('# swarm benchmark report');
  out.push('');
  out.push(`Run ${meta.startedAt} → ${meta.finishedAt}${meta.quick ? ' · **quick run** (reduced sizes, see each part)' : ' · full run'}` +
    `${meta.only ? ` · parts: ${meta.only.join(', ')}` : ''}.`);
  out.push(`Machine: ${meta.machine.cpus} × ${meta.machine.cpuModel}, ${meta.machine.memoryMB} MB RAM, Node ${meta.machine.node}, ${meta.machine.platform}. ` +
    `Commit \`${meta.git.commit.slice(0, 12)}\`${meta.git.dirty ? ' (work tree had uncommitted changes)' : ''}.` +
    (meta.machine.loadAverageAtStart ? ` Load average (1/5/15 min) at start ${meta.machine.loadAverageAtStart.join(' / ')}, at end ${meta.machine.loadAverageAtEnd?.join(' / ')}` +
      `${(meta.machine.loadAverageAtEnd?.[1] ?? 0) > meta.machine.cpus * 1.5 ? ' — **the machine was busy with other work: absolute figures are pessimistic, ratios less affected**' : ''}.` : ''));
  out.push('');
  out.push('Every comparison is a ratio of two figures measured side by side in the same run (interleaved where possible): ' +
    'absolute numbers on a shared 2-core machine are noisy, ratios much less so. Targets are computed by the run from the measurements; ' +
    'a part that could not run reports its targets as not met with the reason.');
  out.push('');
  out.push('## Targets');
  out.push('');
  const met = run.targets.filter((t) => t.met).length;
  out.push(`${met} of ${run.targets.length} targets met.`);
  out.push('');
  out.push(table(['target', 'measured', 'wanted', 'unit', 'met', 'note'],
    run.targets.map((t) => [t.name, t.measured, t.target, t.unit, t.met ? '✅ met' : '❌ not met', t.note ?? ''])));
  out.push('');
  for (const p of run.parts) {
    out.push(`## ${p.title}`);
    out.push('');
    const when = p.measuredAt !== meta.startedAt ? ` (measured in an earlier run, ${p.measuredAt}${p.quick ? ', quick' : ''})` : '';
    if (p.status !== 'ok') {
      out.push(`**${p.status}**${p.reason ? `: ${p.reason}` : ''}${when}`);
      out.push('');
    } else if (when) {
      out.push(`_${when.trim()}_`);
      out.push('');
    }
    const setup = Object.entries(p.setup);
    if (setup.length) {
      out.push(`Setup: ${setup.map(([k, v]) => `${k} = ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join('; ')}. Took ${(p.durationMs / 1000).toFixed(1)} s.`);
      out.push('');
    }
    for (const t of p.tables) {
      out.push(`**${t.title}**`);
      out.push('');
      out.push(table(t.columns, t.rows));
      out.push('');
    }
    for (const c of p.charts) {
      out.push(`![${c.title}](${chartPath(c.id)})`);
      out.push('');
    }
  }
  return `${out.join('\n')}\n`;
}
