// npm run test:mutants: small, realistic bugs put into a copy of the tree one at a time, each of which
// the test suite must catch. A mutant whose text is no longer in the source is an error (the list is
// kept in step with the code), and so is one the suite lets through. Each mutant runs the test files
// named beside it (the ones that should catch it); --full runs the whole suite for each instead.
//   node scripts/mutants.mjs [--full] [name...]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const MUTANTS = [
  {
    name: 'ImageNet mean in BGR order (preprocessing constant)',
    file: 'src/models/spec.ts',
    find: 'IMAGENET_MEAN = [0.485, 0.456, 0.406]',
    replace: 'IMAGENET_MEAN = [0.406, 0.456, 0.485]',
    tests: ['torchvision_interop'],
  },
  {
    name: "LRN α divided by n (PyTorch's convention given the paper's α)",
    file: 'src/ops/lrn.ts',
    find: 'alpha: f32(o.alpha),',
    replace: 'alpha: f32(o.alpha / o.size),',
    tests: ['lrn'],
  },
  {
    name: 'weight decay not scaled by the learning rate (update constant)',
    file: 'src/optim.ts',
    find: 'decay_lr: lrParam(lr, decay),',
    replace: 'decay_lr: f32(decay),',
    tests: ['sgd'],
  },
  {
    name: 'random crop offset off by one (the last offset never drawn)',
    file: 'src/data/augment.ts',
    find: 'return rng.int(stored - size + 1);',
    replace: 'return rng.int(stored - size);',
    tests: ['data_augment'],
  },
  {
    name: "conv layers' bias gradient dropped",
    file: 'src/ops/conv2d.ts',
    find: 'const db = b?.requiresGrad ? conv2dBiasGrad(d) : undefined;',
    replace: 'const db = undefined;',
    tests: ['conv2d'],
  },
  {
    name: "fc6's input features taken in H,W,C order when importing weights (transposed flatten)",
    file: 'src/checkpoint/load_model.ts',
    find: '    weights = weightsOnly(file, source);\n',
    replace: `    weights = weightsOnly(file, source);
    for (const [name, w] of weights) {
      if (w.shape.length !== 2 || w.shape[1] !== 256 * 36) continue;
      const d = new Float32Array(w.data.length);
      for (let o = 0; o < w.shape[0]; o++)
        for (let c = 0; c < 256; c++)
          for (let s = 0; s < 36; s++) d[o * 9216 + s * 256 + c] = w.data[o * 9216 + c * 36 + s];
      weights.set(name, { ...w, data: d });
    }
`,
    tests: ['torchvision_interop'],
  },
  {
    name: "a prepared image read from the next image's first row (record offset + one row)",
    file: 'src/node/data/prepared.ts',
    find: 'await (await fh).read(buf, 0, len, off);',
    replace: 'await (await fh).read(buf, 0, len, off + (this.decode ? 0 : 768));',
    tests: ['data_prepared'],
  },
  {
    name: "experiments' spread over seeds divided by n instead of n − 1",
    file: 'src/node/experiments/verdict.ts',
    find: '/ (n - 1))',
    replace: '/ n)',
    tests: ['experiments'],
  },
  {
    name: "a replayed step keeps the recording's step counter (dropout's mask not patched)",
    file: 'src/gpu/replay.ts',
    find: 'for (const f of op.perStep) this.patches.push(',
    replace: 'for (const f of op.perStep.filter((p) => p.param.per === "lr")) this.patches.push(',
    tests: ['recorded_step'],
  },
  {
    name: 'the arena plan lets buffers that meet at one dispatch share memory',
    file: 'src/gpu/recording.ts',
    find: 'placed.filter((p) => p.first <= v.last && v.first <= p.last)',
    replace: 'placed.filter((p) => p.first < v.last && v.first < p.last)',
    tests: ['recorded_step'],
  },
  {
    name: 'uniform fields packed in the order the caller wrote them, not the struct order',
    file: 'src/gpu/uniform.ts',
    find: 'const p = params[field.name];',
    replace: 'const p = Object.values(params)[k];',
    tests: ['kernel'],
  },
  {
    name: 'the subgroup filter gradient takes each pixel from the next lane (one off in the shuffle)',
    file: 'kernels/conv2d_bwd_filter_subgroup.wgsl',
    find: 'let d = subgroupShuffle(ds[i], s);',
    replace: 'let d = subgroupShuffle(ds[i], min(s + 1u, rn - 1u));',
    tests: ['conv2d'],
  },
  {
    name: "the subgroup GEMM's shared rows read at k0 (each lane's own k dropped)",
    file: 'kernels/gemm_subgroup.wgsl',
    find: 's[i] = opA(m0 + i, k0 + lane);',
    replace: 's[i] = opA(m0 + i, k0);',
    tests: ['linear'],
  },
];

const args = process.argv.slice(2);
const full = args.includes('--full');
const only = args.filter((a) => !a.startsWith('--'));
const root = process.cwd();
const run = (cmd, argv, cwd) =>
  spawnSync(cmd, argv, { cwd, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });

/** A copy of the tracked (and untracked, not ignored) files, sharing node_modules. */
function copyTree() {
  const ls = run('git', ['ls-files', '-co', '--exclude-standard', '-z'], root);
  if (ls.status !== 0) throw new Error(`git ls-files: ${ls.stderr}`);
  const dir = mkdtempSync(join(tmpdir(), 'mutant-'));
  for (const f of ls.stdout.split('\0').filter(Boolean)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(root, f), join(dir, f));
  }
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

const failedTests = (out) => [...out.replace(/\x1b\[[0-9;]*m/g, '').matchAll(/FAIL +"([^"]+)"/g)].map((m) => m[1]);
const results = [];
for (const m of MUTANTS.filter((m) => !only.length || only.some((o) => m.name.includes(o)))) {
  const src = readFileSync(join(root, m.file), 'utf8');
  const hits = src.split(m.find).length - 1;
  if (hits !== 1) {
    console.error(`mutant "${m.name}": its text occurs ${hits} times in ${m.file}; update the list`);
    process.exit(2);
  }
  const dir = copyTree();
  try {
    writeFileSync(join(dir, m.file), src.replace(m.find, m.replace));
    for (const target of ['dist', 'test']) {
      const b = run(process.execPath, ['scripts/build.mjs', target], dir);
      if (b.status !== 0) throw new Error(`mutant "${m.name}" does not build:\n${b.stderr}`);
    }
    const pattern = full ? '\\.test\\.js$' : `^(${m.tests.join('|')})\\.test\\.js$`;
    const t0 = Date.now();
    const t = run(process.execPath, ['node_modules/uvu/bin.js', 'build/test', pattern], dir);
    const caught = failedTests(t.stdout + t.stderr);
    results.push({ m, caught, killed: t.status !== 0, s: (Date.now() - t0) / 1000 });
    console.log(
      `${t.status !== 0 ? 'caught  ' : 'SURVIVED'}  ${m.name} (${m.file}; ${((Date.now() - t0) / 1000).toFixed(0)} s)` +
        caught.map((c) => `\n          failed: ${c}`).join(''),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const survived = results.filter((r) => !r.killed).length;
console.log(`${results.length - survived} of ${results.length} mutants caught`);
process.exit(survived ? 1 : 0);
