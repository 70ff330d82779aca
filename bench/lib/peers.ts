// The peers side by side, in the same run: shared/peers is copied to a writable folder (default
// $TMPDIR/alexnet-wgsl-peers; `npm ci` there the first time — the peers' own package.json, never
// ours), its harnesses are run one after the other after our rows (never concurrently with
// them), each writing fresh results/*.json, and the ratio ours/theirs is printed per test name.
// Our entries go into the same folder as results/alexnet-wgsl.json and `node report.mjs` there
// prints the peers' tables with our rows beside theirs.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { cpuSample, othersShare, waitIdle } from './gpu_timer.js';

export interface PeerJob {
  key: string;
  what: string;
  cmd: string[];
  approxS: number;
}

/** Every job --peers knows; the default set is what the targets need. */
export const PEER_JOBS: PeerJob[] = [
  {
    key: 'tfjs-convbwd',
    what: 'tfjs-webgpu conv fwd+bwd, 6 layers, batch 8',
    cmd: ['node', 'bench-tfjs.mjs', '--tests=convbwd'],
    approxS: 110,
  },
  {
    key: 'tfjs-small',
    what: 'tfjs-webgpu 28×28 net training, batch 128',
    cmd: ['node', 'bench-tfjs.mjs', '--tests=small'],
    approxS: 80,
  },
  {
    key: 'tfjs-alexnet32',
    what: 'tfjs-webgpu AlexNet training, batch 32 (1 timed step)',
    cmd: ['node', 'bench-tfjs.mjs', '--tests=alexnet', '--batches=32'],
    approxS: 140,
  },
  {
    key: 'torch',
    what: 'PyTorch CPU (Debian, reference BLAS): matmul, conv, convbwd, alexnet b8/b32, small',
    cmd: ['/usr/bin/python3', 'bench-torch.py'],
    approxS: 80,
  },
  {
    key: 'jax',
    what: 'jax-js webgpu conv2 / conv2g fwd and fwd+bwd',
    cmd: ['node', 'probe-jax.mjs', '--reps=5'],
    approxS: 60,
  },
  {
    key: 'tfjs-conv',
    what: 'tfjs-webgpu matmul 1024³ + conv forward (optional)',
    cmd: ['node', 'bench-tfjs.mjs', '--tests=matmul,conv'],
    approxS: 45,
  },
  {
    key: 'tfjs-alexnet8',
    what: 'tfjs-webgpu AlexNet training, batch 8 (optional)',
    cmd: ['node', 'bench-tfjs.mjs', '--tests=alexnet', '--batches=8'],
    approxS: 100,
  },
  {
    key: 'torch-openblas',
    what: 'PyTorch CPU with OpenBLAS (optional; apt-get download)',
    cmd: ['sh', 'bench-torch-openblas.sh'],
    approxS: 25,
  },
];
export const DEFAULT_PEERS = ['tfjs-convbwd', 'tfjs-small', 'tfjs-alexnet32', 'torch', 'jax'];

export interface PeerEntry {
  system: string;
  test: string;
  median: number;
  gflops?: number;
  images_per_s?: number;
  ms: number[];
  cmd?: string;
  /** From shared/peers/results (measured earlier, elsewhere), not in this run. */
  published?: boolean;
  /** Share of the CPUs other processes used while the job that produced it ran. */
  othersCpu?: number;
}

export interface PeerRun {
  dir: string;
  entries: PeerEntry[];
  log: string[];
  report?: string;
}

/** Copy shared/peers to `dir` (scripts refreshed every run, results/ emptied) and install it once. */
export function preparePeers(src: string, dir: string, log: (s: string) => void): void {
  if (!existsSync(join(src, 'bench-tfjs.mjs'))) throw new Error(`--peers: no peer harness at ${src} (set --peers-src)`);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(src)) {
    if (f === 'results' || f === 'node_modules') continue;
    cpSync(join(src, f), join(dir, f), { recursive: true, force: true });
  }
  const chmod = (p: string) => {
    chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
    if (statSync(p).isDirectory()) for (const f of readdirSync(p)) if (f !== 'node_modules') chmod(join(p, f));
  };
  chmod(dir);
  // published results stay beside, for reference; results/ holds this run's only
  if (!existsSync(join(dir, 'results-published')))
    cpSync(join(src, 'results'), join(dir, 'results-published'), { recursive: true });
  chmod(join(dir, 'results-published'));
  rmSync(join(dir, 'results'), { recursive: true, force: true });
  mkdirSync(join(dir, 'results'));
  if (
    !existsSync(join(dir, 'node_modules', '@tensorflow', 'tfjs')) ||
    !existsSync(join(dir, 'node_modules', '@jax-js', 'jax'))
  ) {
    log(`installing the peers in ${dir} (npm ci, their own package-lock.json) ...`);
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: dir,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`npm ci in ${dir} failed (exit ${r.status})`);
  }
}

