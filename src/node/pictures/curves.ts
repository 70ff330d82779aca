// Training curves as one PNG: a panel per series (loss per step, top-1/top-5 error per epoch,
// learning rate, accuracy vs wall time) with axes, ticks, grid and legend. NaN points break a line.
import { PALETTE, f1, svgDoc, text, writePng } from './svg.js';

export interface CurveLine {
  name: string;
  points: readonly (readonly [number, number])[];
}
export interface CurveSeries {
  title: string;
  xLabel: string;
  yLabel: string;
  lines: readonly CurveLine[];
  /** Logarithmic y axis (learning rate); ignored unless every finite y is > 0. */
  logY?: boolean;
}
export interface CurveOptions {
  columns?: number;
  panelWidth?: number;
  panelHeight?: number;
}

const M = { left: 74, right: 26, top: 34, bottom: 52 };

/** Write the curves as one PNG; returns its size. Empty series and non-finite values are drawn as gaps / "no data". */
export async function plotCurves(
  path: string,
  series: readonly CurveSeries[],
  opts: CurveOptions = {},
): Promise<{ width: number; height: number }> {
  const pw = opts.panelWidth ?? 560,
    ph = opts.panelHeight ?? 360;
  const list = series.length ? series : [{ title: 'no curves', xLabel: '', yLabel: '', lines: [] }];
  const cols = Math.max(1, Math.min(opts.columns ?? 2, list.length));
  const rows = Math.ceil(list.length / cols);
  const width = cols * pw,
    height = rows * ph;
  const body = list
    .map(
      (s, i) => `<g transform="translate(${(i % cols) * pw},${Math.floor(i / cols) * ph})">${panel(s, pw, ph, i)}</g>`,
    )
    .join('');
  await writePng(path, width, height, [{ input: svgDoc(width, height, body, '#ffffff'), top: 0, left: 0 }]);
  return { width, height };
}

function panel(s: CurveSeries, W: number, H: number, id: number): string {
  const w = W - M.left - M.right,
    h = H - M.top - M.bottom;
  const finite = s.lines.flatMap((l) => l.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const logY = !!s.logY && finite.length > 0 && finite.every(([, y]) => y > 0);
  const out: string[] = [
    text(W / 2, 22, s.title, 'font-size="15" font-weight="bold" text-anchor="middle"'),
    text(M.left + w / 2, H - 10, s.xLabel, 'font-size="12" text-anchor="middle"'),
    text(
      16,
      M.top + h / 2,
      s.yLabel,
      `font-size="12" text-anchor="middle" transform="rotate(-90 16 ${f1(M.top + h / 2)})"`,
    ),
  ];
  const frame = `<rect x="${M.left}" y="${M.top}" width="${w}" height="${h}" fill="none" stroke="#333" stroke-width="1"/>`;
  if (!finite.length) {
    out.push(frame, text(M.left + w / 2, M.top + h / 2, 'no data', 'font-size="14" fill="#888" text-anchor="middle"'));
    return out.join('');
  }
  const xs = finite.map((p) => p[0]),
    ys = finite.map((p) => (logY ? Math.log10(p[1]) : p[1]));
  const xa = axis(min(xs), max(xs), false, false);
  const ya = axis(min(ys), max(ys), true, logY);
  const X = (x: number) => M.left + ((x - xa.lo) / (xa.hi - xa.lo)) * w;
  const Y = (y: number) => M.top + h - (((logY ? Math.log10(y) : y) - ya.lo) / (ya.hi - ya.lo)) * h;

  for (const t of xa.ticks) {
    const x = X(t);
    out.push(
      `<line x1="${f1(x)}" y1="${M.top}" x2="${f1(x)}" y2="${M.top + h}" stroke="#e4e4e4"/>`,
      `<line x1="${f1(x)}" y1="${M.top + h}" x2="${f1(x)}" y2="${M.top + h + 5}" stroke="#333"/>`,
      text(x, M.top + h + 18, xa.label(t), 'font-size="11" text-anchor="middle"'),
    );
  }
  for (const t of ya.ticks) {
    const y = M.top + h - ((t - ya.lo) / (ya.hi - ya.lo)) * h;
    out.push(
      `<line x1="${M.left}" y1="${f1(y)}" x2="${M.left + w}" y2="${f1(y)}" stroke="#e4e4e4"/>`,
      `<line x1="${M.left - 5}" y1="${f1(y)}" x2="${M.left}" y2="${f1(y)}" stroke="#333"/>`,
      text(M.left - 8, y + 4, ya.label(t), 'font-size="11" text-anchor="end"'),
    );
  }
  // The clip reaches a marker's radius past the frame, so points on the edge stay whole.
  out.push(
    frame,
    `<clipPath id="c${id}"><rect x="${M.left - 4}" y="${M.top - 4}" width="${w + 8}" height="${h + 8}"/></clipPath><g clip-path="url(#c${id})">`,
  );
  s.lines.forEach((line, i) => {
    const color = PALETTE[i % PALETTE.length];
    const few = line.points.length <= 40; // epoch curves: mark each point
    for (const seg of segments(line.points, logY, w)) {
      const pts = seg.map(([x, y]) => `${f1(X(x))},${f1(Y(y))}`);
      if (seg.length > 1)
        out.push(
          `<polyline fill="none" stroke="${color}" stroke-width="1.6" stroke-linejoin="round" points="${pts.join(' ')}"/>`,
        );
      if (seg.length === 1 || few)
        for (const p of pts) {
          const [cx, cy] = p.split(',');
          out.push(`<circle cx="${cx}" cy="${cy}" r="2.6" fill="${color}"/>`);
        }
    }
  });
  out.push('</g>', legend(s.lines, M.left + w, M.top));
  return out.join('');
}

function legend(lines: readonly CurveLine[], right: number, top: number): string {
  if (!lines.length) return '';
  const names = lines.map((l) =>
    l.points.some(([x, y]) => Number.isFinite(x) && Number.isFinite(y)) ? l.name : `${l.name} (no data)`,
  );
  const bw = Math.min(260, 34 + 7 * Math.max(...names.map((n) => [...n].length))),
    bh = 8 + 17 * names.length;
  const x0 = right - bw - 6,
    y0 = top + 6;
  const rows = names.map((n, i) => {
    const y = y0 + 14 + 17 * i,
      c = PALETTE[i % PALETTE.length];
    return `<line x1="${x0 + 6}" y1="${y - 4}" x2="${x0 + 24}" y2="${y - 4}" stroke="${c}" stroke-width="2.5"/>${text(x0 + 29, y, n, 'font-size="11.5"')}`;
  });
  return `<rect x="${x0}" y="${y0}" width="${bw}" height="${bh}" fill="#fff" fill-opacity="0.85" stroke="#bbb"/>${rows.join('')}`;
}

// Runs of finite points; NaN/Infinity (and y <= 0 on a log axis) end a run. Long runs are thinned
// to the min and max of each pixel column, which keeps the envelope of a noisy loss curve.
function segments(points: readonly (readonly [number, number])[], logY: boolean, width: number): [number, number][][] {
  const runs: [number, number][][] = [];
  let cur: [number, number][] = [];
  for (const [x, y] of points) {
    if (Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)) cur.push([x, y]);
    else if (cur.length) {
      runs.push(cur);
      cur = [];
    }
  }
  if (cur.length) runs.push(cur);
  return runs.map((r) => (r.length > 4 * width ? thin(r, width) : r));
}

