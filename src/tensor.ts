// Tensors: a shape, a dtype and a pooled GPU buffer (row-major, NCHW for images). A tensor owns its
// buffer unless it is a view (reshape) of another. Tensors larger than one storage binding
// (lavapipe: 128 MiB) are bound in chunks by the ops that accept them (see chunks()).
import { DisposedError, ShapeError, fmtShape } from './errors.js';
import type { Engine } from './gpu/engine.js';

export type DType = 'f32' | 'u32' | 'i32';
export type HostArray = Float32Array | Uint32Array | Int32Array;

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  /** True for trainable parameters and for everything computed from them on a tape. */
  requiresGrad = false;
  /** Accumulated gradient (parameters, after tape.backward()). */
  grad?: Tensor;
  /** Name used in messages and checkpoints. */
  name: string;
  private buf?: GPUBuffer;
  private base?: Tensor;

  constructor(readonly engine: Engine, shape: readonly number[], readonly dtype: DType = 'f32', opts: { buffer?: GPUBuffer; base?: Tensor; name?: string } = {}) {
    for (const d of shape) if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape ${fmtShape(shape)}`);
    this.shape = Object.freeze([...shape]);
    this.size = numel(shape);
    this.name = opts.name ?? 'tensor';
    this.base = opts.base;
    this.buf = opts.base ? undefined : opts.buffer ?? engine.acquire(this.size * 4);
  }

  get buffer(): GPUBuffer {
    if (this.base) return this.base.buffer;
    if (!this.buf) throw new DisposedError(`tensor '${this.name}' ${fmtShape(this.shape)} was disposed`);
    return this.buf;
  }

  get disposed(): boolean {
    return this.base ? this.base.disposed : !this.buf;
  }

  get bytes(): number {
    return this.size * 4;
  }

  /** Binding of the whole tensor, or of elements [start, start+count). */
  binding(start = 0, count = this.size): GPUBufferBinding {
    return { buffer: this.buffer, offset: start * 4, size: Math.max(4, count * 4) };
  }

  /**
   * Binding of elements [start, start+count) as array<vec4f>: count rounded up to a multiple of 4,
   * which stays inside the buffer (allocations are padded to 16 bytes). start must be a multiple of 4
   * (chunk starts are: they are aligned to the device's offset alignment).
   */
  bindingVec4(start = 0, count = this.size): GPUBufferBinding {
    if (start % 4 !== 0) throw new ShapeError(`tensor '${this.name}': vec4 binding at element ${start}, not a multiple of 4`);
    return { buffer: this.buffer, offset: start * 4, size: Math.max(16, Math.ceil(count / 4) * 16) };
  }

  /**
   * Split [0, size) into ranges of whole rows (rowElems each) that each fit one storage binding and
   * start at an offset the device can bind. Small tensors give one range.
   */
  chunks(rowElems = 1): Array<{ start: number; count: number }> {
    const e = this.engine;
    const align = Math.max(1, e.limits.minStorageBufferOffsetAlignment / 4);
    let rows = Math.floor(e.maxBindingElems / rowElems);
    const total = this.size / rowElems;
    if (rows >= total) return [{ start: 0, count: this.size }];
    // rows per chunk must keep each chunk's start aligned
    while (rows > 0 && (rows * rowElems) % align !== 0) rows--;
    if (rows === 0) throw new ShapeError(`tensor '${this.name}' ${fmtShape(this.shape)}: a row of ${rowElems} elements cannot be bound`);
    // balance chunk sizes (fc6's 4096 rows split in two 2048-row halves)
    const n = Math.ceil(total / rows);
    let per = Math.ceil(total / n);
    while ((per * rowElems) % align !== 0) per++;
    const out = [];
    for (let r = 0; r < total; r += per) out.push({ start: r * rowElems, count: Math.min(per, total - r) * rowElems });
    return out;
  }

  /** A tensor of another shape sharing this one's storage (flatten). */
  reshape(shape: readonly number[]): Tensor {
    const resolved = [...shape];
    const hole = resolved.indexOf(-1);
    if (hole >= 0) resolved[hole] = this.size / numel(resolved.filter((_, i) => i !== hole));
    if (numel(resolved) !== this.size) throw new ShapeError(`reshape: ${fmtShape(this.shape)} cannot become ${fmtShape(shape)}`);
    const root = this.base ?? this;
    const t = new Tensor(this.engine, resolved, this.dtype, { base: root, name: this.name });
    t.requiresGrad = this.requiresGrad;
    return t;
  }

  /** A new tensor of `shape` that takes over this one's storage; this one becomes empty. */
  moveTo(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size) throw new ShapeError(`moveTo: ${fmtShape(this.shape)} cannot become ${fmtShape(shape)}`);
    if (this.base) return this.reshape(shape);
    const t = new Tensor(this.engine, shape, this.dtype, { buffer: this.buffer, name: this.name });
    this.buf = undefined;
    return t;
  }

  /** Download (submits pending work). */
  async read(): Promise<HostArray> {
    const data = await this.engine.readBuffer(this.buffer, 0, this.bytes);
    return this.dtype === 'f32' ? new Float32Array(data) : this.dtype === 'u32' ? new Uint32Array(data) : new Int32Array(data);
  }

  /** Upload host data of exactly `size` elements. */
  write(data: ArrayLike<number>): this {
    if (data.length !== this.size) throw new ShapeError(`write: ${data.length} values for tensor '${this.name}' ${fmtShape(this.shape)} (${this.size} elements)`);
    const host = this.dtype === 'f32' ? Float32Array.from(data) : this.dtype === 'u32' ? Uint32Array.from(data) : Int32Array.from(data);
    this.engine.writeBuffer(this.buffer, 0, host);
    return this;
  }

  /** Return the buffer to the pool. Idempotent; views only drop their reference. */
  dispose(): void {
    if (this.base) return;
    if (this.buf) this.engine.release(this.buf);
    this.buf = undefined;
    this.grad?.dispose();
    this.grad = undefined;
  }
}

/** Throw ShapeError unless `t` has exactly `shape` (−1 matches any size). */
export function expectShape(op: string, what: string, t: Tensor, shape: readonly number[]): void {
  const ok = t.shape.length === shape.length && t.shape.every((d, i) => shape[i] === -1 || d === shape[i]);
  if (!ok) throw new ShapeError(`${op}: ${what} has shape ${fmtShape(t.shape)}, expected ${fmtShape(shape.map((d) => (d === -1 ? '*' : d)) as any)}`);
}

export function expectDType(op: string, what: string, t: Tensor, dtype: DType): void {
  if (t.dtype !== dtype) throw new ShapeError(`${op}: ${what} has dtype ${t.dtype}, expected ${dtype}`);
}