/** Run one peer job with a time limit; its output is echoed with a prefix. Resolves to its exit code. */
function runJob(
  dir: string,
  job: PeerJob,
  timeoutS: number,
  log: (s: string) => void,
): Promise<{ code: number | string; othersCpu: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now(),
      c0 = cpuSample();
    const child = spawn(job.cmd[0], job.cmd.slice(1), {
      cwd: dir,
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const echo = (buf: Buffer) => {
      for (const l of buf.toString().split('\n'))
        if (l.trim() && !/artificially reduced/.test(l)) log(`  [${job.key}] ${l}`);
    };
    child.stdout.on('data', echo);
    child.stderr.on('data', echo);
    const timer = setTimeout(() => {
      log(`  [${job.key}] time limit ${timeoutS} s reached: stopping it`);
      child.kill('SIGTERM');
    }, timeoutS * 1000);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      const others = othersShare(c0, cpuSample());
      log(
        `  [${job.key}] done in ${((performance.now() - t0) / 1000).toFixed(0)} s (exit ${code ?? sig}); other processes used ${Number.isFinite(others) ? `${(100 * others).toFixed(0)}%` : '?'} of the CPUs meanwhile`,
      );
      resolve({ code: code ?? String(sig), othersCpu: others });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      log(`  [${job.key}] could not start: ${err.message}`);
      resolve({ code: err.message, othersCpu: NaN });
    });
  });
}

export function readResults(folder: string, published = false): PeerEntry[] {
  if (!existsSync(folder)) return [];
  const out: PeerEntry[] = [];
  for (const f of readdirSync(folder).filter((x) => x.endsWith('.json'))) {
    try {
      const j = JSON.parse(readFileSync(join(folder, f), 'utf8'));
      for (const r of j.results ?? []) out.push({ ...r, system: r.system ?? j.system, published });
    } catch {
      /* a half-written file of a stopped job */
    }
  }
  return out;
}

export async function runPeers(o: {
  src: string;
  dir: string;
  jobs: string[];
  timeoutS: number;
  waitIdleS?: number;
  log: (s: string) => void;
}): Promise<PeerRun> {
  const log: string[] = [];
  const say = (s: string) => {
    log.push(s);
    o.log(s);
  };
  const jobs = o.jobs.map((key) => {
    const job = PEER_JOBS.find((j) => j.key === key);
    if (!job) throw new Error(`--peers: unknown job '${key}' (known: ${PEER_JOBS.map((j) => j.key).join(', ')})`);
    return job;
  });
  preparePeers(o.src, o.dir, say);
  const others = new Map<string, number>(); // by the command line the harness writes into its entries
  for (const job of jobs) {
    if (o.waitIdleS) say(`  waited ${(await waitIdle(2 * o.waitIdleS)).toFixed(0)} s for the CPUs to be ≥ 90% idle`);
    say(`peer ${job.key}: ${job.what} — \`${job.cmd.join(' ')}\` (~${job.approxS} s on a quiet machine)`);
    const r = await runJob(o.dir, job, o.timeoutS, say);
    others.set(job.cmd.join(' '), r.othersCpu);
  }
  const entries = readResults(join(o.dir, 'results')).map((p) => ({
    ...p,
    othersCpu: p.cmd !== undefined ? others.get(p.cmd) : undefined,
  }));
  return { dir: o.dir, entries, log };
}

/** Put our peer-named entries into the peers' results/ and print their report (node report.mjs). */
export function peersReport(dir: string, ours: Record<string, unknown>[]): string {
  writeFileSync(
    join(dir, 'results', 'alexnet-wgsl.json'),
    JSON.stringify({ system: 'alexnet-wgsl', results: ours }, null, 1),
  );
  const r = spawnSync('node', ['report.mjs'], { cwd: dir, encoding: 'utf8' });
  return r.status === 0 ? r.stdout : `report.mjs failed: ${r.stderr}`;
}
