// The engine drives one WebGPU device: its own (from navigator.gpu, a GPU or an adapter the caller
// gives; Node's entry gives Dawn's) or one the host application already has. It requests the limits
// it uses at the adapter's values and the optional features it can use, batches every dispatch of a
// step into one command encoder / compute pass, recycles buffers only after the work that used them
// was submitted, and turns every device error (validation, out-of-memory, shader compile, device
// loss) into a typed exception at the next sync point. It reads no globals but `navigator.gpu`
// (when no GPU is given) and installs none.
/// <reference types="@webgpu/types" preserve="true" />
import { AdapterError, DeviceError, DispatchError, DisposedError, LimitError, ShaderError } from '../errors.js';
import { BufferPool, type PoolCounters } from './buffers.js';
import { BufferUsage, MapMode } from './usage.js';
import { PipelineCache, type Kernel, type Overrides } from './pipelines.js';
import { currentLabel } from './scope.js';
import { Profiler, type ProfileEntry } from './profiler.js';
import { type PreparedDispatch, RecordingLog } from './recording.js';
import { type AutotuneMode, Tuner, type TuneStore } from './tuner.js';
import { packUniform, type Params } from './uniform.js';

export { f32, lrParam, stepParam, type Param, type Params, type StepParam } from './uniform.js';

export interface EngineOptions {
  /** The WebGPU entry point to request an adapter from (default: navigator.gpu). */
  gpu?: GPU;
  /** An adapter to request the device from (instead of gpu). */
  adapter?: GPUAdapter;
  /** A device the host application owns: used as it is and never destroyed by the engine. */
  device?: GPUDevice;
  /** Adapter preference (default 'high-performance'). */
  powerPreference?: GPUPowerPreference;
  /** Refuse to allocate beyond this many bytes of device memory (default: no budget of our own). */
  memoryLimitBytes?: number;
  /** Cap requested device limits below the adapter's (tests use it to force chunked bindings). */
  limits?: Partial<Record<string, number>>;
  /** Dispatches per submit before the batch is flushed by itself (default 256). */
  maxDispatchesPerSubmit?: number;
  /** Time ops' variants on this adapter and keep the fastest (src/gpu/tuner.ts; default 'off'). */
  autotune?: AutotuneMode;
  /** Where tuned winners persist, given the adapter (Node: a JSON file, src/node/tune_cache.ts). */
  tuneStore?: (adapter: EngineInfo['adapter']) => TuneStore;
}

/** What the engine reads of GPUAdapterInfo (subgroup sizes are newer than some implementations). */
type AdapterFacts = Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'device' | 'description'> & {
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
};

export interface EngineInfo {
  adapter: { vendor: string; architecture: string; device: string; description: string };
  /** True for CPU implementations of Vulkan (lavapipe, SwiftShader). */
  software: boolean;
  limits: Record<string, number>;
  features: string[];
  /** Lanes per subgroup [min, max] where the adapter says (0 where it does not). */
  subgroupSizes: [number, number];
}

/** What an evaluation scope (tidy) frees: tensors, seen from below them. */
export interface Disposable {
  dispose(): void;
}

export interface Dispatch {
  kernel: Kernel;
  overrides?: Overrides;
  /** The uniform struct's fields by name. */
  params: Params;
  /** Storage bindings 1..n in order (binding 0 is the uniform block). */
  buffers: GPUBufferBinding[];
  workgroups: [number, number?, number?];
}

const WANTED_FEATURES: GPUFeatureName[] = ['timestamp-query', 'shader-f16', 'subgroups' as GPUFeatureName];

/**
 * The limits the engine reads, requested at the adapter's values (higher than the defaults where the
 * adapter allows: fc6's 144 MiB weight needs a binding beyond the default 128 MiB). Nothing else is
 * requested, so the device keeps its defaults elsewhere (and Dawn has nothing to warn about).
 */
const USED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'minStorageBufferOffsetAlignment',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
] as const;

