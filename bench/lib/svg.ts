import type { ChartSpec } from './types.ts';

/**
 * Hand-written SVG charts (no dependency): grouped bars or lines over categories, an optional
 * reference line for a target, linear or log value axis. Output is a standalone SVG file that
 * GitHub renders inline from the markdown report.
 */

const PALETTE = ['#4C78A8', '#F58518', '#54A24B', '#E45756', '#72B7B2', '#B279A2', '#FF9DA6', '#9D755D'];
const W = 720;
const H = 360;
const M = { top: 40, right: 170, bottom: 60, left: 70 };

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)}k`;
  if (a >= 100) return `${Math.round(v)}`;
  if (a >= 1) return `${+v.toPrecision(3)}`;
  if (a === 0) return '0';
  return `${+v.toPrecision(2)}`;
}

/** "Nice" linear ticks covering [0, max]. */
function linearTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / 5;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= rough) ?? rough;
  const ticks: number[] = [];
  for (let v = 0; v <= max * 1.0001 + step; v += step) {
    ticks.push(Number(v.toPrecision(12)));
    if (v >= max) break;
  }
  return ticks;
}

export function renderChart(spec: ChartSpec): string {
  const values = spec.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  if (spec.reference) values.push(spec.reference.value);
  const plotW = W - M.left - M.right;
  // Long category labels that would overlap are drawn at an angle, with room made below.
  const maxLabel = Math.max(0, ...spec.categories.map((c) => c.length));
  const rotate = maxLabel * 6.5 > plotW / Math.max(1, spec.categories.length);
  const bottom = rotate ? Math.max(M.bottom, 24 + maxLabel * 3.6) : M.bottom;
  const plotH = H - M.top - bottom;
  const useLog = Boolean(spec.log) && values.length > 0 && values.every((v) => v > 0);

  let y: (v: number) => number;
  let ticks: number[];
  if (useLog) {
    const lo = Math.floor(Math.log10(Math.min(...values)));
    const hi = Math.ceil(Math.log10(Math.max(...values)));
    const span = Math.max(1, hi - lo);
    y = (v) => M.top + plotH - ((Math.log10(v) - lo) / span) * plotH;
    ticks = Array.from({ length: span + 1 }, (_, i) => 10 ** (lo + i));
  } else {
    ticks = linearTicks(values.length ? Math.max(...values) : 1);
    const top = ticks[ticks.length - 1] || 1;
    y = (v) => M.top + plotH - (v / top) * plotH;
  }

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2 - M.right / 2 + M.left / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`);
  // Grid and value axis.
  for (const t of ticks) {
    const ty = y(t);
    out.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${ty.toFixed(1)}" y2="${ty.toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 6}" y="${(ty + 4).toFixed(1)}" text-anchor="end" fill="#555">${fmt(t)}</text>`);
  }
  out.push(`<text transform="translate(16 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">${esc(spec.unit)}${useLog ? ' (log)' : ''}</text>`);
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${M.top + plotH}" y2="${M.top + plotH}" stroke="#333"/>`);

  const n = Math.max(1, spec.categories.length);
  const band = plotW / n;
  spec.categories.forEach((c, i) => {
    const cx = (M.left + band * (i + 0.5)).toFixed(1);
    const cy = M.top + plotH + 18;
    out.push(rotate
      ? `<text transform="translate(${cx} ${cy - 4}) rotate(-30)" text-anchor="end" fill="#333">${esc(c)}</text>`
      : `<text x="${cx}" y="${cy}" text-anchor="middle" fill="#333">${esc(c)}</text>`);
  });

  const base = useLog ? M.top + plotH : y(0);
  if (spec.kind === 'bars') {
    const k = Math.max(1, spec.series.length);
    const bw = (band * 0.8) / k;
    spec.series.forEach((s, si) => {
      s.values.forEach((v, ci) => {
        if (v === null || !Number.isFinite(v) || (useLog && v <= 0)) return;
        const x = M.left + band * ci + band * 0.1 + bw * si;
        const top = y(v);
        out.push(`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${Math.max(0, base - top).toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"><title>${esc(`${s.name} @ ${spec.categories[ci]}: ${fmt(v)} ${spec.unit}`)}</title></rect>`);
      });
    });
  } else {
    spec.series.forEach((s, si) => {
      const pts: string[] = [];
      s.values.forEach((v, ci) => {
        if (v === null || !Number.isFinite(v) || (useLog && v <= 0)) return;
        pts.push(`${(M.left + band * (ci + 0.5)).toFixed(1)},${y(v).toFixed(1)}`);
      });
      const color = PALETTE[si % PALETTE.length];
      if (pts.length > 1) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
      for (const p of pts) {
        const [px, py] = p.split(',');
        out.push(`<circle cx="${px}" cy="${py}" r="3" fill="${color}"/>`);
      }
    });
  }

  if (spec.reference && (!useLog || spec.reference.value > 0)) {
    const ry = y(spec.reference.value);
    out.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${ry.toFixed(1)}" y2="${ry.toFixed(1)}" stroke="#d62728" stroke-dasharray="6 4" stroke-width="1.5"/>`);
    out.push(`<text x="${M.left + plotW - 4}" y="${(ry - 5).toFixed(1)}" text-anchor="end" fill="#d62728">${esc(spec.reference.label)}</text>`);
  }

  // Legend.
  spec.series.forEach((s, si) => {
    const ly = M.top + 10 + si * 20;
    out.push(`<rect x="${W - M.right + 15}" y="${ly - 9}" width="12" height="12" fill="${PALETTE[si % PALETTE.length]}"/>`);
    out.push(`<text x="${W - M.right + 32}" y="${ly + 1}" fill="#333">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
