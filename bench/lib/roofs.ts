// The two roofs every kernel row is held against, measured in the same run on the same device:
//   FMA   independent FMA chains per invocation, no memory traffic → GFLOP/s (2 per FMA lane).
//         Variants: the probe's 8 vec4 chains in workgroups of 64 (shared/probes/lavapipe-probe.mjs)
//         and scalar-f32 chains in larger workgroups. On this machine the probe's kernel is far from
//         the best (llvmpipe runs each vec4 chain as 4 SIMD registers; 8 of them per lane spill), so
//         the roof is the best variant, and the probe kernel's figure is reported beside it.
//   copy  dst[i] = src[i] over vec4s, 64 MiB each way (past the last-level cache), 1, 4 or 8
//         consecutive vec4s per invocation; the best is the roof → GB/s of bytes read + written.
// Each variant is timed like the kernel rows (one pass between timestamps, else submit → done).
import type { Engine } from '../../src/gpu/engine.js';
import { BufferUsage } from '../../src/gpu/usage.js';
import type { GpuTimer } from './gpu_timer.js';

export interface RoofResult {
  name: string;
  unit: 'GFLOP/s' | 'GB/s';
  ms: number[];
  per: number;
  note: string;
  othersCpu: number;
}

const STORAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

function pipeline(e: Engine, code: string, label: string): GPUComputePipeline {
  const module = e.device.createShaderModule({ code, label });
  return e.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
}

/** [chains, type, workgroup size, iterations]; the first is the probe's kernel. */
export const FMA_VARIANTS: Array<[number, 'vec4f' | 'f32', number, number]> = [
  [8, 'vec4f', 64, 4096],
  [16, 'f32', 256, 8192],
  [32, 'f32', 256, 4096],
];
export const fmaName = ([chains, ty, wg]: (typeof FMA_VARIANTS)[number]): string => `roof fma ${chains}×${ty} wg${wg}`;

/** Every FMA variant, each 16384 invocations; the work per run is the same FLOP count for all. */
export async function fmaRoofs(e: Engine, timer: GpuTimer, reps: number): Promise<RoofResult[]> {
  const out: RoofResult[] = [];
  const INV = 16384;
  const buf = e.device.createBuffer({ size: INV * 16, usage: STORAGE });
  for (const v of FMA_VARIANTS) {
    const [chains, ty, WG, ITER] = v;
    const lanes = ty === 'vec4f' ? 4 : 1;
    const decl = Array.from({ length: chains }, (_, i) => `var a${i} = ${ty}(f32(g.x) * 1e-6 + ${i}.0);`).join(' ');
    const body = Array.from({ length: chains }, (_, i) => `a${i} = fma(a${i}, m, c);`).join(' ');
    const code = `@group(0) @binding(0) var<storage, read_write> O: array<${ty}>;
@compute @workgroup_size(${WG}) fn main(@builtin(global_invocation_id) g: vec3u) {
  ${decl}
  let m = ${ty}(0.999999); let c = ${ty}(1e-7);
  for (var i = 0u; i < ${ITER}u; i++) { ${body} }
  O[g.x] = ${Array.from({ length: chains }, (_, i) => `a${i}`).join(' + ')};
}`;
    const pipe = pipeline(e, code, fmaName(v));
    const bg = e.device.createBindGroup({
      layout: pipe.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: { buffer: buf } }],
    });
    const t = await timer.time(
      (p) => {
        p.setPipeline(pipe);
        p.setBindGroup(0, bg);
        p.dispatchWorkgroups(INV / WG);
      },
      reps,
      1,
    );
    out.push({
      name: fmaName(v),
      unit: 'GFLOP/s',
      ms: timer.timestamps ? t.gpuMs : t.wallMs,
      per: INV * ITER * chains * lanes * 2,
      othersCpu: t.othersCpu,
      note: `${INV} invocations × ${ITER} iterations × ${chains} independent ${ty} FMA chains${v === FMA_VARIANTS[0] ? ' (the probe kernel)' : ''}`,
    });
  }
  buf.destroy();
  return out;
}

export async function copyRoofs(e: Engine, timer: GpuTimer, reps: number): Promise<RoofResult[]> {
  const BYTES = 64 << 20,
    N4 = BYTES / 16;
  const src = e.device.createBuffer({ size: BYTES, usage: STORAGE }),
    dst = e.device.createBuffer({ size: BYTES, usage: STORAGE });
  const enc = e.device.createCommandEncoder();
  enc.clearBuffer(src);
  enc.clearBuffer(dst); // commit the pages before timing
  e.device.queue.submit([enc.finish()]);
  await e.device.queue.onSubmittedWorkDone();
  const out: RoofResult[] = [];
  for (const per of [1, 4, 8]) {
    const WG = 256,
      groups = N4 / (WG * per),
      gx = Math.min(groups, 32768),
      gy = Math.ceil(groups / gx);
    const code = `@group(0) @binding(0) var<storage, read> S: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> D: array<vec4f>;
@compute @workgroup_size(${WG}) fn main(@builtin(workgroup_id) w: vec3u, @builtin(num_workgroups) n: vec3u, @builtin(local_invocation_index) l: u32) {
  let i = ((w.y * n.x + w.x) * ${WG}u + l) * ${per}u;
  if (i >= ${N4}u) { return; }
  for (var k = 0u; k < ${per}u; k++) { D[i + k] = S[i + k]; }
}`;
    const pipe = pipeline(e, code, `roof_copy${per}`);
    const bg = e.device.createBindGroup({
      layout: pipe.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: src } },
        { binding: 1, resource: { buffer: dst } },
      ],
    });
    const t = await timer.time(
      (p) => {
        p.setPipeline(pipe);
        p.setBindGroup(0, bg);
        p.dispatchWorkgroups(gx, gy);
      },
      reps,
      1,
    );
    out.push({
      name: `roof copy ${per}×vec4`,
      unit: 'GB/s',
      ms: timer.timestamps ? t.gpuMs : t.wallMs,
      per: 2 * BYTES,
      othersCpu: t.othersCpu,
      note: `64 MiB → 64 MiB, ${per} consecutive vec4 per invocation, workgroup ${WG}`,
    });
  }
  src.destroy();
  dst.destroy();
  return out;
}
