// A recorded step made ready to replay (see recording.ts for the contract): its own buffers placed by
// liveness in arenas, its uniforms in one buffer at aligned offsets, one bind group per dispatch.
// run() patches the step's values into the uniform bytes, writes them once, and encodes the
// dispatches as they are; the outputs (the loss, the logits) are copied into tensors the caller owns.
import { DisposedError } from '../errors.js';
import type { Engine } from './engine.js';
import type { StepParam } from './uniform.js';
import {
  conflicts,
  planArenas,
  roundUp,
  type ArenaPlan,
  type PreparedDispatch,
  type RecordingLog,
  type StepValues,
  stepWord,
} from './recording.js';
import { BufferUsage } from './usage.js';

export class Replay {
  readonly plan: ArenaPlan;
  readonly dispatches: PreparedDispatch[] = [];
  /** Bytes this replay holds on the device: its arenas and its uniform buffer. */
  readonly bytes: number;
  private arenas: GPUBuffer[];
  private uniforms: GPUBuffer;
  private words: ArrayBuffer;
  private patches: Array<{ word: number; param: StepParam }> = [];
  private outputs: Array<{ buffer: GPUBuffer; offset: number; bytes: number }>;
  private disposed = false;

  /** Use `prepareReplay`, which says why a log cannot be replayed. */
  constructor(
    private engine: Engine,
    log: RecordingLog,
    outputs: readonly GPUBuffer[],
  ) {
    const lim = engine.limits;
    const outputIds = outputs.map((b) => log.virtualOf(b));
    for (const id of outputIds) if (id >= 0) log.virtuals[id].last = log.ops.length; // live to the end
    const align = Math.max(16, lim.minStorageBufferOffsetAlignment);
    this.plan = planArenas(log.virtuals, align, lim.maxBufferSize, conflicts(log.ops));
    const storage = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;
    this.arenas = this.plan.arenas.map((bytes) => engine.pool.acquire(bytes, storage));
    const ua = Math.max(16, lim.minUniformBufferOffsetAlignment);
    const offsets: number[] = [];
    let total = 0;
    for (const op of log.ops) {
      offsets.push(total);
      total = roundUp(total + op.uniform.byteLength, ua);
    }
    this.words = new ArrayBuffer(Math.max(16, total));
    this.uniforms = engine.pool.acquire(this.words.byteLength, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
    const where = (s: { virtual: number; buffer: GPUBuffer; offset: number }) => {
      const p = s.virtual >= 0 ? this.plan.place[s.virtual]! : undefined;
      return p ? { buffer: this.arenas[p.arena], offset: p.offset + s.offset } : { buffer: s.buffer, offset: s.offset };
    };
    log.ops.forEach((op, k) => {
      new Uint8Array(this.words, offsets[k], op.uniform.byteLength).set(new Uint8Array(op.uniform));
      for (const f of op.perStep) this.patches.push({ word: offsets[k] / 4 + f.word, param: f.param });
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: this.uniforms, offset: offsets[k], size: op.uniform.byteLength } },
      ];
      op.slots.forEach((s, i) => entries.push({ binding: i + 1, resource: { ...where(s), size: s.size } }));
      const bindGroup = engine.device.createBindGroup({ layout: op.layout, entries });
      this.dispatches.push({ pipeline: op.pipeline, bindGroup, workgroups: op.workgroups });
    });
    this.outputs = outputs.map((b, i) => {
      const id = outputIds[i];
      return { ...where({ virtual: id, buffer: b, offset: 0 }), bytes: id >= 0 ? log.virtuals[id].size : b.size };
    });
    this.bytes = this.plan.arenas.reduce((s, b) => s + b, 0) + this.words.byteLength;
  }

  /** Encode the step with these values; copy output k into `into[k]` (a buffer of at least its size). */
  run(values: StepValues, into: readonly GPUBuffer[]): void {
    if (this.disposed) throw new DisposedError('the recorded step was disposed');
    const u = new Uint32Array(this.words),
      f = new Float32Array(this.words);
    for (const { word, param } of this.patches) {
      const w = stepWord(param, values);
      if ('f32' in w) f[word] = w.f32;
      else u[word] = w.u32;
    }
    this.engine.writeBuffer(this.uniforms, 0, u);
    this.engine.encodePrepared(this.dispatches);
    this.outputs.forEach((o, k) => this.engine.copy(o.buffer, o.offset, into[k], 0, Math.min(o.bytes, into[k].size)));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const a of this.arenas) this.engine.release(a);
    this.engine.release(this.uniforms);
  }
}

/** A Replay of `log`, or why there cannot be one (a buffer outside `externals`, a host read, …). */
export function prepareReplay(
  engine: Engine,
  log: RecordingLog,
  outputs: readonly GPUBuffer[],
  externals: ReadonlySet<GPUBuffer>,
): Replay | { reason: string } {
  if (log.unreplayable) return { reason: log.unreplayable };
  for (const op of log.ops)
    for (const s of op.slots)
      if (s.virtual < 0 && !externals.has(s.buffer))
        return { reason: `${op.kernel.name} binds a buffer that the step neither acquired nor was given` };
  return new Replay(engine, log, outputs);
}
