// Writes the prepared format (prepared.ts) from an ImageFolder tree: each split's images, in listing
// order, decoded once to the paper's centre crops and packed into shards of a fixed number of source
// images. Every file goes through atomicWrite and index.json comes last, so a folder without it is an
// unfinished preparation; a sidecar per shard (its records and a fingerprint of its inputs) lets a
// rerun keep the shards that are still right and rebuild only the others.
import { mkdir, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, relative } from 'node:path';
import { FormatError, ValueError } from '../../errors.js';
import type { Resample } from '../../models/spec.js';
import { atomicWrite, nodeFs, removeStaleTemps, type AtomicFs } from '../files/atomic.js';
import { acquireLock } from '../files/lock.js';
import { loadSharp } from '../sharp.js';
import { DEFAULT_MAX_PIXELS, decodeImage } from './decode.js';
import { openImageFolder, type ImageFolderDataset } from './image_folder.js';
import { hashFile, PREPARED_FORMAT, RECORD_BYTES, type PreparedIndex, type Skipped } from './prepared.js';

export interface PrepareOptions {
  /** 'raw' (default): uint8 HWC pixels; 'jpeg': re-encoded at `quality` (1..100, default 90). */
  encoding?: 'raw' | 'jpeg';
  quality?: number;
  /** Source images per shard (default 1024); the crops' side (default 256, the paper's) and resizing. */
  shardImages?: number;
  size?: number;
  resample?: Resample;
  maxPixels?: number;
  /** A file → size×size×3 pixels (default decodeImage), `concurrency` (default 8) at once; a worker pool fits. */
  decode?: (file: string) => Promise<Uint8Array>;
  concurrency?: number;
  /** The writes' file-system calls (tests inject faults), and where the progress bar goes (default nowhere). */
  fs?: AtomicFs;
  progress?: { write(s: string): unknown; isTTY?: boolean };
  /** Receives the one summary of skipped files (and the folder's own); default process.emitWarning. */
  warn?: (message: string) => void;
}

/** `written`/`reused`: shard files built by this run and kept from an earlier one; `decoded`: images decoded. */
export interface PrepareStats {
  splits: Record<string, { images: number; shards: number; bytes: number }>;
  skipped: Skipped[];
  written: string[];
  reused: string[];
  decoded: number;
  seconds: number;
}

/** A shard's sidecar (<shard>.json); `records` are [offset, length, label] within the shard. */
type Sidecar = { fingerprint: string; bytes: number; sha256: string; records: number[][]; skipped: Skipped[] };
/** The options with their defaults, and the run's state. */
type Ctx = Required<Omit<PrepareOptions, 'progress' | 'warn'>> &
  Pick<PrepareOptions, 'progress'> & { root: string; out: string; stats: PrepareStats; encode: Encode };
type Encode = (px: Uint8Array) => Promise<Uint8Array>;

/** Prepare the ImageFolder at `src` into `out` (created if needed); see the file header. */
export async function prepareDataset(src: string, out: string, opts: PrepareOptions = {}): Promise<PrepareStats> {
  const t0 = performance.now();
  const o = settings(opts);
  const warn = opts.warn ?? ((m: string) => process.emitWarning(m));
  // verify 'none': every listed file is decoded here anyway, and a failure lands in `skipped` with its reason
  const data = await openImageFolder(src, { verify: 'none', size: o.size, warn, maxPixels: o.maxPixels });
  await mkdir(out, { recursive: true });
  const lock = await acquireLock(out);
  try {
    await removeStaleTemps(out, o.fs);
    await o.fs.unlink(join(out, 'index.json')).catch(() => {}); // from here on the folder is unfinished
    const stats: PrepareStats = { splits: {}, skipped: [], written: [], reused: [], decoded: 0, seconds: 0 };
    const c: Ctx = { ...o, root: await realpath(src), out, stats, encode: await encoder(o) };
    const train = await prepareSplit(c, 'train', data.train as ImageFolderDataset);
    if (train.images === 0) throw new FormatError(`${src}: no train image could be decoded`);
    const val = data.val && (await prepareSplit(c, 'val', data.val as ImageFolderDataset));
    const index: PreparedIndex = {
      ...{ format: PREPARED_FORMAT, version: 1, encoding: o.encoding, size: o.size, channels: 3 },
      ...{ quality: o.encoding === 'jpeg' ? o.quality : undefined, resample: o.resample },
      ...{ classNames: data.train.classNames!, splits: { train, val }, skipped: stats.skipped },
    };
    await atomicWrite(join(out, 'index.json'), utf8(`${JSON.stringify(index, null, 1)}\n`), o.fs);
    const sk = stats.skipped.map((s) => `${s.file}: ${s.reason}`);
    if (sk.length)
      warn(
        `${src}: skipped ${sk.length} image(s) that failed to decode (index.json lists them); first: ${sk.slice(0, 3).join('; ')}`,
      );
    stats.seconds = (performance.now() - t0) / 1000;
    return stats;
  } finally {
    await lock.release();
  }
}

