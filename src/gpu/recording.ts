// A step recorded once and replayed. While recording, the engine logs every dispatch (its pipeline,
// uniform bytes, bindings, workgroups) and every buffer the step acquires. The log then becomes a
// Replay: the step's own buffers are placed by liveness in a few arena buffers (llm.c plans its
// activations once in the same way), its uniforms in one buffer, and every bind group is created
// once. Replaying encodes the same dispatches with nothing allocated or packed; what changes from
// step to step (the learning rate, the step counter: uniform fields the ops mark with lrParam and
// stepParam) is patched into the uniform buffer, written once per step.
//
// Contract: a buffer the step did not acquire (parameters, momentum, the input batch) is bound as
// it is and must outlive the Replay; the caller names which (`externals`), and any other one makes
// the log unreplayable. A host read or write in the middle of the step does too (it cannot be
// replayed in order), as does a dispatch that the profiler splits.
import type { Kernel } from './kernel.js';
import type { StepParam } from './uniform.js';

/** A binding as recorded: a buffer the step acquired (virtual id ≥ 0) or an external one. */
export interface Slot {
  virtual: number;
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

export interface RecordedDispatch {
  kernel: Kernel;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  uniform: ArrayBuffer;
  /** Uniform fields that are the step's values, by 32-bit word. */
  perStep: Array<{ word: number; param: StepParam }>;
  slots: Slot[];
  workgroups: [number, number, number];
}

/** A dispatch ready to encode again: its pipeline, its bind group (made once) and its grid. */
export interface PreparedDispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
}

/** A buffer acquired during the recording: its size and the ops that first and last bind it. */
export interface Virtual {
  size: number;
  first: number;
  last: number;
}

/** What the engine logs while recording. `unreplayable` says why the log cannot be replayed. */
export class RecordingLog {
  readonly ops: RecordedDispatch[] = [];
  readonly virtuals: Virtual[] = [];
  private current = new Map<GPUBuffer, number>();
  unreplayable?: string;

  acquired(buf: GPUBuffer): void {
    this.current.set(buf, this.virtuals.length);
    this.virtuals.push({ size: buf.size, first: -1, last: -1 });
  }

  released(buf: GPUBuffer): void {
    this.current.delete(buf);
  }

  refuse(why: string): void {
    this.unreplayable ??= why;
  }

  slot(b: GPUBufferBinding): Slot {
    const offset = b.offset ?? 0;
    const virtual = this.current.get(b.buffer) ?? -1;
    if (virtual >= 0) {
      const v = this.virtuals[virtual];
      if (v.first < 0) v.first = this.ops.length;
      v.last = this.ops.length;
    }
    return { virtual, buffer: b.buffer, offset, size: b.size ?? b.buffer.size - offset };
  }

  /** The virtual id of a buffer acquired during the recording and still held (an output), or -1. */
  virtualOf(buf: GPUBuffer): number {
    return this.current.get(buf) ?? -1;
  }
}

/** Where each virtual buffer lives: arena k at a byte offset. */
export interface ArenaPlan {
  arenas: number[];
  place: Array<{ arena: number; offset: number } | undefined>;
  /** The most bytes of virtual buffers live at once: no plan can use less. */
  minimumBytes: number;
}

export const roundUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * Place virtual buffers with lifetimes [first, last] so that two that are live at once never
 * overlap: greedy by size, each at the lowest aligned offset free over its lifetime, in the first
 * arena (at most `maxArena` bytes) where it fits. The pairs in `apart` go to different arenas:
 * WebGPU refuses a buffer bound writable beside another binding of it in the same dispatch,
 * whatever the ranges (see conflicts()). Buffers never bound (first < 0) get no place.
 */
export function planArenas(
  virtuals: readonly Virtual[],
  align: number,
  maxArena: number,
  pairs: ReadonlyArray<readonly [number, number]> = [],
): ArenaPlan {
  const apart = virtuals.map(() => new Set<number>());
  for (const [a, b] of pairs) {
    apart[a].add(b);
    apart[b].add(a);
  }
  const bound = virtuals.map((v, id) => ({ ...v, id, bytes: roundUp(v.size, align) })).filter((v) => v.first >= 0);
  // greedy plans are orderings: try the usual few (largest, longest-lived, largest area first), keep the smallest
  const orders: Array<(a: Placing, b: Placing) => number> = [
    (a, b) => b.bytes - a.bytes || a.first - b.first,
    (a, b) => b.last - b.first - (a.last - a.first) || b.bytes - a.bytes,
    (a, b) => b.bytes * (b.last - b.first + 1) - a.bytes * (a.last - a.first + 1) || a.first - b.first,
    (a, b) => a.first - b.first || b.bytes - a.bytes,
    (a, b) => b.last - a.last || b.bytes - a.bytes,
  ];
  let best: Omit<ArenaPlan, 'minimumBytes'> | undefined;
  for (const order of orders)
    for (const leastGrowth of [false, true]) {
      const plan = greedy([...bound].sort(order), virtuals.length, apart, align, maxArena, leastGrowth);
      if (!best || total(plan.arenas) < total(best.arenas)) best = plan;
    }
  return { arenas: best!.arenas, place: best!.place, minimumBytes: peakLive(virtuals) };
}