/**
 * An engine on `options.device` (not owned), or on a new device from `options.adapter`, `options.gpu`
 * or `navigator.gpu`. Throws AdapterError when there is no WebGPU or no adapter.
 */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  if (options.device)
    return new Engine(options.device, options.device.adapterInfo ?? options.adapter?.info, false, options);
  let adapter = options.adapter;
  if (!adapter) {
    const gpu = options.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu)
      throw new AdapterError(
        "WebGPU is not available here: no navigator.gpu (pass { gpu }, { adapter } or { device } to createEngine; in Node, the package's node entry uses Dawn)",
      );
    adapter =
      (await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' })) ?? undefined;
    if (!adapter) throw new AdapterError('No WebGPU adapter was found (requestAdapter() returned null)');
  }
  const requiredLimits: Record<string, number> = {};
  for (const key of USED_LIMITS) {
    const v = adapter.limits[key];
    requiredLimits[key] = Math.min(v, options.limits?.[key] ?? v);
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    throw new AdapterError(`could not create a WebGPU device: ${(e as Error).message}`);
  }
  return new Engine(device, adapter.info, true, options);
}

export class Engine {
  readonly device: GPUDevice;
  readonly limits: GPUSupportedLimits;
  readonly features: ReadonlySet<string>;
  /**
   * Whether the subgroup kernels (kernels/*_subgroup.wgsl) are candidates: the device has
   * `subgroups` and the adapter's subgroups have at most 64 lanes, the kernels' workgroup.
   */
  readonly subgroupKernels: boolean;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  /** Which variant each (op, shape) uses (src/gpu/tuner.ts). */
  readonly tuner: Tuner;
  /** Elements of f32 that fit one storage binding (lavapipe: 128 MiB / 4). */
  readonly maxBindingElems: number;
  private adapterInfo: AdapterFacts;
  private encoder?: GPUCommandEncoder;
  private pass?: GPUComputePassEncoder;
  private dispatches = 0;
  private checks: Promise<Error | null>[] = [];
  private failure?: Error;
  private disposed = false;
  private maxPerSubmit: number;
  private memoryLimit: number;
  private profiler?: Profiler;
  /** Open evaluation scopes (tidy), innermost last: tensors created meanwhile are registered there. */
  private scopes: Set<Disposable>[] = [];
  /** The log of the step being recorded (startRecording … stopRecording). */
  private recording?: RecordingLog;
  /** Submits so far (a step should need one or a few). */
  submits = 0;
  /** Dispatches encoded so far. */
  dispatchCount = 0;

  private readonly onUncaptured = (ev: Event) => {
    const e = (ev as GPUUncapturedErrorEvent).error;
    this.failure ??= new DeviceError(`uncaptured WebGPU error: ${e.message}`);
  };

  /** `ownsDevice`: the engine created the device and destroys it on dispose(). */
  constructor(
    device: GPUDevice,
    adapterInfo: GPUAdapterInfo | undefined,
    readonly ownsDevice: boolean,
    options: EngineOptions,
  ) {
    this.device = device;
    this.adapterInfo = adapterInfo ?? { vendor: '', architecture: '', device: '', description: '' };
    this.limits = device.limits;
    this.features = new Set([...device.features] as string[]);
    const maxLanes = this.adapterInfo.subgroupMaxSize ?? 0;
    this.subgroupKernels = this.features.has('subgroups') && maxLanes > 0 && maxLanes <= 64;
    this.maxPerSubmit = options.maxDispatchesPerSubmit ?? 256;
    this.memoryLimit = options.memoryLimitBytes ?? Infinity;
    // Dawn raises requests below the WebGPU defaults back to them, so a cap asked for in the options
    // (tests of the chunked paths) is enforced here rather than by the device.
    const binding = Math.min(
      device.limits.maxStorageBufferBindingSize,
      options.limits?.maxStorageBufferBindingSize ?? Infinity,
    );
    this.maxBindingElems = Math.floor(binding / 4);
    this.pool = new BufferPool(device, (bytes) => this.checkAllocation(bytes));
    this.pipelines = new PipelineCache(device, (c) => this.checks.push(c));
    this.tuner = new Tuner(options.autotune ?? 'off', options.tuneStore?.(this.adapterInfo));
    device.addEventListener('uncapturederror', this.onUncaptured);
    device.lost.then((info) => {
      if (!this.disposed) this.failure ??= new DeviceError(`WebGPU device lost (${info.reason}): ${info.message}`);
    });
  }

