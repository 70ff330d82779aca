// The engine owns one Dawn device: it requests the adapter's own limits and useful features,
// batches every dispatch of a step into one command encoder / compute pass, recycles buffers
// only after the work that used them was submitted, and turns every device error (validation,
// out-of-memory, shader compile, device loss) into a typed exception at the next sync point.
import { create, globals } from 'webgpu';
import { AdapterError, DeviceError, DisposedError, LimitError, ShaderError } from '../errors.js';
import { BufferPool, type PoolCounters } from './buffers.js';
import { PipelineCache, type Kernel, type Overrides } from './pipelines.js';
import type { Tape } from '../tape.js';
import { Profiler, type ProfileEntry } from './profiler.js';

// GPUBufferUsage & co. are globals in browsers; dawn.node hands them out instead.
// Installing them does not touch `navigator`, so nothing keeps the process alive.
for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) (globalThis as any)[k] = v;

export interface EngineOptions {
  /** Adapter preference (default 'high-performance'). */
  powerPreference?: GPUPowerPreference;
  /** Extra Dawn flags for `create()`, e.g. ['backend=vulkan', 'adapter=NAME']. */
  dawnFlags?: string[];
  /** Refuse to allocate beyond this many bytes of device memory (default: no budget of our own). */
  memoryLimitBytes?: number;
  /** Cap requested device limits below the adapter's (tests use it to force chunked bindings). */
  limits?: Partial<Record<string, number>>;
  /** Dispatches per submit before the batch is flushed by itself (default 256). */
  maxDispatchesPerSubmit?: number;
}

export interface EngineInfo {
  adapter: { vendor: string; architecture: string; device: string; description: string };
  /** True for CPU implementations of Vulkan (lavapipe, SwiftShader). */
  software: boolean;
  limits: Record<string, number>;
  features: string[];
}

/** A scalar parameter packed into a kernel's uniform block: plain numbers are u32/i32. */
export type Param = number | { f32: number };
export const f32 = (x: number): Param => ({ f32: x });

export interface Dispatch {
  kernel: Kernel;
  overrides?: Overrides;
  params: Param[];
  /** Storage bindings 1..n in order (binding 0 is the uniform block). */
  buffers: GPUBufferBinding[];
  workgroups: [number, number?, number?];
}

const WANTED_FEATURES: GPUFeatureName[] = ['timestamp-query', 'shader-f16', 'subgroups' as GPUFeatureName];
const LAVAPIPE_HELP = `No WebGPU adapter was found. Install a GPU driver with Vulkan support, or Mesa's software
Vulkan driver (lavapipe) on Debian 12:
  awk 'BEGIN{RS="";ORS="\\n\\n"} NR==1' /etc/apt/sources.list.d/debian.sources \\
    | sed 's/^Suites:.*/Suites: bookworm-backports/' > /etc/apt/sources.list.d/backports.sources
  apt-get update && apt-get install -y --no-install-recommends libvulkan1 && \\
    apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers`;

/** Acquire an adapter and device. Throws AdapterError (with set-up instructions) if there is none. */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  process.env.XDG_RUNTIME_DIR ??= '/tmp'; // silences a harmless lavapipe warning
  let gpu: GPU | undefined = create(options.dawnFlags ?? []);
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
    if (!adapter) throw new AdapterError(LAVAPIPE_HELP);
    const requiredLimits: Record<string, number> = {};
    for (const key in adapter.limits) {
      const v = (adapter.limits as any)[key];
      if (typeof v === 'number') requiredLimits[key] = Math.min(v, options.limits?.[key] ?? v);
    }
    const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
    const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    const engine = new Engine(gpu, adapter, device, options);
    gpu = undefined;
    return engine;
  } catch (e) {
    if (e instanceof AdapterError) throw e;
    throw new AdapterError(`could not create a WebGPU device: ${(e as Error).message}\n${LAVAPIPE_HELP}`);
  } finally {
    if (gpu) retired.push(gpu); // failed: park the instance (see Engine.dispose)
  }
}

const retired: GPU[] = [];

export class Engine {
  readonly device: GPUDevice;
  readonly limits: GPUSupportedLimits;
  readonly features: ReadonlySet<string>;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  /** Elements of f32 that fit one storage binding (lavapipe: 128 MiB / 4). */
  readonly maxBindingElems: number;
  private gpu?: GPU;
  private adapterInfo: GPUAdapterInfo;
  private encoder?: GPUCommandEncoder;
  private pass?: GPUComputePassEncoder;
  private dispatches = 0;
  private checks: Promise<Error | null>[] = [];
  private failure?: Error;
  private disposed = false;
  private maxPerSubmit: number;
  private memoryLimit: number;
  /** The tape ops record onto (set by record(), cleared by tape.dispose()). */
  tape?: Tape;
  /** What the ops being encoded belong to (a layer name); profiles group dispatches by it. */
  label = '';
  private profiler?: Profiler;
  /** Submits so far (a step should need one or a few). */
  submits = 0;
  /** Dispatches encoded so far. */
  dispatchCount = 0;

