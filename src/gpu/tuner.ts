// Autotuning: an op with several correct variants (conv tiles, GEMM workgroup shapes) asks the
// engine's Tuner which to use for its (kernel, shape) key. Without a winner it uses its first
// candidate (the hand-picked default) and, unless tuning is off, queues the key; tunePending()
// then times every queued key's candidates on this adapter (GPU timestamps where the adapter has
// them, else submit → done) and keeps the winner. A challenger must beat the default by more than
// MARGIN to win, and then win again alone against the default in fresh rounds, so noise (and the
// luck of the fastest of several noisy timings) does not swap a variant in. Winners live in memory and, through a
// TuneStore (Node: a JSON file keyed by adapter and engine version), across runs. A winner is kept
// under its key and the labels of the candidates it beat: when a release adds a variant, the shape
// is timed again instead of trusting a race the new variant did not run in.
//   off     the defaults, nothing timed
//   cached  stored winners; shapes without one are tuned once and stored (the default)
//   full    every shape is timed again this run and the store updated
// Every candidate of an op gives the same numbers bit for bit (the summation order does not depend
// on the tile): tests run each one against the float64 reference and against each other.
import { DispatchError } from '../errors.js';
import { median } from '../util/stats.js';

export type AutotuneMode = 'off' | 'cached' | 'full';

/** What timing needs of the engine (the tuner is the engine's, so it names no Engine). */
export interface TimingEngine {
  readonly features: ReadonlySet<string>;
  sync(): Promise<void>;
  startProfile(): void;
  stopProfile(): Promise<ReadonlyArray<{ ms: number }>>;
}

/** Encodes one run of a queued key's op on scratch tensors, with a given candidate. */
export interface TuneBench<C> {
  run(candidate: C): void;
  dispose(): void;
}

export interface TuneRow {
  key: string;
  /** Each candidate's median time, ms (the default first). */
  trials: Array<{ label: string; ms: number }>;
  winner: string;
}

/** Where winners persist between runs (the key says which adapter and engine version they are for). */
export interface TuneStore {
  load(): Record<string, string>;
  save(winners: Record<string, string>): void;
}

/** A challenger wins only if it is this much faster than the default. */
export const MARGIN = 0.03;

/** The fastest trial's label if it beats the default (the first) by more than MARGIN, else the default's. */
export function winnerOf(trials: ReadonlyArray<{ label: string; ms: number }>): string {
  const best = trials.reduce((a, b) => (b.ms < a.ms ? b : a));
  return best.ms < trials[0].ms * (1 - MARGIN) ? best.label : trials[0].label;
}

interface Queued {
  key: string;
  candidates: unknown[];
  label: (c: unknown) => string;
  prepare: () => TuneBench<unknown>;
}

export class Tuner {
  private winners = new Map<string, string>();
  /** Keys timed in this process (mode 'full' trusts only these). */
  private timed = new Set<string>();
  private queue = new Map<string, Queued>();

  constructor(
    readonly mode: AutotuneMode = 'off',
    private store?: TuneStore,
  ) {
    if (mode !== 'off' && store) for (const [k, v] of Object.entries(store.load())) this.winners.set(k, v);
  }

  /** The candidate to use for `key`: the winner if there is one, else the first (and the key is queued). */
  pick<C>(key: string, candidates: readonly C[], label: (c: C) => string, prepare: () => TuneBench<C>): C {
    const forced = this.forced?.(key);
    if (forced !== undefined) {
      const c = candidates.find((c) => label(c) === forced);
      if (c === undefined) throw new DispatchError(`tuner: no candidate '${forced}' for ${key}`);
      return c;
    }
    if (this.mode === 'off' || candidates.length < 2) return candidates[0];
    const id = `${key} [${candidates.map(label).join(' ')}]`;
    const w = this.winners.get(id);
    if (w !== undefined && (this.mode === 'cached' || this.timed.has(id))) {
      const c = candidates.find((c) => label(c) === w);
      if (c !== undefined) return c;
    }
    if (!this.queue.has(id))
      this.queue.set(id, {
        key,
        candidates: [...candidates],
        label: label as (c: unknown) => string,
        prepare: prepare as () => TuneBench<unknown>,
      });
    return candidates[0];
  }