function thin(run: [number, number][], buckets: number): [number, number][] {
  const x0 = run[0][0],
    span = run[run.length - 1][0] - x0 || 1;
  const out: [number, number][] = [];
  let b = -1,
    lo: [number, number] | undefined,
    hi: [number, number] | undefined;
  const flush = () => {
    if (lo && hi) out.push(...(lo === hi ? [lo] : lo[0] <= hi[0] ? [lo, hi] : [hi, lo]));
  };
  for (const p of run) {
    const k = Math.floor(((p[0] - x0) / span) * buckets);
    if (k !== b) {
      flush();
      b = k;
      lo = hi = p;
      continue;
    }
    if (p[1] < lo![1]) lo = p;
    if (p[1] > hi![1]) hi = p;
  }
  flush();
  return out;
}

const min = (v: number[]) => v.reduce((a, b) => Math.min(b, a), Infinity);
const max = (v: number[]) => v.reduce((a, b) => Math.max(b, a), -Infinity);

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  label(v: number): string;
}

// Ticks at 1, 2 or 5 × 10^k. The y axis is widened to whole ticks; on a log axis ticks are decades.
function axis(lo: number, hi: number, expand: boolean, log: boolean): Axis {
  if (log) {
    let a = Math.floor(lo),
      b = Math.ceil(hi);
    if (a === b) {
      a -= 1;
      b += 1;
    }
    const step = Math.max(1, Math.ceil((b - a) / 6));
    const ticks: number[] = [];
    for (let t = a; t <= b; t += step) ticks.push(t);
    const plain = a >= -3 && b <= 4; // 0.001 … 10000 read best as decimals; beyond, all as 1eK
    return { lo: a, hi: b, ticks, label: (t) => (plain ? String(Number((10 ** t).toPrecision(3))) : `1e${t}`) };
  }
  if (lo === hi) {
    const d = Math.abs(lo) * 0.1 || 1;
    lo -= d;
    hi += d;
  }
  const step = nice((hi - lo) / 5);
  if (expand) {
    lo = Math.floor(lo / step) * step;
    hi = Math.ceil(hi / step) * step;
  }
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9 && ticks.length < 50; t += step)
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  // Steps and seconds run into the hundreds of thousands: 250k reads better than 250000.
  const top = Math.max(Math.abs(lo), Math.abs(hi));
  const [unit, suffix] = top >= 1e6 ? [1e6, 'M'] : top >= 1e4 ? [1e3, 'k'] : [1, ''];
  const digits = Math.max(0, -Math.floor(Math.log10(step / unit) + 1e-9));
  const exp = top >= 1e9 || digits > 4;
  return {
    lo,
    hi,
    ticks,
    label: (v) => (exp ? shortExp(v) : v === 0 ? '0' : `${(v / unit).toFixed(digits)}${suffix}`),
  };
}

function nice(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw)),
    f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

const shortExp = (v: number): string =>
  v === 0
    ? '0'
    : v
        .toExponential(2)
        .replace(/\.?0+e/, 'e')
        .replace('e+', 'e');
