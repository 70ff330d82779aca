// The benchmark suite (npm run bench): roofs, every kernel of an AlexNet training step at the real
// shapes, end-to-end training throughput and memory, and optionally the peers in the same run.
//
//   npm run bench                          everything below (10–15 minutes on the shared 2-core lavapipe machine)
//   npm run bench -- conv2 fc6             only rows whose name contains one of the words
//   npm run bench -- --quick               batch 8 only, 3 runs, short end-to-end (a few minutes)
//   npm run bench -- --json out.json       all rows as JSON (the shape of shared/peers/results/*.json)
//   npm run bench -- --md out.md           the tables as markdown (what bench/RESULTS.md is made of)
//   npm run bench -- --batch128            kernel rows at batch 128 too
//   npm run bench -- --naive tv.conv2      the naive one-invocation-per-output kernels too (bench/lib/naive.ts)
//   npm run bench -- --peers               then TF.js-WebGPU, PyTorch and jax-js on the same shapes
//   npm run bench -- --peers=tfjs-convbwd,torch --peer-timeout=300
//
//   npm run bench -- --gpu                 the GPU profile (bench/gpu.sh runs it): tune, host and batch-128
//                                          end-to-end rows, autotuned, PyTorch+CUDA beside them when
//                                          installed; writes bench/results/<adapter>.json
//
// Other flags: --reps N (timed runs per kernel row, default 5), --combined (time conv fwd+bwd at
// batch 8 as one pass instead of summing the three directions' runs), --e2e-steps N (timed steps of
// every end-to-end case), --host-steps N (unrecorded and replayed steps of every host row, default 7;
// fewer for paper/torchvision at batch 128 on lavapipe, where a step takes minutes), --wall (wall time even where timestamp queries exist), --wait-idle[=S]
// (before each timed run wait ≤ S s, default 60, until other processes leave the CPUs ≥ 90% idle;
// ≤ 2·S s before each peer job), --list (row names), --peers-src DIR (default ../shared/peers),
// --peers-dir DIR (default $TMPDIR/alexnet-wgsl-peers), --peer-timeout S (per peer job, default 900),
// --loader-images N (the image pipeline's generated JPEGs, default 2000; bench/lib/loader_rows.ts).
// Host rows (`host mini b128`, `host paper b128`, …): host time to encode a step, replayed against
// unrecorded, and device memory against the computed minimum (bench/lib/host_rows.ts). Tune rows
// (`tune tv.conv2 b8`, …): the autotuner's choice against today's tiles (bench/lib/tune_rows.ts).
// Every row also records the share of the CPUs other processes used while it ran ("others").
//
// Every kernel row is validated against the float64 references of test/ref (on sampled
// sub-problems for big shapes) before it is timed; a mismatch stops the run. Kernel rows are
// timed with timestamp queries around one compute pass holding the op's dispatch sequence
// (bench/lib/gpu_timer.ts), else submit → onSubmittedWorkDone. Rates: GFLOP/s = 2·MACs / time
// against the FMA roof, GB/s = bytes that must move / time against the copy roof (both measured in
// this run, bench/lib/roofs.ts). The machine is shared: compare ratios within one run.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../src/node/dawn.js';
import { GpuTimer } from './lib/gpu_timer.js';
import { copyRoofs, fmaName, fmaRoofs, FMA_VARIANTS, type RoofResult } from './lib/roofs.js';
import {
  fmt,
  jsonEntry,
  mdHeader,
  mdLine,
  median,
  parseArgs,
  rate,
  Report,
  selected,
  SYSTEM,
  type Roofs,
  type Row,
} from './lib/common.js';
import { CONV_LAYERS, convRows } from './lib/conv_rows.js';
import { FC_LAYERS, fcRows, matmulRow } from './lib/fc_rows.js';
import { POOL_LRN_SPECS, poolLrnRows } from './lib/pool_lrn.js';
import { sgdRow, softmaxRows } from './lib/misc_rows.js';
import { INPUT_CASES, inputName, inputRows } from './lib/input_rows.js';
import { LOADER_ROWS, loaderRows } from './lib/loader_rows.js';
import { e2eArch, type E2eArch, type E2eCase } from './lib/e2e.js';
import { HOST_CASES, hostCase, hostLines, hostName, type HostResult } from './lib/host_rows.js';
import { tuneName, tuneRows } from './lib/tune_rows.js';
import { DEFAULT_PEERS, PEER_JOBS, peersReport, readResults, runPeers, type PeerEntry } from './lib/peers.js';