  constructor(gpu: GPU, adapter: GPUAdapter, device: GPUDevice, private options: EngineOptions) {
    this.gpu = gpu;
    this.device = device;
    this.adapterInfo = adapter.info;
    this.limits = device.limits;
    this.features = new Set([...device.features] as string[]);
    this.maxPerSubmit = options.maxDispatchesPerSubmit ?? 256;
    this.memoryLimit = options.memoryLimitBytes ?? Infinity;
    // Dawn raises requests below the WebGPU defaults back to them, so a cap asked for in the options
    // (tests of the chunked paths) is enforced here rather than by the device.
    const binding = Math.min(device.limits.maxStorageBufferBindingSize, options.limits?.maxStorageBufferBindingSize ?? Infinity);
    this.maxBindingElems = Math.floor(binding / 4);
    this.pool = new BufferPool(device, (bytes) => this.checkAllocation(bytes));
    this.pipelines = new PipelineCache(device, (c) => this.checks.push(c));
    device.addEventListener('uncapturederror', (ev: Event) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.failure ??= new DeviceError(`uncaptured WebGPU error: ${e.message}`);
    });
    device.lost.then((info) => {
      if (!this.disposed) this.failure ??= new DeviceError(`WebGPU device lost (${info.reason}): ${info.message}`);
    });
  }

  info(): EngineInfo {
    const a = this.adapterInfo;
    const limits: Record<string, number> = {};
    for (const key in this.limits) {
      const v = (this.limits as any)[key];
      if (typeof v === 'number') limits[key] = v;
    }
    const text = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`.toLowerCase();
    const software = /llvmpipe|lavapipe|swiftshader|software/.test(text) || a.vendor === 'mesa' && /cpu/.test(text);
    return {
      adapter: { vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description },
      software, limits, features: [...this.features].sort(),
    };
  }

  /** Throws if the engine was disposed or the device failed. */
  check(): void {
    if (this.disposed) throw new DisposedError('engine was disposed');
    if (this.failure) throw this.failure;
  }

  get counters(): PoolCounters {
    return this.pool.counters;
  }

  private checkAllocation(bytes: number): void {
    if (bytes > this.limits.maxBufferSize) {
      throw new LimitError(`a buffer of ${bytes} bytes exceeds the device's maxBufferSize (${this.limits.maxBufferSize} bytes)`);
    }
    if (this.pool.counters.bytesAllocated + bytes > this.memoryLimit) {
      throw new LimitError(`allocating ${bytes} bytes would exceed the memory budget of ${this.memoryLimit} bytes ` +
        `(${this.pool.counters.bytesAllocated} allocated)`);
    }
  }

  /** Pooled storage buffer of at least `bytes`. */
  acquire(bytes: number): GPUBuffer {
    this.check();
    return this.pool.acquire(bytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
  }

  release(buf: GPUBuffer): void {
    if (!this.disposed) this.pool.release(buf);
  }

  private beginBatch(): GPUCommandEncoder {
    if (!this.encoder) {
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.beginBatch().beginComputePass();
    return this.pass;
  }

  /** Encode one dispatch into the current batch. Nothing runs until flush()/read(). */
  dispatch(d: Dispatch): void {
    this.check();
    this.beginBatch(); // open the error scopes before anything can fail validation
    const pipeline = this.pipelines.get(d.kernel, d.overrides);
    const uniform = this.uniform(d.params);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
    d.buffers.forEach((resource, i) => entries.push({ binding: i + 1, resource }));
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.profiler ? this.timedPass(d.kernel.name) : this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = d.workgroups;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new LimitError(`${d.kernel.name}: dispatch ${x}x${y}x${z} exceeds ${max} workgroups per dimension`);
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    this.pool.release(uniform); // parked until submit
    if (this.profiler) this.endPass();
    this.dispatchCount++;
    if (++this.dispatches >= this.maxPerSubmit) this.flush();
  }

  private uniform(params: Param[]): GPUBuffer {
    const n = Math.max(4, Math.ceil(params.length / 4) * 4);
    const data = new ArrayBuffer(n * 4);
    const u = new Uint32Array(data), i = new Int32Array(data), f = new Float32Array(data);
    params.forEach((p, k) => {
      if (typeof p === 'number') {
        if (!Number.isInteger(p)) throw new TypeError(`uniform ${k} = ${p} is not an integer; wrap floats with f32()`);
        if (p < 0) i[k] = p; else u[k] = p;
      } else f[k] = p.f32;
    });
    const buf = this.pool.acquire(data.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    this.device.queue.writeBuffer(buf, 0, data);
    return buf;
  }

  /** A compute pass of its own for one profiled dispatch, with timestamps at its start and end. */
  private timedPass(kernel: string): GPUComputePassEncoder {
    this.endPass();
    if (this.profiler!.full) this.flush();
    const timestampWrites = this.profiler!.next(kernel, this.label);
    this.pass = this.beginBatch().beginComputePass({ timestampWrites });
    return this.pass;
  }

  /** Time every dispatch from now on (needs the timestamp-query feature). */
  startProfile(): void {
    this.check();
    this.flush();
    this.profiler = new Profiler(this.device);
  }

  /** Stop timing; returns each dispatch since startProfile() with its GPU time. */
  async stopProfile(): Promise<ProfileEntry[]> {
    const p = this.profiler;
    if (!p) return [];
    this.flush();
    this.profiler = undefined;
    const entries = await p.results();
    await this.sync();
    return entries;
  }

  /** Copy bytes between buffers inside the current batch. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.check();
    this.endPass();
    this.beginBatch().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }

  /** Submit everything encoded so far; buffers released before now become reusable. */
  flush(): void {
    if (!this.encoder || this.disposed) return;
    this.endPass();
    this.profiler?.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = undefined;
    this.dispatches = 0;
    this.submits++;
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    this.checks.push(validation.then((e) => (e ? new DeviceError(`WebGPU validation error: ${e.message}`) : null)));
    this.checks.push(oom.then((e) => (e ? new LimitError(`device out of memory: ${e.message}`) : null)));
    this.pool.afterSubmit();
  }

  /** Submit and wait until the device is idle; throws the first device error since the last sync. */
  async sync(): Promise<void> {
    this.check();
    this.flush();
    await this.device.queue.onSubmittedWorkDone().catch((e) => this.lostWhileWaiting(e));
    await this.throwPending();
  }

  private async throwPending(): Promise<void> {
    const checks = this.checks;
    this.checks = [];
    const errors = (await Promise.all(checks)).filter((e): e is Error => e !== null);
    if (errors.length) {
      // a compile error explains the validation errors that follow from it: report it first
      const first = errors.find((e) => e instanceof ShaderError) ?? errors[0];
      this.failure ??= first; // a failed batch may have written garbage: refuse further work
      throw first;
    }
    this.check();
  }

  /** Read `bytes` bytes of a buffer back to the CPU (submits pending work first). */
  async readBuffer(src: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    this.check();
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.pool.acquire(size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    this.copy(src, offset, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, size).catch((e) => this.lostWhileWaiting(e));
      const out = staging.getMappedRange(0, size).slice(0, bytes);
      staging.unmap();
      await this.throwPending();
      return out;
    } finally {
      this.pool.release(staging); // reusable after the next submit
    }
  }

  // A pending map rejects with a bare DOMException when the device is lost meanwhile; the lost
  // promise, settled within a tick or so, says why: wait for it briefly and throw that, typed.
  private async lostWhileWaiting(err: unknown): Promise<never> {
    if (this.disposed) throw new DisposedError('engine was disposed while a read was pending');
    const info = await new Promise<GPUDeviceLostInfo | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 200);
      this.device.lost.then((i) => { clearTimeout(timer); resolve(i); });
    });
    const e = err as Error;
    this.failure ??= new DeviceError(info ? `WebGPU device lost (${info.reason}): ${info.message}` : `reading from the GPU failed: ${e?.name}: ${e?.message}`);
    throw this.failure;
  }

  /** Write host data into a buffer. Pending work is submitted first so it sees the old contents. */
  writeBuffer(dst: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.check();
    this.flush();
    this.device.queue.writeBuffer(dst, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Release the device and Dawn's instance so the Node process can exit. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    try {
      this.flush();
    } catch { /* the device may already be lost */ }
    this.disposed = true;
    this.pool.trim();
    this.device.destroy();
    // Dawn keeps processing the instance's events after the device is gone; letting the instance be
    // garbage-collected then is a use-after-free (aborts or hangs). Parked instances do not keep
    // the process alive once their devices are destroyed.
    if (this.gpu) retired.push(this.gpu);
    this.gpu = undefined;
  }
}
