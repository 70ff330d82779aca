// Tensors: a shape, a dtype and a pooled GPU buffer (row-major, NCHW for images). A tensor owns its
// buffer unless it is a view (reshape) of another. Tensors larger than one storage binding
// (lavapipe: 128 MiB) are bound in chunks by the ops that accept them (see chunks()).
import { DisposedError, ShapeError, ValueError, fmtShape } from '../errors.js';
import type { Engine } from '../gpu/engine.js';
import { itemChunks } from '../gpu/chunks.js';

export type DType = 'f32' | 'u32' | 'i32';
export type HostArray = Float32Array | Uint32Array | Int32Array;

export const DTYPES: readonly DType[] = ['f32', 'u32', 'i32'];

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** The smallest and largest value last written from the host, with their positions. */
export interface ValueRange {
  min: number;
  minAt: number;
  max: number;
  maxAt: number;
}

/**
 * Host data for a tensor of `dtype`, refusing values the dtype cannot hold (1.5 or 2^31 as i32, −1 as
 * u32, NaN as an integer) instead of letting the typed array round or wrap them. `what` names the caller.
 */
export function hostArray(what: string, data: ArrayLike<number>, dtype: DType): HostArray {
  if (!DTYPES.includes(dtype))
    throw new ShapeError(`${what}: unknown dtype '${String(dtype)}' (expected ${DTYPES.join(', ')})`);
  if (dtype === 'f32') return data instanceof Float32Array ? data : Float32Array.from(data);
  if (data instanceof (dtype === 'i32' ? Int32Array : Uint32Array)) return data as HostArray;
  const [lo, hi] = dtype === 'i32' ? [-(2 ** 31), 2 ** 31 - 1] : [0, 2 ** 32 - 1];
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new ValueError(
        `${what}: value ${v} at index ${i} does not fit dtype ${dtype} (integers in [${lo}, ${hi}])`,
      );
  }
  return dtype === 'i32' ? Int32Array.from(data) : Uint32Array.from(data);
}