function settings(p: PrepareOptions): Omit<Ctx, 'root' | 'out' | 'stats' | 'encode'> {
  const given = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined));
  const o = { encoding: 'raw', quality: 90, shardImages: 1024, size: 256, resample: 'lanczos3', ...given } as Ctx;
  o.maxPixels ??= DEFAULT_MAX_PIXELS;
  o.decode ??= (f) => decodeImage(f, o.size, o.maxPixels, o.resample);
  o.concurrency ??= 8;
  o.fs ??= nodeFs;
  const whole = (n: number, lo: number, hi = Infinity) => Number.isInteger(n) && n >= lo && n <= hi;
  if (!whole(o.quality, 1, 100) || !whole(o.shardImages, 1) || !whole(o.size, 1) || !whole(o.concurrency, 1))
    throw new ValueError('prepare: quality must be 1..100; shardImages, size and concurrency positive integers');
  return o;
}

async function encoder(o: Pick<Ctx, 'encoding' | 'size' | 'quality'>): Promise<Encode> {
  if (o.encoding === 'raw') return async (px) => px;
  const sharp = await loadSharp();
  const raw = { width: o.size, height: o.size, channels: 3 as const };
  return (px) => sharp(px, { raw }).jpeg({ quality: o.quality }).toBuffer();
}

const utf8 = (s: string) => new TextEncoder().encode(s);

async function prepareSplit(c: Ctx, split: string, ds: ImageFolderDataset) {
  const n = ds.length,
    per = c.shardImages,
    bar = progressBar(c.progress, split, n);
  const shards: PreparedIndex['splits']['train']['shards'] = [],
    recs: number[][] = [];
  for (let k = 0; k * per < n; k++) {
    const [file, lo, hi] = [`${split}-${String(k).padStart(5, '0')}.shard`, k * per, (k + 1) * per];
    const side = await shardOf(c, file, ds.files.slice(lo, hi), ds.labels.subarray(lo, hi), bar);
    shards.push({ file, bytes: side.bytes, images: side.records.length, sha256: side.sha256 });
    for (const r of side.records) recs.push([k, ...r]);
    c.stats.skipped.push(...side.skipped);
    bar(0, true);
  }
  await removeStale(c, split, shards.length);
  const dv = new DataView(new ArrayBuffer(RECORD_BYTES * recs.length));
  for (const [i, [k, off, len, label]] of recs.entries()) {
    for (const [b, v] of [k, off, len].entries()) dv.setUint32(RECORD_BYTES * i + 4 * b, v, true);
    dv.setInt32(RECORD_BYTES * i + 12, label, true);
  }
  const records = `${split}.records`;
  await atomicWrite(join(c.out, records), new Uint8Array(dv.buffer), c.fs);
  const bytes = shards.reduce((s, sh) => s + sh.bytes, 0);
  c.stats.splits[split] = { images: recs.length, shards: shards.length, bytes };
  return { images: recs.length, records, shards };
}

/** A shard kept from an earlier run (same fingerprint, size and SHA-256), or built now. */
async function shardOf(c: Ctx, file: string, files: string[], labels: Int32Array, bar: Bar): Promise<Sidecar> {
  const path = join(c.out, file);
  const fingerprint = await fingerprintOf(c, files, labels);
  const old = await readFile(`${path}.json`, 'utf8').then(JSON.parse, () => undefined);
  // a matching fingerprint means the sidecar is ours (written atomically); the shard itself is rechecked
  const st = old?.fingerprint === fingerprint && (await stat(path).catch(() => null));
  if (st && st.size === old.bytes && (await hashFile(path)) === old.sha256) {
    c.stats.reused.push(file);
    bar(files.length, false);
    return old;
  }
  c.stats.written.push(file);
  return buildShard(c, path, files, labels, fingerprint, bar);
}