  info(): EngineInfo {
    const a = this.adapterInfo;
    const limits: Record<string, number> = {};
    for (const key in this.limits) {
      const v = (this.limits as unknown as Record<string, unknown>)[key];
      if (typeof v === 'number') limits[key] = v;
    }
    const text = `${a.vendor} ${a.architecture} ${a.device} ${a.description}`.toLowerCase();
    const software = /llvmpipe|lavapipe|swiftshader|software/.test(text) || (a.vendor === 'mesa' && /cpu/.test(text));
    return {
      adapter: { vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description },
      software,
      limits,
      features: [...this.features].sort(),
      subgroupSizes: [a.subgroupMinSize ?? 0, a.subgroupMaxSize ?? 0],
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
      throw new LimitError(
        `a buffer of ${bytes} bytes exceeds the device's maxBufferSize (${this.limits.maxBufferSize} bytes)`,
      );
    }
    if (this.pool.counters.bytesAllocated + bytes > this.memoryLimit) {
      throw new LimitError(
        `allocating ${bytes} bytes would exceed the memory budget of ${this.memoryLimit} bytes ` +
          `(${this.pool.counters.bytesAllocated} allocated)`,
      );
    }
  }

  /** Called by every new tensor: the innermost open scope (tidy) will dispose it unless it is kept. */
  track(t: Disposable): void {
    this.scopes[this.scopes.length - 1]?.add(t);
  }

  /** Open a scope (tidy); closeScope() returns the tensors created since. */
  openScope(): void {
    this.scopes.push(new Set());
  }

  closeScope(): Set<Disposable> {
    return this.scopes.pop() ?? new Set();
  }

  /** Pooled storage buffer of at least `bytes`. */
  acquire(bytes: number): GPUBuffer {
    this.check();
    const buf = this.pool.acquire(bytes, BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST);
    this.recording?.acquired(buf);
    return buf;
  }

  release(buf: GPUBuffer): void {
    this.recording?.released(buf);
    if (!this.disposed) this.pool.release(buf);
  }

  /** Log every dispatch and acquired buffer from now on (a step to replay: recording.ts). */
  startRecording(): void {
    this.check();
    if (this.recording) throw new DeviceError('startRecording: a recording is already open');
    this.flush();
    this.recording = new RecordingLog();
    if (this.profiler) this.recording.refuse('the profiler is timing each dispatch');
  }

  stopRecording(): RecordingLog {
    const log = this.recording;
    if (!log) throw new DeviceError('stopRecording: no recording is open');
    this.recording = undefined;
    return log;
  }