  private forced?: (key: string) => string | undefined;

  /** Use the candidate `choose(key)` labels, where it gives one, whatever the mode (tests run every variant so). */
  force(choose?: (key: string) => string | undefined): void {
    this.forced = choose;
  }

  /** Keys used since the last tunePending() that have no winner yet. */
  get pending(): string[] {
    return [...this.queue.values()].map((q) => q.key);
  }

  /** Time the candidates of every queued key, keep the winners (and store them); one row per key. */
  async tunePending(engine: TimingEngine, o: { reps?: number; onDone?: (row: TuneRow, k: number) => void } = {}) {
    const reps = o.reps ?? 5;
    const rows: TuneRow[] = [];
    const keys = [...this.queue.entries()];
    this.queue.clear();
    for (const [k, [id, q]] of keys.entries()) {
      const bench = q.prepare();
      try {
        const runs = q.candidates.map((c) => () => bench.run(c));
        const { trials, winner } = await chooseVariant(engine, q.candidates.map(q.label), runs, reps);
        this.winners.set(id, winner);
        this.timed.add(id);
        rows.push({ key: q.key, trials, winner });
        o.onDone?.(rows[rows.length - 1], k);
      } finally {
        bench.dispose();
      }
    }
    if (rows.length) this.store?.save(Object.fromEntries(this.winners));
    return rows;
  }
}

/**
 * Time each variant's run (labels[0] is the default) and pick by winnerOf. A variant slower than
 * twice the default in the first round drops out of the others (on lavapipe the workgroup-memory
 * kernels run 2–3× slower on most shapes, ~40× on conv1's dX: timing them five times over would
 * double a tuning pass). A challenger that wins must win again, alone against the default in fresh
 * rounds, or the default stays: the fastest of several noisy timings is flattered by its luck.
 */
export async function chooseVariant(
  e: TimingEngine,
  labels: readonly string[],
  runs: ReadonlyArray<() => void>,
  reps: number,
): Promise<{ trials: Array<{ label: string; ms: number }>; winner: string }> {
  const first = await sampleRounds(e, runs, 1, true);
  const kept = runs.map((_, i) => i).filter((i) => i === 0 || first[i][0] <= 2 * first[0][0]);
  const rest = await sampleRounds(
    e,
    kept.map((i) => runs[i]),
    reps - 1,
    false,
  );
  const trials = labels.map((label, i) => {
    const k = kept.indexOf(i);
    return { label, ms: median(k < 0 ? first[i] : [...first[i], ...rest[k]]) };
  });
  let winner = winnerOf(trials);
  if (winner !== labels[0]) {
    const again = await timeRounds(e, [runs[0], runs[labels.indexOf(winner)]], reps);
    if (!(again[1] < again[0] * (1 - MARGIN))) winner = labels[0];
  }
  return { trials, winner };
}

/** Each run's median ms over `reps` rounds, after one untimed run each (which compiles its pipeline). */
export async function timeRounds(e: TimingEngine, runs: ReadonlyArray<() => void>, reps: number): Promise<number[]> {
  return (await sampleRounds(e, runs, reps, true)).map(median);
}

/**
 * Each run's times over `reps` rounds (after one untimed run each if `warm`). A round times every
 * run once, in turn, so a change in the machine's load falls on all of them.
 */
async function sampleRounds(e: TimingEngine, runs: ReadonlyArray<() => void>, reps: number, warm: boolean) {
  if (warm) {
    for (const run of runs) run();
    await e.sync();
  }
  const ms = runs.map((): number[] => []);
  const stamps = e.features.has('timestamp-query');
  for (let r = 0; r < reps; r++) {
    for (const [i, run] of runs.entries()) {
      if (stamps) {
        e.startProfile();
        run();
        ms[i].push((await e.stopProfile()).reduce((s, x) => s + x.ms, 0));
      } else {
        const t0 = performance.now();
        run();
        await e.sync();
        ms[i].push(performance.now() - t0);
      }
    }
  }
  return ms;
}