interface Placing extends Virtual {
  id: number;
  bytes: number;
}

const total = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0);

function greedy(
  order: readonly Placing[],
  count: number,
  apart: ReadonlyArray<ReadonlySet<number>>,
  align: number,
  maxArena: number,
  leastGrowth: boolean,
): Omit<ArenaPlan, 'minimumBytes'> {
  const arenas: number[] = [];
  const placed: Array<Array<{ offset: number; end: number; first: number; last: number }>> = [];
  const members: Array<Set<number>> = [];
  const place: ArenaPlan['place'] = Array.from({ length: count }, () => undefined);
  for (const v of order) {
    // the first allowed arena it fits without growing past the cap, or (leastGrowth) the one it grows
    // least, a new arena growing by the whole buffer; ties go to the lowest offset
    let pick = { arena: arenas.length, offset: 0, growth: v.bytes };
    for (let a = 0; a < arenas.length && !(pick.arena < arenas.length && !leastGrowth); a++) {
      if ([...apart[v.id]].some((id) => members[a].has(id))) continue;
      const offset = lowestFit(placed[a], v, align);
      const growth = Math.max(0, offset + v.bytes - arenas[a]);
      const better = !leastGrowth || growth < pick.growth || (growth === pick.growth && offset < pick.offset);
      if (offset + v.bytes <= maxArena && better) pick = { arena: a, offset, growth };
    }
    if (pick.arena === arenas.length) {
      placed.push([]);
      members.push(new Set());
      arenas.push(0);
    }
    placed[pick.arena].push({ offset: pick.offset, end: pick.offset + v.bytes, first: v.first, last: v.last });
    members[pick.arena].add(v.id);
    arenas[pick.arena] = Math.max(arenas[pick.arena], pick.offset + v.bytes);
    place[v.id] = { arena: pick.arena, offset: pick.offset };
  }
  return { arenas, place };
}

function lowestFit(
  placed: ReadonlyArray<{ offset: number; end: number; first: number; last: number }>,
  v: { first: number; last: number; bytes: number },
  align: number,
): number {
  const clashing = placed.filter((p) => p.first <= v.last && v.first <= p.last).sort((a, b) => a.offset - b.offset);
  let offset = 0;
  for (const p of clashing) {
    if (offset + v.bytes <= p.offset) break;
    offset = Math.max(offset, roundUp(p.end, align));
  }
  return offset;
}

/** Pairs of virtual buffers one dispatch binds where at least one of the two is written. */
export function conflicts(ops: readonly RecordedDispatch[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const op of ops)
    op.slots.forEach((a, i) => {
      if (a.virtual < 0 || op.kernel.bindings[i + 1] !== 'storage') return;
      op.slots.forEach((b, j) => {
        if (j !== i && b.virtual >= 0 && b.virtual !== a.virtual) out.push([a.virtual, b.virtual]);
      });
    });
  return out;
}

/** The largest sum of sizes of virtual buffers live at the same op. */
export function peakLive(virtuals: readonly Virtual[]): number {
  const events: Array<[number, number]> = [];
  for (const v of virtuals) {
    if (v.first < 0) continue;
    events.push([v.first, v.size], [v.last + 1, -v.size]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let live = 0,
    peak = 0;
  for (const [, d] of events) {
    live += d;
    peak = Math.max(peak, live);
  }
  return peak;
}

/** The step's values that replaying patches into the uniforms. */
export interface StepValues {
  lr: number;
  step: number;
}

/** The 32-bit word a step value gives a marked uniform field (as lrParam/stepParam packed it). */
export function stepWord(param: StepParam, values: StepValues): { f32: number } | { u32: number } {
  return param.per === 'lr' ? { f32: param.scale * values.lr } : { u32: values.step >>> 0 };
}
