// Numerics monitor: flags NaN/Inf in tensors on the GPU (one tiny kernel per tensor, one small
// read per step) and names the first watched tensor that went bad, in the order they were watched.
// The trainer watches the input, the loss and every gradient each step; a tape given the monitor
// also watches every op's output and every gradient it produces (debugging, --check-numerics).
import type { Engine } from '../gpu/engine.js';
import { defineKernel } from '../gpu/kernel.js';
import { dispatchChunked } from './chunked.js';
import { fill } from './elementwise.js';
import { Tensor } from './tensor.js';
import nonfiniteWgsl from '../../kernels/nonfinite.wgsl';

const kernel = defineKernel('nonfinite', nonfiniteWgsl);

export interface BadTensor {
  /** What was watched, e.g. 'loss', 'gradient of conv3.weight', 'conv2 (lrn) output'. */
  label: string;
  /** Position among the tensors watched since reset() (0: the first). */
  index: number;
  kind: 'NaN' | 'Inf' | 'NaN and Inf';
  /** Watched tensors that were non-finite in all (this one included). */
  count: number;
}

/** Watches made by a step: their labels in order, and how many the capacity dropped. */
export interface Watches {
  labels: string[];
  dropped: number;
}

export class NumericsMonitor {
  private flags: Tensor;
  private labels: string[] = [];
  /** Watches dropped because the capacity was reached since reset(). */
  dropped = 0;

  constructor(
    readonly engine: Engine,
    readonly capacity = 1024,
  ) {
    this.flags = new Tensor(engine, [capacity], 'u32', { name: 'numerics.flags' });
    fill(this.flags, 0);
  }

  /** Start a new round (a step): forget the watched tensors and clear their flags on the GPU. */
  reset(): void {
    if (this.labels.length) fill(this.flags, 0);
    this.labels = [];
    this.dropped = 0;
  }

  /** Flag t's NaN/Inf values under `label` (encoded into the current batch; f32 tensors only). */
  watch(t: Tensor, label: string): void {
    if (t.dtype !== 'f32' || t.size === 0) return;
    if (this.labels.length >= this.capacity) {
      this.dropped++;
      return;
    }
    const slot = this.labels.length;
    this.labels.push(label);
    const flags = this.flags.binding();
    dispatchChunked(t, {
      kernel,
      params: (c) => ({ n: c.count, slot }),
      buffers: (c) => [t.bindingVec4(c.start, c.count), flags],
      perInvocation: 4,
    });
  }

  /** Where the watches stand, to replay a recorded step's watches (src/train/recorded_step.ts). */
  mark(): { watched: number; dropped: number } {
    return { watched: this.labels.length, dropped: this.dropped };
  }

  /** The watches since `m`: their labels, and how many were dropped. */
  since(m: { watched: number; dropped: number }): Watches {
    return { labels: this.labels.slice(m.watched), dropped: this.dropped - m.dropped };
  }

  /** A replayed step made these watches (its dispatches are in the recording): take their labels. */
  replayed(w: Watches): void {
    this.labels.push(...w.labels);
    this.dropped += w.dropped;
  }

  /** The flags' buffer, which a recorded step binds. */
  get buffer(): GPUBuffer {
    return this.flags.buffer;
  }

  /** Number of tensors watched since reset(). */
  get watched(): number {
    return this.labels.length;
  }

  /** Read the flags (submits pending work): the first non-finite watched tensor, or undefined. */
  async firstBad(): Promise<BadTensor | undefined> {
    const labels = [...this.labels]; // the watches of now: a reset() meanwhile (the next step) must not rename them
    const n = labels.length;
    if (n === 0) return undefined;
    const flags = new Uint32Array(await this.engine.readBuffer(this.flags.buffer, 0, 4 * n));
    const index = flags.findIndex((f) => f !== 0);
    if (index < 0) return undefined;
    const f = flags[index];
    return {
      label: labels[index],
      index,
      kind: f === 1 ? 'NaN' : f === 2 ? 'Inf' : 'NaN and Inf',
      count: flags.filter((x) => x !== 0).length,
    };
  }

  dispose(): void {
    this.flags.dispose();
    this.labels = [];
  }
}

/** First non-finite value of a host array: its index and value, or undefined. */
export function firstNonFinite(a: ArrayLike<number>): { index: number; value: number } | undefined {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return { index: i, value: a[i] };
  return undefined;
}
