// Pooling and LRN kernels at AlexNet's shapes, standalone (the same rows run inside `npm run bench`,
// see bench/lib/pool_lrn.ts): each op's forward and backward is validated against the float64
// references of test/ref on the first and last image of the batch, then timed — captured and
// replayed in one compute pass between timestamp queries (else submit → done), median of --reps
// runs — and printed as ms, GB/s of the bytes each op must move, and % of the copy roof measured
// at the start.
//   node scripts/build.mjs bench && node build/bench/pool_lrn.bench.js [names...] [--batches=8,32] [--reps=7]
import { createEngine } from '../src/node/dawn.js';
import { GpuTimer } from './lib/gpu_timer.js';
import { copyRoofs } from './lib/roofs.js';
import { fmt, parseArgs, rate, Report, selected, type Row } from './lib/common.js';
import { POOL_LRN_SPECS, poolLrnRows } from './lib/pool_lrn.js';

const { filters, flags } = parseArgs(process.argv.slice(2), ['batches', 'reps']);
const batches = (flags.batches ?? '8,32').split(',').map(Number);
const reps = Number(flags.reps ?? 7);

const e = await createEngine({ dawnFlags: ['disable-dawn-features=timestamp_quantization'] });
const timer = new GpuTimer(e);
try {
  const info = e.info();
  const report = new Report(`node build/bench/pool_lrn.bench.js ${process.argv.slice(2).join(' ')}`.trim());
  console.log(
    `pool_lrn bench on ${info.adapter.vendor} ${info.adapter.description || info.adapter.device}; ${timer.timestamps ? 'GPU timestamps' : 'wall time'}, median of ${reps}`,
  );
  const copy = await copyRoofs(e, timer, 5);
  const roof = Math.max(...copy.map((c) => rate({ unit: 'GB/s', work: c.per, ms: c.ms } as Row)));
  report.roofs = { fma: NaN, copy: roof };
  console.log(`copy roof ${fmt(roof)} GB/s (best of ${copy.map((c) => c.name).join(', ')})`);
  for (const N of batches)
    for (const s of POOL_LRN_SPECS) await poolLrnRows(e, timer, report, s, N, reps, (t) => selected(t, filters));
} finally {
  timer.dispose();
  e.dispose();
}