const { filters, flags } = parseArgs(process.argv.slice(2), [
  'json',
  'md',
  'reps',
  'e2e-steps',
  'host-steps',
  'peer-timeout',
  'peers-src',
  'peers-dir',
  'loader-images',
]);
const quick = 'quick' in flags;
/** --gpu: the profile for a machine with a real GPU (bench/gpu.sh): tune rows, host rows, end to end at batch 128, autotuned, PyTorch beside it. */
const gpuProfile = 'gpu' in flags;
if (gpuProfile && filters.length === 0) filters.push('tune', 'host ', 'e2e paper b128', 'e2e torchvision b128');
const reps = Number(flags.reps ?? (quick ? 3 : 5));
/** --naive[=N]: the naive kernels' rows too (`naive tv.conv2 fwd b8`…), N timed runs each (default 2: they are slow). */
const naiveReps = 'naive' in flags ? (flags.naive === 'true' ? 2 : Number(flags.naive)) : 0;
const batches = quick ? [8] : 'batch128' in flags ? [8, 32, 128] : [8, 32];
/** --wait-idle[=S]: before each timed run wait ≤ S s (default 60) for other processes to leave the CPUs ≥ 90% idle. */
const waitIdleS = 'wait-idle' in flags ? (flags['wait-idle'] === 'true' ? 60 : Number(flags['wait-idle'])) : 0;
const DAWN_FLAGS = ['disable-dawn-features=timestamp_quantization']; // µs timestamps instead of 65.5 µs steps
const cmd = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const want = (test: string) => selected(test, filters);
const lines: string[] = [];
const say = (s: string) => {
  lines.push(s);
  console.log(s);
};
const report = new Report(cmd, say);

// ------------------------------------------------------------------------------------ cases
const e2eSteps = flags['e2e-steps'] !== undefined ? Number(flags['e2e-steps']) : undefined;
const steps = (n: number) => e2eSteps ?? n;
const GPU_E2E = (arch: 'paper' | 'torchvision'): E2eCase => ({
  arch,
  batch: 128,
  warmup: 2,
  synthetic: steps(10),
  loader: 0,
});
const E2E: Record<E2eArch, E2eCase[]> = gpuProfile
  ? { paper: [GPU_E2E('paper')], torchvision: [GPU_E2E('torchvision')], mini: [], small28: [] }
  : quick
    ? {
        paper: [],
        torchvision: [{ arch: 'torchvision', batch: 8, warmup: 1, synthetic: steps(2), loader: steps(1) }],
        mini: [{ arch: 'mini', batch: 128, warmup: 1, synthetic: steps(3), loader: steps(3) }],
        small28: [{ arch: 'small28', batch: 128, warmup: 1, synthetic: steps(3), loader: 0 }],
      }
    : {
        paper: [
          { arch: 'paper', batch: 8, warmup: 1, synthetic: steps(3), loader: steps(2) },
          { arch: 'paper', batch: 32, warmup: 1, synthetic: steps(2), loader: steps(1) },
        ],
        torchvision: [
          { arch: 'torchvision', batch: 8, warmup: 1, synthetic: steps(3), loader: steps(2) },
          { arch: 'torchvision', batch: 32, warmup: 1, synthetic: steps(2), loader: steps(1) },
        ],
        mini: [{ arch: 'mini', batch: 128, warmup: 2, synthetic: steps(10), loader: steps(10) }],
        small28: [{ arch: 'small28', batch: 128, warmup: 2, synthetic: steps(7), loader: 0 }],
      };
const e2eName = (c: E2eCase, mode: string) => `e2e ${c.arch} b${c.batch} ${mode}`;
for (const list of Object.values(E2E)) {
  for (const c of list) {
    if (!want(e2eName(c, 'synthetic'))) c.synthetic = 0;
    if (!want(e2eName(c, 'loader'))) c.loader = 0;
  }
}

