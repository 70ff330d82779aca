// Shared pieces of the benchmark suite: the row record every bench produces, the printed table,
// the JSON entry (the shape of shared/peers/results/*.json, so shared/peers/report.mjs can show
// ours beside the peers), statistics, seeded data and the sampled comparison against the float64
// references of test/ref.
import { Tensor } from '../../src/tensor/tensor.js';
import type { Engine } from '../../src/gpu/engine.js';
import type { RunTimes } from './gpu_timer.js';

export const SYSTEM = 'alexnet-wgsl';

export type Unit = 'GFLOP/s' | 'GB/s' | 'img/s';

/** One measured line of the suite. */
export interface Row {
  /** Unique test name, e.g. 'tv.conv2 fwd b8' (what name filters match). */
  test: string;
  group: string;
  /** Timed runs, ms: GPU timestamps when timing is 'gpu', else wall time. */
  ms: number[];
  /** Wall time submit → done of the same runs (kernel rows with timestamps). */
  wallMs?: number[];
  timing: 'gpu-timestamp' | 'wall' | 'derived';
  unit: Unit;
  /** FLOPs, bytes or images per run. */
  work: number;
  /** Which roof the row is held against. */
  roof?: 'fma' | 'copy';
  note?: string;
  /** The peers' name of the same measurement ('conv2 fwd+bwd', 'alexnet train b32', ...). */
  alias?: string;
  /** Share of all CPUs other processes used during the timed runs (0..1; the machine is shared). */
  othersCpu?: number;
  extra?: Record<string, unknown>;
}

import { median } from '../../src/util/stats.js';

export { median };
export const min = (v: readonly number[]): number => Math.min(...v);
export const max = (v: readonly number[]): number => Math.max(...v);

/** Throughput of a row at its median (and at its slowest and fastest run). */
export function rate(r: Row, ms = median(r.ms)): number {
  return r.unit === 'img/s' ? (r.work / ms) * 1e3 : r.work / ms / 1e6; // GFLOP/s = FLOP/ms/1e6; GB/s = B/ms/1e6
}

/** Row from timer output: GPU timestamps when present, else wall time. */
export function fromTimes(t: RunTimes, base: Omit<Row, 'ms' | 'wallMs' | 'timing'>): Row {
  const gpu = t.gpuMs.length > 0;
  return {
    ...base,
    ms: gpu ? t.gpuMs : t.wallMs,
    wallMs: gpu ? t.wallMs : undefined,
    timing: gpu ? 'gpu-timestamp' : 'wall',
    othersCpu: t.othersCpu,
  };
}

const f3 = (x: number): string =>
  !Number.isFinite(x) ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
export const fmt = f3;

/** Best FMA variant (GFLOP/s), best copy variant (GB/s), and the probe's 8×vec4 FMA kernel. */
export interface Roofs {
  fma: number;
  copy: number;
  fmaProbe?: number;
}

export function roofPct(r: Row, roofs?: Roofs): number {
  if (!r.roof || !roofs) return NaN;
  return (100 * rate(r)) / roofs[r.roof];
}

/** Columns of the stdout table. */
export function header(): string {
  return `${'test'.padEnd(34)} ${'ms median'.padStart(10)} ${'(min–max)'.padStart(17)} ${'n'.padStart(2)} ${'rate'.padStart(9)} ${'unit'.padEnd(7)} ${'% roof'.padStart(7)} ${'others'.padStart(6)}  timing  note`;
}

export function line(r: Row, roofs?: Roofs): string {
  const pct = roofPct(r, roofs);
  const timing = r.timing === 'gpu-timestamp' ? 'gpu   ' : r.timing === 'wall' ? 'wall  ' : 'sum   ';
  return (
    `${r.test.padEnd(34)} ${f3(median(r.ms)).padStart(10)} ${`(${f3(min(r.ms))}–${f3(max(r.ms))})`.padStart(17)} ${String(r.ms.length).padStart(2)} ` +
    `${f3(rate(r)).padStart(9)} ${r.unit.padEnd(7)} ${(Number.isFinite(pct) ? `${pct.toFixed(0)}%` : '').padStart(7)} ${busy(r).padStart(6)}  ${timing}  ${r.note ?? ''}`
  );
}

/** Other processes' share of the CPUs during the row's runs, e.g. '35%'. */
const busy = (r: Row): string =>
  r.othersCpu !== undefined && Number.isFinite(r.othersCpu) ? `${(100 * r.othersCpu).toFixed(0)}%` : '';

/** Markdown row for bench/RESULTS.md (same columns as the stdout table). */
export function mdLine(r: Row, roofs?: Roofs): string {
  const pct = roofPct(r, roofs);
  return `| ${r.test} | ${f3(median(r.ms))} (${f3(min(r.ms))}–${f3(max(r.ms))}) | ${r.ms.length} | **${f3(rate(r))}** ${r.unit} | ${Number.isFinite(pct) ? `${pct.toFixed(0)}%` : ''} | ${busy(r)} | ${r.timing} | ${r.note ?? ''} |`;
}
export const mdHeader =
  "| test | ms median (min–max) | n | rate | % of roof | others' CPU | timing | note |\n|---|---|---|---|---|---|---|---|";