  /** Encode a replay's dispatches, bind groups made, into the current batch. */
  encodePrepared(dispatches: readonly PreparedDispatch[]): void {
    this.check();
    if (this.profiler) throw new DeviceError('a replayed step cannot be profiled dispatch by dispatch');
    const pass = this.computePass();
    let last: GPUComputePipeline | undefined;
    for (const d of dispatches) {
      if (d.pipeline !== last) pass.setPipeline(d.pipeline); // ~4 µs a call in Dawn's Node binding
      last = d.pipeline;
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    }
    this.dispatchCount += dispatches.length;
    this.dispatches += dispatches.length;
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
    if (d.buffers.length !== d.kernel.bindings.length - 1)
      throw new DispatchError(
        `${d.kernel.name}: ${d.buffers.length} storage buffers given, the kernel binds ${d.kernel.bindings.length - 1}`,
      );
    const pipeline = this.pipelines.get(d.kernel, d.overrides);
    const packed = packUniform(d.kernel, d.params);
    const uniform = this.pool.acquire(packed.data.byteLength, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
    this.device.queue.writeBuffer(uniform, 0, packed.data);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
    d.buffers.forEach((resource, i) => entries.push({ binding: i + 1, resource }));
    const bindGroup = this.device.createBindGroup({ layout: this.pipelines.layout(d.kernel), entries });
    const pass = this.profiler ? this.timedPass(d.kernel.name) : this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y = 1, z = 1] = d.workgroups;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max)
      throw new LimitError(`${d.kernel.name}: dispatch ${x}x${y}x${z} exceeds ${max} workgroups per dimension`);
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    const log = this.recording;
    if (log && x > 0 && y > 0 && z > 0) {
      const slots = d.buffers.map((b) => log.slot(b)); // before the push: this op's index is ops.length
      const layout = this.pipelines.layout(d.kernel);
      log.ops.push({
        kernel: d.kernel,
        pipeline,
        layout,
        uniform: packed.data,
        perStep: packed.perStep,
        slots,
        workgroups: [x, y, z],
      });
    }
    this.pool.release(uniform); // parked until submit
    if (this.profiler) this.endPass();
    this.dispatchCount++;
    if (++this.dispatches >= this.maxPerSubmit) this.flush();
  }

  /** A compute pass of its own for one profiled dispatch, with timestamps at its start and end. */
  private timedPass(kernel: string): GPUComputePassEncoder {
    this.endPass();
    if (this.profiler!.full) this.flush();
    const timestampWrites = this.profiler!.next(kernel, currentLabel());
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
    this.recording?.refuse('a buffer copy inside the step');
    this.endPass();
    this.beginBatch().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }

  /** Submit everything encoded so far; buffers released before now become reusable. */
  flush(): void {
    if (this.disposed) return;
    if (!this.encoder) {
      this.pool.afterSubmit(); // nothing is encoded: what was released is no longer referenced
      return;
    }
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

  /**
   * Submit what is encoded, then destroy every pooled buffer not in use. A recorded step calls it
   * once the recording's buffers are released: the replay has arenas of its own, and the pool would
   * otherwise keep the unrecorded step's whole peak beside them for the rest of the run.
   */
  trimPool(): void {
    this.flush();
    this.pool.trim();
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
    this.recording?.refuse('a read back to the host inside the step');
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.pool.acquire(size, BufferUsage.MAP_READ | BufferUsage.COPY_DST);
    this.copy(src, offset, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(MapMode.READ, 0, size).catch((e) => this.lostWhileWaiting(e));
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
      this.device.lost.then((i) => {
        clearTimeout(timer);
        resolve(i);
      });
    });
    const e = err as Error;
    this.failure ??= new DeviceError(
      info
        ? `WebGPU device lost (${info.reason}): ${info.message}`
        : `reading from the GPU failed: ${e?.name}: ${e?.message}`,
    );
    throw this.failure;
  }

  /** Write host data into a buffer. Pending work is submitted first so it sees the old contents. */
  writeBuffer(dst: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.check();
    this.recording?.refuse('a write from the host inside the step');
    this.flush();
    this.device.queue.writeBuffer(dst, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Free what the engine holds: its device if it created it (then every buffer goes with it), else
   * every buffer it allocated on the host's device, which stays usable. Idempotent.
   */
  dispose(): void {
    if (this.disposed) return;
    try {
      this.flush();
    } catch {
      /* the device may already be lost */
    }
    this.disposed = true;
    this.device.removeEventListener('uncapturederror', this.onUncaptured);
    if (this.ownsDevice) {
      this.pool.trim();
      this.device.destroy();
    } else this.pool.destroyAll();
  }
}