/** Names of every kernel row this invocation could run (before filtering). */
function kernelNames(): string[] {
  const names: string[] = [];
  const variants = naiveReps ? ['', 'naive '] : [''];
  for (const v of variants)
    for (const N of batches)
      for (const L of CONV_LAYERS)
        for (const d of ['fwd', 'bwd-data', 'bwd-filter', ...(v ? [] : ['fwd+bwd'])])
          names.push(`${v}${L.name} ${d} b${N}`);
  for (const v of variants)
    for (const N of batches)
      for (const L of FC_LAYERS) for (const d of ['fwd', 'dx', 'dw']) names.push(`${v}${L.name} ${d} b${N}`);
  names.push('matmul 1024x1024x1024');
  for (const N of batches)
    for (const s of POOL_LRN_SPECS) for (const d of ['fwd', 'bwd']) names.push(`${s.name} ${d} b${N}`);
  for (const [B, K] of softmaxCases()) for (const d of ['fwd', 'bwd']) names.push(`softmax-xent ${d} b${B} k${K}`);
  for (const a of sgdCases()) names.push(`sgd ${a}`);
  for (const k of INPUT_CASES) for (const side of ['host', 'device'] as const) names.push(inputName(k, side));
  return names;
}
const anyKernel = kernelNames().some(want);
if ('list' in flags) {
  const names = [...(anyKernel ? ['roof fma …', 'roof copy …'] : []), ...kernelNames().filter(want)];
  for (const list of Object.values(E2E))
    for (const c of list) {
      if (c.synthetic) names.push(e2eName(c, 'synthetic'));
      if (c.loader) names.push(e2eName(c, 'loader'));
    }
  for (const n of gpuProfile ? [128] : quick ? [8] : [8, 32])
    names.push(...CONV_LAYERS.map((L) => tuneName(L.name, n)).filter(want));
  names.push(...HOST_CASES.map(hostName).filter(want));
  names.push(...LOADER_ROWS.filter(want));
  console.log(names.join('\n'));
  process.exit(0);
}

function softmaxCases(): Array<[number, number]> {
  return quick
    ? [[32, 1000]]
    : [
        [8, 1000],
        [32, 1000],
        [128, 1000],
        [128, 10],
      ];
}
function sgdCases(): Array<'paper' | 'torchvision' | 'mini'> {
  return quick ? ['mini'] : ['paper', 'mini'];
}