/** JSON entry in the peers' results shape (plus our own fields). */
export function jsonEntry(r: Row, cmd: string, roofs?: Roofs, test = r.test): Record<string, unknown> {
  const e: Record<string, unknown> = {
    system: SYSTEM,
    test,
    ms: r.ms,
    median: median(r.ms),
    min: min(r.ms),
    max: max(r.ms),
  };
  if (r.unit === 'GFLOP/s')
    Object.assign(e, {
      flops: r.work,
      gflops: rate(r),
      gflops_min: rate(r, max(r.ms)),
      gflops_max: rate(r, min(r.ms)),
    });
  if (r.unit === 'GB/s')
    Object.assign(e, { bytes: r.work, gbs: rate(r), gbs_min: rate(r, max(r.ms)), gbs_max: rate(r, min(r.ms)) });
  if (r.unit === 'img/s')
    Object.assign(e, {
      images: r.work,
      images_per_s: rate(r),
      images_per_s_min: rate(r, max(r.ms)),
      images_per_s_max: rate(r, min(r.ms)),
    });
  const pct = roofPct(r, roofs);
  if (Number.isFinite(pct)) e.roof_pct = pct;
  if (r.roof === 'fma' && roofs?.fmaProbe) e.roof_pct_probe_kernel = (100 * rate(r)) / roofs.fmaProbe;
  e.timing = r.timing;
  if (r.othersCpu !== undefined && Number.isFinite(r.othersCpu)) e.others_cpu_share = r.othersCpu;
  if (r.wallMs) e.wall_ms = r.wallMs;
  if (r.extra) Object.assign(e, r.extra);
  e.note =
    [
      r.note,
      r.timing === 'gpu-timestamp'
        ? 'GPU timestamps around one pass'
        : r.timing === 'derived'
          ? 'derived from the rows above'
          : undefined,
    ]
      .filter(Boolean)
      .join('; ') || undefined;
  e.cmd = cmd;
  e.date = new Date().toISOString();
  return e;
}

// ---------------------------------------------------------------------------------------------
// data and checks

/** Seeded uniform floats in [lo, hi) (an LCG: fast for the 10⁸ values the big shapes need). */
export function random(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = (seed * 2654435761) >>> 0;
  const out = new Float32Array(n);
  const k = (hi - lo) / 16777216;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (s >>> 8) * k;
  }
  return out;
}

export const upload = (e: Engine, data: Float32Array | Int32Array, shape: readonly number[], name: string): Tensor =>
  new Tensor(e, shape, data instanceof Int32Array ? 'i32' : 'f32', { name }).write(data);

/**
 * Compare GPU values with float64 reference values at the same positions: |got − want| ≤
 * tol·max(1, max|want|) for every position (a scale-relative bound, since sums of thousands of
 * products carry absolute float32 error). Throws with the worst position; returns the worst error
 * relative to that scale.
 */
export function checkClose(label: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): number {
  if (got.length !== want.length) throw new Error(`${label}: ${got.length} values, reference has ${want.length}`);
  let scale = 1;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let worst = 0,
    at = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  if (!(worst <= tol * scale)) {
    throw new Error(
      `validation failed: ${label}: |got − ref| = ${worst} at ${at} (got ${got[at]}, ref ${want[at]}), allowed ${tol} × ${scale}`,
    );
  }
  return worst / scale;
}

/** Parsed command line: positional name filters and --flags (--k=v, --k v, --k). */
export interface Args {
  filters: string[];
  flags: Record<string, string>;
}

export function parseArgs(argv: string[], valued: string[]): Args {
  const filters: string[] = [],
    flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const [k, v] = a.slice(2).split(/=(.*)/s);
      if (v !== undefined) flags[k] = v;
      else if (valued.includes(k) && i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags[k] = argv[++i];
      else flags[k] = 'true';
    } else filters.push(a);
  }
  return { filters, flags };
}

/** True when `name` is selected by the filters (none: everything; else any substring, case-insensitive). */
export function selected(name: string, filters: readonly string[]): boolean {
  if (filters.length === 0) return true;
  const n = name.toLowerCase();
  return filters.some((f) => n.includes(f.toLowerCase()));
}

/** Collects rows, prints each as it lands, and keeps the roofs for the % column. */
export class Report {
  rows: Row[] = [];
  roofs?: Roofs;
  private printedHeader = false;
  constructor(
    readonly cmd: string,
    private out: (s: string) => void = (s) => console.log(s),
  ) {}

  section(title: string): void {
    this.out(`\n## ${title}`);
    this.printedHeader = false;
  }

  note(s: string): void {
    this.out(s);
  }

  add(r: Row): Row {
    if (!this.printedHeader) {
      this.out(header());
      this.printedHeader = true;
    }
    this.rows.push(r);
    this.out(line(r, this.roofs));
    return r;
  }

  find(test: string): Row | undefined {
    return this.rows.find((r) => r.test === test);
  }
}
