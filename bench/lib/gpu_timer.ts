// Kernel timing for the benches, outside the engine: an op's dispatches are captured (not encoded)
// while the op runs, then replayed into ONE compute pass of our own with timestampWrites at its
// beginning and end (a query set on the raw GPUDevice, engine.device), as often as needed. Each
// replay is its own submit, so the same run also gives the wall time submit → onSubmittedWorkDone.
// Without the 'timestamp-query' feature only the wall time is reported.
//
// Capturing works by shadowing engine.dispatch on the instance for the duration of a callback;
// the tensors the op allocates stay valid (their buffers are what the replay binds). Buffers an op
// frees inside the callback stay parked in the pool until the engine's next submit, so nothing
// captured is handed out again while the capture lasts; callers finish timing a capture before
// running other ops.
import { readFileSync } from 'node:fs';
import type { Dispatch, Engine } from '../../src/gpu/engine.js';
import { packUniform } from '../../src/gpu/uniform.js';
import { BufferUsage, MapMode } from '../../src/gpu/usage.js';

// ---------------------------------------------------------------------------------------------
// other processes on the CPUs (the machine is shared; lavapipe's threads are ours)

interface CpuSample {
  total: number;
  busy: number;
  self: number;
}

/** The fields of a /proc/<pid>/stat file after the command name (utime is [11], stime [12]). */
const statFields = (path: string): string[] => {
  const stat = readFileSync(path, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
};

/** CPU time of this process's main thread (its task has the process id), ms at 100 ticks/s. */
export function mainThreadCpuMs(): number {
  const f = statFields(`/proc/self/task/${process.pid}/stat`);
  return 10 * (Number(f[11]) + Number(f[12]));
}

/** /proc/stat totals and this process's CPU ticks (lavapipe's worker threads included, and the
 *  children it has waited for: a peer harness counts as ours once it has exited). */
export function cpuSample(): CpuSample | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const g = statFields('/proc/self/stat');
    return { total, busy: total - f[3] - f[4], self: Number(g[11]) + Number(g[12]) + Number(g[13]) + Number(g[14]) };
  } catch {
    return undefined;
  }
}

/** Share of all CPUs other processes used between two samples (0..1), NaN if unknown. */
export function othersShare(a?: CpuSample, b?: CpuSample): number {
  if (!a || !b || b.total <= a.total) return NaN;
  return Math.max(0, (b.busy - a.busy - (b.self - a.self)) / (b.total - a.total));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait (at most maxS seconds) until other processes leave ≥ 90% of the CPUs idle; returns seconds waited. */
export async function waitIdle(maxS: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < maxS * 1000) {
    const a = cpuSample();
    await sleep(300);
    const share = othersShare(a, cpuSample());
    if (!(share > 0.1)) break;
  }
  return (performance.now() - t0) / 1000;
}

export interface Capture<T> {
  result: T;
  dispatches: Dispatch[];
}

/** Run `f` with the engine's dispatches recorded instead of encoded. */
export function capture<T>(e: Engine, f: () => T): Capture<T> {
  e.flush(); // nothing of ours may be pending in the engine's batch
  const dispatches: Dispatch[] = [];
  const inst = e as unknown as Record<string, unknown>;
  inst.dispatch = (d: Dispatch) => {
    e.check();
    dispatches.push(d);
  };
  inst.copy = () => {
    throw new Error('bench capture: the op copies buffers; copies cannot be replayed in one compute pass');
  };
  try {
    return { result: f(), dispatches };
  } finally {
    delete inst.dispatch;
    delete inst.copy;
  }
}

export interface RunTimes {
  /** GPU time between the pass's two timestamps, ms (empty without timestamp queries). */
  gpuMs: number[];
  /** Wall time from submit to onSubmittedWorkDone, ms. */
  wallMs: number[];
  /** Share of all CPUs that other processes used during the timed runs (0..1, NaN if unknown). */
  othersCpu: number;
}

/** A captured dispatch sequence, ready to be encoded into passes again and again. */
export class Replay {
  private steps: Array<{ pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; wg: [number, number, number] }> = [];
  private uniforms: GPUBuffer[] = [];
  readonly count: number;

