// `alexnet-wgsl experiment NAME|all`: the paper's claims as fixed-seed comparisons (src/node/experiments/),
// each writing <out>/<name>/ and printing its verdict with the paper's number beside ours.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { flag, helpText, parseArgs, UsageError, workersFlag } from './args.js';
import { EXPERIMENTS } from '../node/experiments/definitions.js';
import { runExperiment, shown } from '../node/experiments/runner.js';
import type { CliEnv } from './env.js';

const flags = {
  data: flag.string(
    "'fashion-mnist', a folder of .npy arrays, an ImageFolder tree or a prepared folder",
    'fashion-mnist',
  ),
  seeds: flag.int('seeds per variant (a verdict needs at least 2; 3 gives mean ± sd)', 3, { min: 1 }),
  epochs: flag.int('epochs per run', 2, { min: 1 }),
  'train-limit': flag.int('training images per run (the first N)', 10000, { min: 1 }),
  'val-limit': flag.int('validation images', 2000, { min: 1 }),
  quick: flag.boolean('2 steps on 64 images, 1 seed: checks the machinery in seconds, decides nothing'),
  out: flag.string('output folder (one subfolder per experiment)', 'experiments'),
  workers: workersFlag,
  help: flag.boolean('show this help'),
};

export async function experimentCommand(argv: string[], env: CliEnv): Promise<number> {
  const { flags: f, positional } = parseArgs(argv, flags);
  const names = EXPERIMENTS.map((x) => x.name);
  if (f.help) {
    console.log(helpText(`experiment ${['all', ...names].join('|')}`, "reproduce one of the paper's claims", flags));
    return 0;
  }
  const [name] = positional;
  if (positional.length !== 1 || !(name === 'all' || names.includes(name)))
    throw new UsageError(`experiment takes one name: all, ${names.join(', ')}`);
  const chosen = EXPERIMENTS.filter((x) => name === 'all' || x.name === name);
  const engine = await env.createEngine();
  try {
    for (const x of chosen) {
      const r = await runExperiment(x, {
        ...f,
        engine,
        log: (l) => console.log(l),
      });
      console.log(`${x.name}: ${r.verdict.toUpperCase()}${r.reason ? ` (${r.reason})` : ''} — ${x.title}`);
      for (const c of r.claims) console.log(`  ${c.what}: ours ${shown(c)}, paper ${c.paper}: ${c.verdict}`);
    }
    const tables = chosen.map((x) => readFileSync(join(f.out, x.name, 'table.md'), 'utf8'));
    await writeFile(join(f.out, 'SUMMARY.md'), tables.join('\n'));
    console.log(`results: ${f.out}/<name>/ (result.json, table.md, figure.png), ${f.out}/SUMMARY.md`);
    return 0;
  } finally {
    engine.dispose();
  }
}
