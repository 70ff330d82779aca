// Exact-size pool of GPU buffers with byte counters. A released buffer is parked until the work
// that used it has been submitted (queue.writeBuffer into it could otherwise overtake commands
// still being encoded), then becomes reusable. After the first training step every request is
// served from the pool, so bytesAllocated stays flat.

export interface PoolCounters {
  /** Bytes of all live GPU buffers the pool owns (in use + free + awaiting submit). */
  bytesAllocated: number;
  /** Bytes held by live tensors and in-flight uniforms. */
  bytesInUse: number;
  /** Highest bytesInUse seen. */
  peakBytesInUse: number;
  /** Highest bytesAllocated seen. */
  peakBytesAllocated: number;
  /** createBuffer calls so far (a leak shows up here first). */
  buffersCreated: number;
}

export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private parked: GPUBuffer[] = [];
  private sizes = new WeakMap<GPUBuffer, number>();
  /** Every live buffer (for destroyAll on a device the engine does not own). */
  private live = new Set<GPUBuffer>();
  readonly counters: PoolCounters = {
    bytesAllocated: 0,
    bytesInUse: 0,
    peakBytesInUse: 0,
    peakBytesAllocated: 0,
    buffersCreated: 0,
  };

  constructor(
    private device: GPUDevice,
    private onCreate: (bytes: number) => void,
  ) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const key = `${size}:${usage}`;
    let buf = this.free.get(key)?.pop();
    if (!buf) {
      this.onCreate(size);
      buf = this.device.createBuffer({ size, usage });
      this.sizes.set(buf, size);
      this.live.add(buf);
      const c = this.counters;
      c.buffersCreated++;
      c.bytesAllocated += size;
      c.peakBytesAllocated = Math.max(c.peakBytesAllocated, c.bytesAllocated);
    }
    this.counters.bytesInUse += size;
    this.counters.peakBytesInUse = Math.max(this.counters.peakBytesInUse, this.counters.bytesInUse);
    return buf;
  }

  /** Give a buffer back; it is reusable after the next submit. */
  release(buf: GPUBuffer): void {
    this.counters.bytesInUse -= this.sizes.get(buf) ?? buf.size;
    this.parked.push(buf);
  }

  /** Called right after a submit: parked buffers may now be handed out again. */
  afterSubmit(): void {
    for (const buf of this.parked) {
      const key = `${buf.size}:${buf.usage}`;
      let list = this.free.get(key);
      if (!list) this.free.set(key, (list = []));
      list.push(buf);
    }
    this.parked = [];
  }

  /** Destroy every free buffer (keeps those in use). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buf of list) {
        this.counters.bytesAllocated -= buf.size;
        this.live.delete(buf);
        buf.destroy();
      }
    }
    this.free.clear();
  }

  /** Destroy every buffer the pool ever created, in use or not (the engine is going away). */
  destroyAll(): void {
    for (const buf of this.live) buf.destroy();
    this.live.clear();
    this.free.clear();
    this.parked = [];
    this.counters.bytesAllocated = 0;
    this.counters.bytesInUse = 0;
  }
}