  constructor(e: Engine, dispatches: Dispatch[]) {
    const device = e.device;
    for (const d of dispatches) {
      const pipeline = e.pipelines.get(d.kernel, d.overrides);
      const { data } = packUniform(d.kernel, d.params);
      const uniform = device.createBuffer({ size: data.byteLength, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
      device.queue.writeBuffer(uniform, 0, data);
      this.uniforms.push(uniform);
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
      d.buffers.forEach((resource, i) => entries.push({ binding: i + 1, resource }));
      const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      const [x, y = 1, z = 1] = d.workgroups;
      this.steps.push({ pipeline, bindGroup, wg: [x, y, z] });
    }
    this.count = dispatches.length;
  }

  encode(pass: GPUComputePassEncoder): void {
    for (const s of this.steps) {
      if (!(s.wg[0] > 0 && s.wg[1] > 0 && s.wg[2] > 0)) continue;
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.bindGroup);
      pass.dispatchWorkgroups(...s.wg);
    }
  }

  dispose(): void {
    this.uniforms.forEach((u) => u.destroy());
    this.uniforms = [];
    this.steps = [];
  }
}

/** Times replays of captured sequences with timestamp queries (when the device has them). */
export class GpuTimer {
  readonly timestamps: boolean;
  private querySet?: GPUQuerySet;
  private resolve?: GPUBuffer;
  private readback?: GPUBuffer;

  /** Before each timed run, wait up to this many seconds for the other processes to go quiet. */
  waitIdleS = 0;

  constructor(
    private e: Engine,
    opts: { forceWall?: boolean } = {},
  ) {
    this.timestamps = !opts.forceWall && e.device.features.has('timestamp-query');
    if (this.timestamps) {
      const device = e.device;
      this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
      this.resolve = device.createBuffer({ size: 16, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
      this.readback = device.createBuffer({ size: 16, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    }
  }

  /** Encode `encode` into one pass, submit, wait; returns [gpu ms or NaN, wall ms]. */
  async runOnce(encode: (pass: GPUComputePassEncoder) => void): Promise<[number, number]> {
    const device = this.e.device;
    device.pushErrorScope('validation');
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass(
      this.timestamps
        ? { timestampWrites: { querySet: this.querySet!, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } }
        : {},
    );
    encode(pass);
    pass.end();
    if (this.timestamps) {
      enc.resolveQuerySet(this.querySet!, 0, 2, this.resolve!, 0);
      enc.copyBufferToBuffer(this.resolve!, 0, this.readback!, 0, 16);
    }
    const cmd = enc.finish();
    const t0 = performance.now();
    device.queue.submit([cmd]);
    await device.queue.onSubmittedWorkDone();
    const wall = performance.now() - t0;
    const err = await device.popErrorScope();
    if (err) throw new Error(`bench replay: WebGPU validation error: ${err.message}`);
    let gpu = NaN;
    if (this.timestamps) {
      await this.readback!.mapAsync(MapMode.READ);
      const t = new BigUint64Array(this.readback!.getMappedRange().slice(0));
      this.readback!.unmap();
      gpu = Number(t[1] - t[0]) / 1e6;
    }
    return [gpu, wall];
  }

  /** `warmup` untimed runs then `reps` timed runs of the replay. */
  async time(r: Replay | ((pass: GPUComputePassEncoder) => void), reps: number, warmup = 1): Promise<RunTimes> {
    const encode = r instanceof Replay ? (p: GPUComputePassEncoder) => r.encode(p) : r;
    const out: RunTimes = { gpuMs: [], wallMs: [], othersCpu: NaN };
    let busy = 0,
      all = 0;
    for (let i = 0; i < warmup + reps; i++) {
      if (i >= warmup && this.waitIdleS > 0) await waitIdle(this.waitIdleS);
      const a = cpuSample();
      const [g, w] = await this.runOnce(encode);
      const b = cpuSample();
      if (i < warmup) continue;
      if (this.timestamps) out.gpuMs.push(g);
      out.wallMs.push(w);
      if (a && b) {
        busy += othersShare(a, b) * (b.total - a.total);
        all += b.total - a.total;
      }
    }
    out.othersCpu = all > 0 ? busy / all : NaN;
    return out;
  }

  dispose(): void {
    this.querySet?.destroy();
    this.resolve?.destroy();
    this.readback?.destroy();
  }
}
