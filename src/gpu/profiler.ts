// Per-dispatch GPU timing with timestamp queries: while a profile is running, every dispatch gets
// its own compute pass whose beginning and end write timestamps. Each submitted batch resolves its
// queries into a buffer that is read back when the profile stops (no CPU round trip per op).
import { AlexnetError } from '../errors.js';
import { BufferUsage, MapMode } from './usage.js';

export interface ProfileEntry {
  /** Kernel that ran (e.g. conv2d_fwd). */
  kernel: string;
  /** What it belonged to: the scope it was encoded in (e.g. 'conv2', 'conv2 backward'). */
  label: string;
  ms: number;
}

const CAPACITY = 4096; // queries per batch (2 per dispatch)

export class Profiler {
  private set?: GPUQuerySet;
  private batch: Array<{ kernel: string; label: string }> = [];
  private readbacks: Array<() => Promise<ProfileEntry[]>> = [];

  constructor(private device: GPUDevice) {
    if (!device.features.has('timestamp-query')) {
      throw new AlexnetError('profiling needs the adapter feature timestamp-query, which this adapter lacks');
    }
  }

  /** Timestamp writes for the next dispatch, or undefined when this batch's query set is full. */
  next(kernel: string, label: string): GPUComputePassTimestampWrites | undefined {
    if (this.batch.length * 2 >= CAPACITY) return undefined;
    this.set ??= this.device.createQuerySet({ type: 'timestamp', count: CAPACITY });
    const i = this.batch.length * 2;
    this.batch.push({ kernel, label });
    return { querySet: this.set, beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 };
  }

  get full(): boolean {
    return this.batch.length * 2 >= CAPACITY;
  }

  /** Called before a batch's encoder is finished: resolve its queries into a readable buffer. */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.batch.length || !this.set) return;
    const n = this.batch.length * 2,
      bytes = n * 8;
    const resolved = this.device.createBuffer({ size: bytes, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
    const staging = this.device.createBuffer({ size: bytes, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    encoder.resolveQuerySet(this.set, 0, n, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, staging, 0, bytes);
    const batch = this.batch,
      set = this.set;
    this.batch = [];
    this.set = undefined; // the next batch writes a fresh set; this one is read after submit
    // mapped only after the submit that fills it (results())
    this.readbacks.push(async () => {
      await staging.mapAsync(MapMode.READ);
      const t = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.destroy();
      resolved.destroy();
      set.destroy();
      return batch.map((b, k) => ({ ...b, ms: Number(t[2 * k + 1] - t[2 * k]) / 1e6 }));
    });
  }

  /** All entries of the submitted batches, in dispatch order. */
  async results(): Promise<ProfileEntry[]> {
    return (await Promise.all(this.readbacks.map((r) => r()))).flat();
  }
}