// ------------------------------------------------------------------------------------ machine
function sh(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '?';
  }
}
const cpuModel = (() => {
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
  } catch {
    return '?';
  }
})();
const require = createRequire(import.meta.url);
const webgpuVersion = (() => {
  try {
    return JSON.parse(readFileSync(require.resolve('webgpu/package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
})();
const machine: Record<string, unknown> = {
  cpu: cpuModel,
  nproc: os.cpus().length,
  memory_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
  node: process.version,
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${Version} format
  lavapipe: `mesa-vulkan-drivers ${sh('dpkg-query', ['-W', '-f=${Version}', 'mesa-vulkan-drivers'])}`,
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${Version} format
  vulkan_loader: `libvulkan1 ${sh('dpkg-query', ['-W', '-f=${Version}', 'libvulkan1'])}`,
  webgpu: `webgpu ${webgpuVersion} (Dawn)`,
  loadavg_start: os.loadavg().map((x) => +x.toFixed(2)),
};

// ------------------------------------------------------------------------------------ run
const started = performance.now();
const roofRuns: RoofResult[] = [];
let finalRoofs: Roofs | undefined;

{
  const e = await createEngine({ dawnFlags: DAWN_FLAGS });
  const timer = new GpuTimer(e, { forceWall: 'wall' in flags });
  timer.waitIdleS = waitIdleS;
  const info = e.info();
  Object.assign(machine, {
    adapter: `${info.adapter.vendor} ${info.adapter.architecture} — ${info.adapter.description}`,
    software: info.software,
    timestamp_query: e.features.has('timestamp-query'),
    timing: timer.timestamps ? 'GPU timestamps (quantization off)' : 'wall: submit → onSubmittedWorkDone',
    maxStorageBufferBindingSize: info.limits.maxStorageBufferBindingSize,
  });
  say(`# alexnet-wgsl benchmark suite — ${new Date().toISOString()}`);
  say(
    `cpu: ${machine.cpu} × ${machine.nproc}, load average ${(machine.loadavg_start as number[]).join(' ')}; node ${machine.node}; ${machine.webgpu}; ${machine.lavapipe}`,
  );
  say(
    `adapter: ${machine.adapter}; timing: ${machine.timing}; ${reps} timed runs per kernel row; batches ${batches.join(', ')}${filters.length ? `; filters: ${filters.join(' ')}` : ''}` +
      `${waitIdleS ? `; waiting ≤ ${waitIdleS} s before each timed run for the CPUs to be ≥ 90% idle` : ''}`,
  );
  say(`("others" = share of both CPUs that other processes used during a row's timed runs: the machine is shared)`);

  const roofs = async (when: string) => {
    const variants = [...(await fmaRoofs(e, timer, 5)), ...(await copyRoofs(e, timer, 5))];
    report.section(`Roofs (${when})`);
    for (const r of variants) {
      roofRuns.push(r);
      report.add({
        test: `${r.name} (${when})`,
        group: 'roof',
        unit: r.unit,
        work: r.per,
        ms: r.ms,
        timing: timer.timestamps ? 'gpu-timestamp' : 'wall',
        note: r.note,
        othersCpu: r.othersCpu,
      });
    }
    // each variant's rate over all its runs so far; the roof is the best variant
    const best = (unit: string) => {
      const names = [...new Set(roofRuns.filter((r) => r.unit === unit).map((r) => r.name))];
      return Math.max(
        ...names.map((n) => {
          const rs = roofRuns.filter((r) => r.name === n);
          return rate({ unit, work: rs[0].per, ms: rs.flatMap((r) => r.ms) } as Row);
        }),
      );
    };
    const probe = roofRuns.filter((r) => r.name === fmaName(FMA_VARIANTS[0]));
    report.roofs = {
      fma: best('GFLOP/s'),
      copy: best('GB/s'),
      fmaProbe: rate({ unit: 'GFLOP/s', work: probe[0].per, ms: probe.flatMap((r) => r.ms) } as Row),
    };
  };
  try {
    if (!anyKernel) say('no kernel row selected: roofs not measured');
    else {
      await roofs('start');
      say(
        `(% of roof below: FMA ${fmt(report.roofs!.fma)} GFLOP/s (best variant; the probe's 8×vec4 kernel ${fmt(report.roofs!.fmaProbe!)}), copy ${fmt(report.roofs!.copy)} GB/s; ` +
          "the JSON, markdown and targets use each variant's median over the start and end runs)",
      );

      report.section('Convolutions (GFLOP/s = 2·N·O·OH·OW·C/g·K² per direction)');
      for (const N of batches)
        for (const L of CONV_LAYERS)
          await convRows(
            e,
            timer,
            report,
            L,
            N,
            { reps, combinedBatches: 'combined' in flags ? [8] : [], naiveReps },
            want,
          );

      report.section('Fully connected (GFLOP/s = 2·B·in·out)');
      for (const N of batches) for (const L of FC_LAYERS) await fcRows(e, timer, report, L, N, reps, want, naiveReps);
      if (want('matmul 1024x1024x1024')) await matmulRow(e, timer, report, reps);

      report.section('Max-pool and LRN (GB/s of the bytes each op must move)');
      for (const N of batches) for (const s of POOL_LRN_SPECS) await poolLrnRows(e, timer, report, s, N, reps, want);

      report.section('Softmax cross-entropy and SGD (GB/s)');
      for (const [B, K] of softmaxCases()) await softmaxRows(e, timer, report, B, K, reps, want);
      for (const a of sgdCases())
        if (want(`sgd ${a}`)) await sgdRow(e, timer, report, a, a === 'mini' ? 10 : 1000, reps);

      report.section('Input path: uint8 batch → normalised input on the device, host vs device (img/s, wall)');
      for (const k of INPUT_CASES) await inputRows(e, report, k, reps, want);

      await roofs('end');
      finalRoofs = report.roofs;
      say(
        `roofs over both measurements: FMA ${fmt(finalRoofs!.fma)} GFLOP/s (probe kernel ${fmt(finalRoofs!.fmaProbe!)}), copy ${fmt(finalRoofs!.copy)} GB/s`,
      );
    }
  } finally {
    timer.dispose();
    e.dispose();
  }
}

const e2eCases = Object.entries(E2E).filter(([, cs]) => cs.some((c) => c.synthetic > 0 || c.loader > 0));
if (e2eCases.length) {
  report.section('End to end: training step (forward, backward, SGD, loss read), images/s, wall time');
  for (const [arch, cs] of e2eCases) {
    await e2eArch(
      report,
      arch as E2eArch,
      cs.filter((c) => c.synthetic > 0 || c.loader > 0),
      { dawnFlags: DAWN_FLAGS, waitIdleS, log: (s) => say(`  ${s}`), autotune: gpuProfile ? 'cached' : 'off' },
    );
  }
}
const tuneBatches = gpuProfile ? [128] : quick ? [8] : [8, 32];
if (tuneBatches.some((n) => CONV_LAYERS.some((L) => want(tuneName(L.name, n))))) {
  report.section(
    "Autotune: the tuner's choice against today's tiles, every AlexNet conv direction (ms, GPU timestamps)",
  );
  const e = await createEngine({ dawnFlags: DAWN_FLAGS });
  try {
    machine.tune = [];
    for (const n of tuneBatches) (machine.tune as unknown[]).push(...(await tuneRows(e, n, reps, want, say)));
  } finally {
    e.dispose();
  }
}
const hostCases = HOST_CASES.filter((c) => want(hostName(c)) && (!quick || c.arch === 'mini'));
if (hostCases.length) {
  report.section('Host time to encode a training step: replayed against unrecorded, same run (ms, wall)');
  const results: HostResult[] = [];
  for (const c of hostCases) {
    // medians of 7: a step now and then meets a garbage collection (10–30 ms on this machine)
    const n = flags['host-steps'] !== undefined ? Number(flags['host-steps']) : quick ? 3 : 7;
    say(`  ${hostName(c)}: ${n} unrecorded steps, then recorded and ${n} replayed …`);
    results.push(await hostCase(c, n, DAWN_FLAGS, gpuProfile ? 'cached' : 'off'));
  }
  for (const l of hostLines(results)) say(l);
  machine.host = results;
}
if (LOADER_ROWS.some(want)) {
  report.section('Image input pipeline: JPEG files → uint8 batches on the device, one shuffled epoch (img/s, wall)');
  const e = await createEngine({ dawnFlags: DAWN_FLAGS });
  try {
    await loaderRows(e, report, {
      images: Number(flags['loader-images'] ?? (quick ? 256 : 2000)),
      dir: resolve('build/bench-data'),
      want,
      log: (s) => say(`  ${s}`),
    });
  } finally {
    e.dispose();
  }
}
machine.loadavg_end = os.loadavg().map((x) => +x.toFixed(2));
machine.wall_s = Math.round((performance.now() - started) / 1000);
say(`\nour rows took ${machine.wall_s} s; load average at the end ${(machine.loadavg_end as number[]).join(' ')}`);

// ------------------------------------------------------------------------------------ peers
const peersFlag = flags.peers;
const entries = (rows: Row[]) => rows.map((r) => jsonEntry(r, cmd, finalRoofs));
const aliasEntries = () => report.rows.filter((r) => r.alias).map((r) => jsonEntry(r, cmd, finalRoofs, r.alias));
let peerEntries: PeerEntry[] = [];
let peerReport = '';
const peersSrc = resolve(flags['peers-src'] ?? join(process.cwd(), '..', 'shared', 'peers'));
if (peersFlag !== undefined) {
  const jobs =
    peersFlag === 'true' ? DEFAULT_PEERS : peersFlag === 'all' ? PEER_JOBS.map((j) => j.key) : peersFlag.split(',');
  report.section(`Peers (${jobs.join(', ')}), run now, one after the other`);
  const t0 = performance.now();
  const run = await runPeers({
    src: peersSrc,
    dir: flags['peers-dir'] ?? join(os.tmpdir(), 'alexnet-wgsl-peers'),
    jobs,
    timeoutS: Number(flags['peer-timeout'] ?? 900),
    waitIdleS,
    log: say,
  });
  peerEntries = run.entries;
  machine.peers_wall_s = Math.round((performance.now() - t0) / 1000);
  peerReport = peersReport(run.dir, aliasEntries());
}
// published figures (shared/peers/results) fill in what was not run now, marked as such
const published = readResults(join(peersSrc, 'results'), true).filter(
  (p) => !peerEntries.some((q) => q.system === p.system && q.test === p.test),
);
const allPeers = [...peerEntries, ...published];

// ------------------------------------------------------------------------------------ ratios
const peerRate = (p: PeerEntry) => p.gflops ?? p.images_per_s ?? NaN;
const SYSTEMS = ['tfjs-webgpu', 'jax-js-webgpu', 'torch-cpu-refblas', 'torch-cpu-openblas'];
const ratioRows: string[] = [];
const aliased = report.rows.filter((r) => r.alias);
if (aliased.length) {
  report.section(
    'Ours / theirs (throughput ratio; > 1 = we are faster; * = published figure, not this run; [n%] = CPU share other processes took meanwhile)',
  );
  const head = `${'test'.padEnd(24)} ${'ours'.padStart(14)}  ${SYSTEMS.map((s) => s.padStart(28)).join(' ')}`;
  say(head);
  ratioRows.push(`| test | ours | ${SYSTEMS.join(' | ')} |`, `|---|---|${SYSTEMS.map(() => '---').join('|')}|`);
  const pct = (x?: number) => (x !== undefined && Number.isFinite(x) ? ` [${(100 * x).toFixed(0)}%]` : '');
  for (const r of aliased) {
    const cells = SYSTEMS.map((sys) => {
      const p = allPeers.find((q) => q.system === sys && q.test === r.alias);
      if (!p) return '-';
      return `${fmt(peerRate(p))}${p.published ? '*' : pct(p.othersCpu)} → ${(rate(r) / peerRate(p)).toFixed(2)}×`;
    });
    const ours = `${fmt(rate(r))}${pct(r.othersCpu)}`;
    say(`${r.alias!.padEnd(24)} ${ours.padStart(14)}  ${cells.map((c) => c.padStart(28)).join(' ')}`);
    ratioRows.push(`| ${r.alias} | ${ours} ${r.unit} | ${cells.join(' | ')} |`);
  }
}

// ------------------------------------------------------------------------------------ targets
const targets: string[] = [];
{
  const vs = (alias: string, sys: string) => {
    const r = aliased.find((x) => x.alias === alias),
      p = allPeers.find((q) => q.system === sys && q.test === alias);
    return r && p
      ? { ours: rate(r), theirs: peerRate(p), ratio: rate(r) / peerRate(p), published: !!p.published }
      : undefined;
  };
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'NOT MEASURED' : ok ? 'MET' : 'NOT MET');
  const star = (x?: { published: boolean }) => (x?.published ? '*' : '');
  // 1. conv fwd+bwd vs tfjs (≥4×) and jax (≥2×)
  const layers = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'conv2g'];
  const tf = layers.map((l) => [l, vs(`${l} fwd+bwd`, 'tfjs-webgpu')] as const);
  const jx = ['conv2', 'conv2g'].map((l) => [l, vs(`${l} fwd+bwd`, 'jax-js-webgpu')] as const);
  const allOf = (xs: ReadonlyArray<readonly [string, ReturnType<typeof vs>]>, k: number) =>
    xs.some(([, v]) => !v) ? undefined : xs.every(([, v]) => v!.ratio >= k);
  targets.push(
    `conv fwd+bwd ≥ 4× TF.js-WebGPU (batch 8): ${verdict(allOf(tf, 4))} — ${tf.map(([l, v]) => `${l} ${v ? `${v.ratio.toFixed(2)}×${star(v)}` : '-'}`).join(', ')}`,
  );
  targets.push(
    `conv fwd+bwd ≥ 2× jax-js (batch 8): ${verdict(allOf(jx, 2))} — ${jx.map(([l, v]) => `${l} ${v ? `${v.ratio.toFixed(2)}×${star(v)}` : '-'}`).join(', ')}`,
  );
  const a32 = vs('alexnet train b32', 'tfjs-webgpu');
  targets.push(
    `torchvision training step batch 32 ≥ 5× TF.js-WebGPU: ${verdict(a32 && a32.ratio >= 5)} — ${a32 ? `${fmt(a32.ours)} vs ${fmt(a32.theirs)}${star(a32)} img/s = ${a32.ratio.toFixed(2)}×` : '-'}`,
  );
  const s128 = vs('small28 train b128', 'tfjs-webgpu');
  targets.push(
    `28×28 net batch 128 ≥ 10× TF.js-WebGPU: ${verdict(s128 && s128.ratio >= 10)} — ${s128 ? `${fmt(s128.ours)} vs ${fmt(s128.theirs)}${star(s128)} img/s = ${s128.ratio.toFixed(2)}×` : '-'}`,
  );
  // 4. heaviest conv kernels: the two layers of each net with the most FLOPs, at the largest batch
  const heavyLayers = ['paper.conv2', 'paper.conv3', 'tv.conv2', 'tv.conv4'];
  const bmax = Math.max(...batches);
  const heavy = report.rows.filter(
    (r) =>
      r.group === 'conv' &&
      r.timing !== 'derived' &&
      heavyLayers.includes(String(r.extra?.layer)) &&
      r.extra?.batch === bmax,
  );
  if (heavy.length && finalRoofs) {
    const pcts = heavy.map(
      (r) => [r.test, (100 * rate(r)) / finalRoofs!.fma, (100 * rate(r)) / finalRoofs!.fmaProbe!] as const,
    );
    targets.push(
      `heaviest conv kernels (paper conv2/conv3, torchvision conv2/conv4, batch ${bmax}) ≥ 50% of the FMA roof (${fmt(finalRoofs.fma)} GFLOP/s): ` +
        `${verdict(pcts.every(([, p]) => p >= 50))} — ${pcts.map(([t, p]) => `${t.replace(` b${bmax}`, '')} ${p.toFixed(0)}%`).join(', ')}`,
    );
    targets.push(
      `  (against the probe's 8×vec4 FMA kernel, ${fmt(finalRoofs.fmaProbe!)} GFLOP/s, instead: ${verdict(pcts.every(([, , p]) => p >= 50))} — ` +
        `${pcts.map(([t, , p]) => `${t.replace(` b${bmax}`, '')} ${p.toFixed(0)}%`).join(', ')})`,
    );
  } else targets.push('heaviest conv kernels ≥ 50% of the FMA roof: NOT MEASURED (conv rows filtered out)');
  const conv = report.rows.filter((r) => r.group === 'conv' && r.timing !== 'derived');
  if (conv.length && finalRoofs) {
    const flops = conv.reduce((s, r) => s + r.work, 0),
      ms = conv.reduce((s, r) => s + median(r.ms), 0);
    targets.push(
      `  (all conv rows together: ${fmt(flops / ms / 1e6)} GFLOP/s = ${((100 * flops) / ms / 1e6 / finalRoofs.fma).toFixed(0)}% of the FMA roof, ${((100 * flops) / ms / 1e6 / finalRoofs.fmaProbe!).toFixed(0)}% of the probe kernel's)`,
    );
  }
  report.section('Targets');
  for (const t of targets) say(t);
  if (allPeers.some((p) => p.published))
    say('* = the peer figure is the published one (shared/peers/results), not measured in this run');
}
if (peerReport) {
  report.section('shared/peers/report.mjs with our entries');
  say(peerReport);
}

// ------------------------------------------------------------------------------------ output
// ------------------------------------------------------------------------------------ PyTorch on this GPU (--gpu)
if (gpuProfile) {
  const probe = spawnSync('python3', ['-c', 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)']);
  if (probe.status !== 0) say('\nPyTorch with CUDA is not installed here: no same-GPU reference in this run');
  else {
    report.section('PyTorch, the same training step on the same GPU (cuDNN fp32, TF32 off), and ours against it');
    const script = join(dirname(fileURLToPath(import.meta.url)), 'torch', 'alexnet_step.py');
    const tmp = join(os.tmpdir(), `alexnet-torch-${process.pid}.json`);
    const r = spawnSync('python3', [script, '--arch', 'paper,torchvision', '--batch', '128', '--json', tmp], {
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (r.status !== 0) say(`PyTorch step failed: ${r.stderr.trim().split('\n').at(-1)}`);
    else {
      const torch = JSON.parse(readFileSync(tmp, 'utf8')) as Array<{ test: string; images_per_s: number }>;
      machine.torch = torch;
      for (const t of torch) {
        const ours = report.find(`e2e ${t.test.replace(' train ', ' ')} synthetic`);
        say(
          `${t.test.padEnd(24)} PyTorch ${t.images_per_s.toFixed(0)} img/s` +
            (ours ? `, ours ${fmt(rate(ours))} img/s = ${(rate(ours) / t.images_per_s).toFixed(2)}×` : ''),
        );
      }
    }
  }
}

const adapterSlug = String(machine.adapter ?? 'adapter')
  .toLowerCase()
  .replace(/[^a-z0-9]+/g, '-')
  .replace(/^-|-$/g, '')
  .slice(0, 80);
if (gpuProfile && !flags.json) {
  mkdirSync('bench/results', { recursive: true });
  flags.json = join('bench/results', `${adapterSlug}.json`);
}
if (flags.json) {
  const out = {
    system: SYSTEM,
    machine,
    roofs: finalRoofs,
    cmd,
    results: [...entries(report.rows), ...aliasEntries().filter((a) => !report.rows.some((r) => r.test === a.test))],
  };
  writeFileSync(flags.json, JSON.stringify(out, null, 1));
  say(`wrote ${flags.json} (${out.results.length} entries; peer-named entries: ${aliasEntries().length})`);
}
if (flags.md) {
  const md: string[] = [`# bench run ${new Date().toISOString()}`, '', `\`${cmd}\``, '', '| | |', '|---|---|'];
  for (const [k, v] of Object.entries(machine)) md.push(`| ${k} | ${Array.isArray(v) ? v.join(' ') : String(v)} |`);
  if (finalRoofs)
    md.push(
      '',
      `Roofs: FMA ${fmt(finalRoofs.fma)} GFLOP/s (best variant; the probe's 8×vec4 kernel ${fmt(finalRoofs.fmaProbe ?? NaN)}), copy ${fmt(finalRoofs.copy)} GB/s.`,
    );
  md.push('', '## targets', '', ...targets.map((t) => `- ${t}`));
  if (ratioRows.length) md.push('', '## ours / theirs', '', ...ratioRows);
  // condensed tables: conv per layer and batch, end to end with memory
  const convRowsAll = report.rows.filter((r) => r.group === 'conv');
  for (const N of batches) {
    const at = convRowsAll.filter((r) => r.extra?.batch === N);
    if (!at.length) continue;
    md.push(
      '',
      `## conv summary, batch ${N} (GFLOP/s, % of the FMA roof; fwd+bwd as the peers count it)`,
      '',
      '| layer | shape | fwd | bwd-data | bwd-filter | fwd+bwd |',
      '|---|---|---|---|---|---|',
    );
    for (const L of CONV_LAYERS) {
      const cell = (d: string) => {
        const r = at.find((x) => x.extra?.layer === L.name && x.extra?.direction === d);
        return r
          ? `${fmt(median(r.ms))} ms, **${fmt(rate(r))}** (${finalRoofs ? ((100 * rate(r)) / finalRoofs.fma).toFixed(0) : '?'}%)`
          : '';
      };
      if (at.some((x) => x.extra?.layer === L.name))
        md.push(
          `| ${L.name} | ${L.note} | ${cell('fwd')} | ${cell('bwd-data')} | ${cell('bwd-filter')} | ${cell('fwd+bwd')} |`,
        );
    }
  }
  const e2eRows = report.rows.filter((r) => r.group === 'e2e');
  if (e2eRows.length) {
    md.push(
      '',
      '## end-to-end summary',
      '',
      "| arch | batch | data | step ms median (min–max) | n | images/s | first step | peak / minimum device memory | others' CPU |",
      '|---|---|---|---|---|---|---|---|---|',
    );
    const MiB = (b: unknown) => `${(Number(b) / 2 ** 20).toFixed(0)} MiB`;
    for (const r of e2eRows) {
      const x = r.extra as {
        arch: string;
        batch: number;
        mode: string;
        first_steps_ms?: number[];
        peak_bytes_allocated: number;
        min_bytes: number;
      };
      md.push(
        `| ${x.arch} | ${x.batch} | ${x.mode === 'synthetic' ? 'fixed batch (excluded)' : 'BatchLoader (included)'} | ${fmt(median(r.ms))} (${fmt(Math.min(...r.ms))}–${fmt(Math.max(...r.ms))}) | ${r.ms.length} | **${fmt(rate(r))}** | ` +
          `${x.first_steps_ms?.length ? `${(x.first_steps_ms[0] / 1000).toFixed(1)} s` : '-'} | ${MiB(x.peak_bytes_allocated)} / ${MiB(x.min_bytes)} = ${(x.peak_bytes_allocated / x.min_bytes).toFixed(2)}× | ` +
          `${r.othersCpu !== undefined && Number.isFinite(r.othersCpu) ? `${(100 * r.othersCpu).toFixed(0)}%` : ''} |`,
      );
    }
  }
  for (const g of ['roof', 'conv', 'fc', 'pool', 'lrn', 'softmax', 'sgd', 'e2e']) {
    const rs = report.rows.filter((r) => r.group === g);
    if (!rs.length) continue;
    md.push('', `## ${g}`, '', mdHeader, ...rs.map((r) => mdLine(r, finalRoofs)));
  }
  if (peerReport) md.push('', '## report.mjs', '', peerReport);
  writeFileSync(flags.md, `${md.join('\n')}\n`);
  say(`wrote ${flags.md}`);
}