/** Hash of what a shard's bytes depend on: sources (path, size, mtime, label), settings; not `decode` itself. */
async function fingerprintOf(c: Ctx, files: string[], labels: Int32Array): Promise<string> {
  const src = await Promise.all(
    files.map(async (f, i) => {
      const st = await stat(f).catch(() => null); // gone since the listing: it will fail to decode
      return [relative(c.root, f), st?.size ?? -1, st?.mtimeMs ?? -1, labels[i]];
    }),
  );
  const { encoding, size, resample, maxPixels } = c,
    quality = encoding === 'jpeg' ? c.quality : 0;
  const key = JSON.stringify({ encoding, quality, size, resample, maxPixels, src });
  return createHash('sha256').update(key).digest('hex');
}

async function buildShard(c: Ctx, path: string, files: string[], labels: Int32Array, fingerprint: string, bar: Bar) {
  const want = 3 * c.size * c.size;
  const blobs = await mapPool(files, c.concurrency, async (f) => {
    const px = await Promise.resolve(f)
      .then((file) => c.decode(file))
      .catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
    bar(1, false);
    if (px instanceof Error) return px;
    return px.length === want ? c.encode(px) : new Error(`decoded to ${px.length} bytes, expected ${want}`);
  });
  const side: Sidecar = { fingerprint, bytes: 0, sha256: '', records: [], skipped: [] };
  const hash = createHash('sha256');
  for (const [i, b] of blobs.entries()) {
    if (b instanceof Error) {
      side.skipped.push({ file: relative(c.root, files[i]), reason: b.message.split('\n')[0] }); // libvips adds lines
      continue;
    }
    side.records.push([side.bytes, b.length, labels[i]]);
    side.bytes += b.length;
    hash.update(b);
  }
  c.stats.decoded += files.length;
  if (side.bytes > 0xffffffff)
    throw new FormatError(`${path}: past 4 GiB, the records' u32 offsets; use smaller shards`);
  side.sha256 = hash.digest('hex');
  await atomicWrite(path, blobs.filter((b) => !(b instanceof Error)) as Uint8Array[], c.fs);
  await atomicWrite(`${path}.json`, utf8(JSON.stringify(side)), c.fs);
  return side;
}

/** f over items with at most n calls in flight; results in item order. */
async function mapPool<T, R>(items: readonly T[], n: number, f: (x: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await f(items[i]);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** Shards (and sidecars) of this split past its new count, left by an earlier run with smaller shards. */
async function removeStale(c: Ctx, split: string, count: number): Promise<void> {
  for (const name of await readdir(c.out)) {
    const m = /^(.+)-(\d{5,})\.shard(\.json)?$/.exec(name);
    if (m && m[1] === split && Number(m[2]) >= count) await c.fs.unlink(join(c.out, name)).catch(() => {});
  }
}

type Bar = (images: number, shardDone: boolean) => void;

/** `prepare train 1234/5000 images (24%) 310 img/s`: redrawn at most every 100 ms on a TTY, else a line per shard. */
function progressBar(stream: PrepareOptions['progress'], split: string, total: number): Bar {
  const t0 = performance.now();
  let done = 0,
    drawn = 0;
  return (images, shardDone) => {
    done += images;
    const now = performance.now(),
      end = shardDone && done === total;
    if (!stream || (stream.isTTY ? !end && now - drawn < 100 : !shardDone)) return;
    drawn = now;
    const pct = Math.floor((100 * done) / Math.max(1, total)),
      rate = (1000 * done) / Math.max(1, now - t0);
    const line = `prepare ${split} ${done}/${total} images (${pct}%) ${rate.toFixed(0)} img/s`;
    stream.write(stream.isTTY ? `\r${line}${end ? '\n' : ''}` : `${line}\n`);
  };
}