function rangeOf(a: HostArray): ValueRange | undefined {
  if (a.length === 0) return undefined;
  const r = { min: a[0], minAt: 0, max: a[0], maxAt: 0 };
  for (let i = 1; i < a.length; i++) {
    if (a[i] < r.min) {
      r.min = a[i];
      r.minAt = i;
    }
    if (a[i] > r.max) {
      r.max = a[i];
      r.maxAt = i;
    }
  }
  return r;
}

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
  /** Of integer tensors written from the host: what was written (ops check labels against it). */
  private hostRange?: ValueRange;

  constructor(
    readonly engine: Engine,
    shape: readonly number[],
    readonly dtype: DType = 'f32',
    opts: { buffer?: GPUBuffer; base?: Tensor; name?: string } = {},
  ) {
    if (!DTYPES.includes(dtype))
      throw new ShapeError(
        `tensor '${opts.name ?? 'tensor'}': unknown dtype '${String(dtype)}' (expected ${DTYPES.join(', ')})`,
      );
    for (const d of shape)
      if (!Number.isInteger(d) || d < 0)
        throw new ShapeError(`tensor '${opts.name ?? 'tensor'}': invalid shape ${fmtShape(shape)}`);
    this.shape = Object.freeze([...shape]);
    this.size = numel(shape);
    this.name = opts.name ?? 'tensor';
    this.base = opts.base;
    this.buf = opts.base ? undefined : (opts.buffer ?? engine.acquire(this.size * 4));
    engine.track(this);
  }

  get buffer(): GPUBuffer {
    if (this.base) return this.base.buffer;
    if (!this.buf) throw new DisposedError(`tensor '${this.name}' ${fmtShape(this.shape)} was disposed`);
    return this.buf;
  }

  /** The tensor that owns the storage (this one, unless it is a view). */
  get root(): Tensor {
    return this.base ?? this;
  }

  get disposed(): boolean {
    return this.base ? this.base.disposed : !this.buf;
  }

  get bytes(): number {
    return this.size * 4;
  }

  /**
   * For an integer tensor whose contents were last written from the host (write(), tensor()): the
   * smallest and largest value and where they are. Undefined once a kernel may have written it.
   */
  get valueRange(): ValueRange | undefined {
    return (this.base ?? this).hostRange;
  }

  /** Called by ops that write into an existing tensor: its host range no longer holds. */
  markWritten(): void {
    (this.base ?? this).hostRange = undefined;
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
    if (start % 4 !== 0)
      throw new ShapeError(`tensor '${this.name}': vec4 binding at element ${start}, not a multiple of 4`);
    return { buffer: this.buffer, offset: start * 4, size: Math.max(16, Math.ceil(count / 4) * 16) };
  }

  /**
   * Split [0, size) into ranges of whole rows (rowElems each) that each fit one storage binding and
   * start at an offset the device can bind. Small tensors give one range.
   */
  chunks(rowElems = 1): Array<{ start: number; count: number }> {
    const rows = itemChunks(this.engine, `tensor '${this.name}' ${fmtShape(this.shape)}`, this.size / rowElems, [
      rowElems,
    ]);
    return rows.map(({ start, count }) => ({ start: start * rowElems, count: count * rowElems }));
  }

  /** A tensor of another shape sharing this one's storage (−1 infers one dimension); `op` names the caller in errors. */
  reshape(shape: readonly number[], op = 'reshape'): Tensor {
    const fail = (why: string) =>
      new ShapeError(
        `${op}: tensor '${this.name}' ${fmtShape(this.shape)} (${this.size} elements) cannot become ${fmtShape(shape)}: ${why}`,
      );
    const holes = shape.filter((d) => d === -1).length;
    if (holes > 1) throw fail('more than one dimension is -1');
    if (shape.some((d) => d !== -1 && !(Number.isInteger(d) && d >= 0)))
      throw fail('dimensions must be non-negative integers or one -1');
    const resolved = [...shape];
    const hole = resolved.indexOf(-1);
    if (hole >= 0) {
      const rest = numel(resolved.filter((_, i) => i !== hole));
      if (rest === 0 || this.size % rest !== 0) throw fail(`${this.size} elements do not divide into rows of ${rest}`);
      resolved[hole] = this.size / rest;
    }
    if (numel(resolved) !== this.size) throw fail(`it holds ${numel(resolved)} elements`);
    const root = this.base ?? this;
    const t = new Tensor(this.engine, resolved, this.dtype, { base: root, name: this.name });
    t.requiresGrad = this.requiresGrad;
    return t;
  }

  /** A new tensor of `shape` that takes over this one's storage; this one becomes empty. */
  moveTo(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size)
      throw new ShapeError(`moveTo: tensor '${this.name}' ${fmtShape(this.shape)} cannot become ${fmtShape(shape)}`);
    if (this.base) return this.reshape(shape, 'moveTo');
    const t = new Tensor(this.engine, shape, this.dtype, { buffer: this.buffer, name: this.name });
    t.hostRange = this.hostRange;
    this.buf = undefined;
    return t;
  }

  /** Download (submits pending work), as the typed array of the dtype. */
  async read(): Promise<HostArray> {
    const data = await this.engine.readBuffer(this.buffer, 0, this.bytes);
    return this.dtype === 'f32'
      ? new Float32Array(data)
      : this.dtype === 'u32'
        ? new Uint32Array(data)
        : new Int32Array(data);
  }

  /** Download an f32 tensor (ShapeError for another dtype). */
  async readF32(): Promise<Float32Array> {
    expectDType('readF32', this.name, this, 'f32');
    return (await this.read()) as Float32Array;
  }

  /** Download an i32 tensor (ShapeError for another dtype). */
  async readI32(): Promise<Int32Array> {
    expectDType('readI32', this.name, this, 'i32');
    return (await this.read()) as Int32Array;
  }

  /** Download a u32 tensor (ShapeError for another dtype). */
  async readU32(): Promise<Uint32Array> {
    expectDType('readU32', this.name, this, 'u32');
    return (await this.read()) as Uint32Array;
  }

  /** Upload host data of exactly `size` elements; values must fit the dtype (see hostArray). */
  write(data: ArrayLike<number>): this {
    if (data.length !== this.size)
      throw new ShapeError(
        `write: ${data.length} values for tensor '${this.name}' ${fmtShape(this.shape)} (${this.size} elements)`,
      );
    const host = hostArray(`write to tensor '${this.name}'`, data, this.dtype);
    this.engine.writeBuffer(this.buffer, 0, host);
    (this.base ?? this).hostRange = this.dtype === 'f32' ? undefined : rangeOf(host);
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
  if (!ok)
    throw new ShapeError(
      `${op}: ${what} has shape ${fmtShape(t.shape)}, expected [${shape.map((d) => (d === -1 ? '*' : d)).join(',')}]`,
    );
}

export function expectDType(op: string, what: string, t: Tensor, dtype: DType): void {
  if (t.dtype !== dtype) throw new ShapeError(`${op}: ${what} has dtype ${t.dtype}, expected ${dtype}`);
}
