/**
 * Two small SVG charts for the report, no dependencies: a line chart (one or more series,
 * linear or log x axis) and a horizontal bar chart. Plain SVG 1.1 that GitHub renders.
 */

export interface Series {
  name: string;
  points: [number, number][];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  width?: number;
  height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf'];
const FONT = 'font-family="Helvetica,Arial,sans-serif"';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Short labels for axis ticks: 1.2 k, 3 M, 0.05. */
export function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)} G`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)} M`;
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)} k`;
  if (a === 0) return '0';
  return `${+v.toPrecision(3)}`;
}

/** About `n` round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, n: number): number[] {
  if (hi <= lo) hi = lo + 1;
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
  return out;
}

export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 360;
  const m = { l: 70, r: 20, t: 40, b: 70 };
  const all = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (all.length === 0) return '';
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [o.logY ? Math.min(...ys) : 0, Math.max(...ys)];
  if (o.logX) [x0, x1] = [10 ** Math.floor(Math.log10(x0)), 10 ** Math.ceil(Math.log10(x1))];
  if (o.logY) [y0, y1] = [10 ** Math.floor(Math.log10(Math.max(y0, 1e-9))), 10 ** Math.ceil(Math.log10(y1))];
  const yt = o.logY ? logTicks(y0, y1) : ticks(0, y1 * 1.05, 5);
  if (!o.logY) y1 = yt[yt.length - 1]!;
  if (x1 === x0) x1 = x0 + 1;
  const fx = (x: number) => m.l + ((o.logX ? Math.log10(x) - Math.log10(x0) : x - x0) / (o.logX ? Math.log10(x1) - Math.log10(x0) : x1 - x0)) * (W - m.l - m.r);
  const fy = (y: number) => H - m.b - ((o.logY ? Math.log10(y) - Math.log10(y0) : y - y0) / (o.logY ? Math.log10(y1) - Math.log10(y0) : y1 - y0)) * (H - m.t - m.b);
  const xt = o.logX ? logTicks(x0, x1) : ticks(x0, x1, 6);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT} font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(o.title)}</text>`);
  for (const v of yt) {
    const y = fy(v);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${short(v)}</text>`);
  }
  for (const v of xt) {
    const x = fx(v);
    if (x < m.l - 1 || x > W - m.r + 1) continue;
    parts.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${m.t}" y2="${H - m.b}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x.toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${short(v)}</text>`);
  }
  parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>`);
  parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - m.b + 34}" text-anchor="middle">${esc(o.xLabel)}${o.logX ? ' (log scale)' : ''}</text>`);
  parts.push(`<text transform="translate(16 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}${o.logY ? ' (log scale)' : ''}</text>`);
  o.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!o.logY || y > 0));
    if (pts.length > 1) parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map(([x, y]) => `${fx(x).toFixed(1)},${fy(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of pts) parts.push(`<circle cx="${fx(x).toFixed(1)}" cy="${fy(y).toFixed(1)}" r="3" fill="${c}"><title>${esc(s.name)}: ${short(x)}, ${short(y)}</title></circle>`);
    // Legend below the axis label, left to right.
    const lx = m.l + (i % 3) * ((W - m.l - m.r) / 3);
    const ly = H - 14 - (i < 3 && o.series.length > 3 ? 14 : 0);
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="3" fill="${c}"/><text x="${lx + 16}" y="${ly - 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export interface Bar {
  label: string;
  value: number;
  /** Drawn in the highlight colour (Sluice's own bars). */
  highlight?: boolean;
  /** Text after the bar (default the value, short). */
  text?: string;
}

export function barChart(title: string, unit: string, bars: Bar[], width = 640): string {
  const rowH = 24;
  const m = { l: 190, r: 90, t: 40, b: 30 };
  const H = m.t + m.b + bars.length * rowH;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const fx = (v: number) => (v / max) * (width - m.l - m.r);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" ${FONT} font-size="12">`);
  parts.push(`<rect width="${width}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`);
  bars.forEach((b, i) => {
    const y = m.t + i * rowH;
    parts.push(`<text x="${m.l - 8}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(`<rect x="${m.l}" y="${y + 4}" width="${Math.max(1, fx(b.value)).toFixed(1)}" height="${rowH - 8}" fill="${b.highlight ? '#1f77b4' : '#9e9e9e'}"/>`);
    parts.push(`<text x="${(m.l + Math.max(1, fx(b.value)) + 6).toFixed(1)}" y="${y + 16}">${esc(b.text ?? short(b.value))}</text>`);
  });
  parts.push(`<text x="${m.l}" y="${H - 8}" fill="#555">${esc(unit)}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}
