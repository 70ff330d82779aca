// The autotuner against today's tiles on every AlexNet conv direction (bench/lib/conv_rows.ts's
// layers), through the package's own microbenchmark (src/microbench/kernels.ts): each direction
// validated against float64 on sampled outputs, every candidate timed in interleaved rounds, then
// the winner timed again beside the default in fresh rounds. The ratio default ÷ winner is the
// gain; below 1 beyond noise would mean the tuner chose worse than today's tiles.
import { benchConv, type KernelReport } from '../../src/microbench/kernels.js';
import type { Engine } from '../../src/gpu/engine.js';
import { CONV_LAYERS } from './conv_rows.js';

export const tuneName = (layer: string, n: number): string => `tune ${layer} b${n}`;

/** One report per direction of each selected layer at batch n. */
export async function tuneRows(
  e: Engine,
  n: number,
  reps: number,
  want: (name: string) => boolean,
  say: (line: string) => void,
): Promise<Array<KernelReport & { layer: string }>> {
  const out: Array<KernelReport & { layer: string }> = [];
  if (!CONV_LAYERS.some((L) => want(tuneName(L.name, n)))) return out;
  say(
    `${'layer'.padEnd(16)} ${'direction'.padEnd(10)} ${'variants'.padStart(8)}  ${'default'.padEnd(12)} ${'winner'.padEnd(12)} ${'default ms'.padStart(10)} ${'winner ms'.padStart(10)} ${'gain'.padStart(6)}`,
  );
  for (const L of CONV_LAYERS) {
    if (!want(tuneName(L.name, n))) continue;
    const reports = await benchConv(e, { n, c: L.c, h: L.h, w: L.h, o: L.o, k: L.k, s: L.s, p: L.p, g: L.g }, reps);
    for (const r of reports) {
      const dir = r.what.split(' ').at(-1)!;
      const { defaultMs: d, winnerMs: w } = r.recheck;
      say(
        `${L.name.padEnd(16)} ${dir.padEnd(10)} ${String(r.variants.length).padStart(8)}  ${r.variants[0].label.padEnd(12)} ${r.winner.padEnd(12)} ${d.toFixed(2).padStart(10)} ${w.toFixed(2).padStart(10)} ${`${(d / w).toFixed(2)}×`.padStart(6)}`,
      );
      out.push({ ...r, layer: L.name });
    }
  }
  return out;
}
