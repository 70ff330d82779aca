// DecodePool: image decoding (decode.ts) in worker threads, so the main thread, which encodes the
// training step, only posts a path and receives the pixels (their buffer transferred, not copied).
// Each worker decodes one image at a time with one libvips thread, so N workers keep N cores busy.
// Results are a pure function of the file, whichever worker decodes it and in whatever order jobs
// finish, so a loader's (seed, epoch, position) determinism and bit-exact resume are unchanged.
//
// sharp's work runs on libuv's process-wide thread pool (4 threads by default): a program with more
// workers than that sets UV_THREADPOOL_SIZE at its start, as the CLI does (src/cli/bin.ts).
//
// Idle workers are unref'd (a pool never holds the process open at exit); a worker that dies fails
// only its own job, with the file named, and is replaced.
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import workerSource from 'worker:./decode_worker.ts';
import { AlexnetError, FormatError } from '../../errors.js';
import type { Resample } from '../../models/spec.js';
import { loadSharp } from '../sharp.js';
import { DEFAULT_MAX_PIXELS, describe } from './decode.js';

/** What a worker is asked: decodeImage()'s arguments. */
export interface DecodeRequest {
  id: number;
  src: string | Uint8Array;
  size: number;
  maxPixels: number;
  resample: Resample;
}

export type DecodeReply = { id: number; busyMs: number } & ({ pixels: Uint8Array } | { error: string });

/** Decodes a file or encoded bytes to size×size×3 uint8, as decodeImage() does. */
export type Decode = (
  src: string | Uint8Array,
  size: number,
  maxPixels?: number,
  resample?: Resample,
) => Promise<Uint8Array>;

export interface PoolStats {
  workers: number;
  /** images decoded (or failed) since the pool started */
  images: number;
  /** ms the workers spent decoding, summed over workers */
  busyMs: number;
  /** ms since the pool started */
  wallMs: number;
}

/** The default: the cores minus one (the main thread's), at least one. */
export const defaultWorkers = (): number => Math.max(1, availableParallelism() - 1);

interface Job {
  request: DecodeRequest;
  resolve: (px: Uint8Array) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  job?: Job;
}

export class DecodePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly started = performance.now();
  private sharpUrl?: string;
  private nextId = 0;
  private images = 0;
  private busyMs = 0;
  private closed = false;

  /** The threads start, and sharp is loaded, at the first decode: a source that never decodes costs nothing. */
  constructor(readonly workers = defaultWorkers()) {
    if (!Number.isSafeInteger(workers) || workers < 1)
      throw new AlexnetError(`DecodePool: workers must be an integer >= 1, got ${workers}`);
  }

  /** decodeImage() on a worker. Errors are FormatErrors naming the file (MissingDependencyError without sharp). */
  readonly decode: Decode = async (src, size, maxPixels = DEFAULT_MAX_PIXELS, resample = 'lanczos3') => {
    if (this.closed) throw new AlexnetError('DecodePool: closed');
    if (!this.sharpUrl) {
      await loadSharp(); // here, so its absence is one clear error rather than a failure in each worker
      this.sharpUrl ??= pathToFileURL(createRequire(import.meta.url).resolve('sharp')).href;
      if (this.slots.length === 0) for (let i = 0; i < this.workers; i++) this.slots.push(this.spawn());
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, src, size, maxPixels, resample }, resolve, reject });
      this.pump();
    });
  };

  stats(): PoolStats {
    return {
      workers: this.workers,
      images: this.images,
      busyMs: this.busyMs,
      wallMs: performance.now() - this.started,
    };
  }

  /** Stops the workers; jobs still queued or running fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const e = new AlexnetError('DecodePool: closed');
    for (const j of this.queue.splice(0)) j.reject(e);
    await Promise.all(
      this.slots.map((s) => {
        s.job?.reject(e);
        s.job = undefined;
        return s.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(workerSource)}`), {
      workerData: { sharp: this.sharpUrl! },
    });
    const slot: Slot = { worker };
    // (an unref() before the thread is online does not hold, so idle is declared again once it is)
    worker.unref();
    worker.on('online', () => slot.job || worker.unref());
    worker.on('message', (r: DecodeReply) => this.finish(slot, r));
    // a worker that dies (an error it could not catch, or its exit) fails its job and is replaced
    const die = (why: string) => {
      if (this.closed) return;
      const job = slot.job;
      slot.job = undefined;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn();
      job?.reject(new FormatError(`${describe(job.request.src)}: the decoding worker stopped (${why})`));
      this.pump();
    };
    worker.on('error', (e: Error) => die(e.message));
    worker.on('exit', (code) => die(`exit code ${code}`));
    return slot;
  }

  private finish(slot: Slot, r: DecodeReply): void {
    const job = slot.job;
    if (!job || job.request.id !== r.id) return;
    slot.job = undefined;
    slot.worker.unref();
    this.images++;
    this.busyMs += r.busyMs;
    if ('pixels' in r) job.resolve(r.pixels);
    else job.reject(new FormatError(`${describe(job.request.src)}: ${r.error}`));
    this.pump();
  }

  /** Hands queued jobs to idle workers; a busy worker is ref'd so a pending decode keeps the process alive. */
  private pump(): void {
    for (const slot of this.slots) {
      if (slot.job) continue;
      const job = this.queue.shift();
      if (!job) return;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage(job.request);
    }
  }
}
