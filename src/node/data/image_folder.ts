// ImageFolder datasets (root/train/<class>/*.jpg, root/val/<class>/...) decoded (decode.ts) into the
// paper's 256×256 inputs: EXIF-rotated, sRGB, shorter side scaled to 256, centre-cropped, with
// torchvision's Resize + CenterCrop geometry; uint8 HWC kept in an LRU cache.
//
// Robustness scheme: files are validated once at open (header read by default); unreadable files and
// paths whose real path leaves the root (symlinks) are skipped, counted and reported in ONE warning.
// A file that still fails to decode during training never throws: it is counted (one warning on the first
// failure) and replaced by the next decodable sample of the same class, so labels stay correct.
// Image dimensions come from the file: beyond maxPixels a file is refused before it is decoded.
import { readdir, realpath, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, sep, extname } from 'node:path';
import type { Resample } from '../../models/spec.js';
import { loadSharp } from '../sharp.js';
import { decodeImage, DEFAULT_MAX_PIXELS } from './decode.js';
import type { Decode } from './decode_pool.js';
import { FormatError } from '../../errors.js';
import { checkGet, checkIndex, hwcToChw, type DataSplits, type Dataset } from '../../data/dataset.js';

export interface ImageFolderOptions {
  /** Side of the stored square images (default 256, the paper's). */
  size?: number;
  /** Receives the skip summary and the first decode failure; default process.emitWarning. */
  warn?: (message: string) => void;
  /** Bytes of decoded images to keep (LRU), per split; default 256 MiB; 0 disables. */
  cacheBytes?: number;
  /** 'header' (default) reads each file's header at open; 'full' decodes every file; 'none' trusts the listing. */
  verify?: 'none' | 'header' | 'full';
  /** Files checked at once while verifying (default 16). */
  concurrency?: number;
  /** Accepted extensions, lowercase with dot (default .jpg .jpeg .png .webp). */
  extensions?: string[];
  /** Images declaring more pixels than this are unreadable (a decompression bomb guard); default 2^26 (8192×8192). */
  maxPixels?: number;
  /** Resampling of the resize: 'lanczos3' (default) or 'bilinear', the closest to torchvision's (PIL's) Resize. */
  resample?: Resample;
  /** How files become pixels: decodeImage on this thread (default) or a DecodePool's workers. */
  decode?: Decode;
}

export interface SkipStats {
  unreadable: number;
  outsideRoot: number;
  examples: string[];
}

const EXTS = ['.jpg', '.jpeg', '.png', '.webp'];

interface Listing {
  files: string[];
  labels: number[];
  skipped: SkipStats;
}

/** Open root/train (required) and root/val (optional). Classes are the sorted subfolder names of train. */
export async function openImageFolder(root: string, opts: ImageFolderOptions = {}): Promise<DataSplits> {
  const rootReal = await realpath(root).catch(() => {
    throw new FormatError(`${root}: image folder root does not exist`);
  });
  const trainDir = join(rootReal, 'train');
  if (!existsSync(trainDir)) throw new FormatError(`${root}: missing train/ folder`);
  const skipped: SkipStats = { unreadable: 0, outsideRoot: 0, examples: [] };
  // (skips are counted when listSplit lists train/ again, so each link is reported once)
  const classNames = (await listDir(trainDir, rootReal, { unreadable: 0, outsideRoot: 0, examples: [] }))
    .filter((e) => e.dir)
    .map((e) => e.name);
  if (classNames.length === 0) throw new FormatError(`${trainDir}: no class folders`);
  const train = await listSplit(trainDir, classNames, rootReal, opts, skipped, false);
  const valDir = join(rootReal, 'val');
  const val = existsSync(valDir) ? await listSplit(valDir, classNames, rootReal, opts, skipped, true) : undefined;
  if (train.files.length === 0) throw new FormatError(`${trainDir}: no readable images`);
  const warn = opts.warn ?? ((m: string) => process.emitWarning(m));
  if (skipped.unreadable || skipped.outsideRoot) {
    warn(
      `${root}: skipped ${skipped.unreadable} unreadable image(s) and ${skipped.outsideRoot} path(s) resolving outside the root; first: ${skipped.examples.join('; ')}`,
    );
  }
  const make = (l: Listing, split: string) =>
    new ImageFolderDataset(`${root}/${split}`, l.files, Int32Array.from(l.labels), classNames, opts, warn);
  return { train: make(train, 'train'), val: val?.files.length ? make(val, 'val') : undefined };
}

interface Entry {
  name: string;
  path: string;
  dir: boolean;
}

/** Sorted entries of a directory (hidden names skipped), with links resolved and confined to the root. */
async function listDir(dir: string, rootReal: string, skipped: SkipStats): Promise<Entry[]> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  const out: Entry[] = [];
  for (const name of names) {
    const path = join(dir, name);
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      note(skipped, 'unreadable', `${path}: dangling link`);
      continue;
    }
    if (real !== rootReal && !real.startsWith(rootReal + sep)) {
      note(skipped, 'outsideRoot', `${path} -> ${real}`);
      continue;
    }
    const st = await stat(real).catch(() => undefined);
    if (!st) {
      note(skipped, 'unreadable', `${path}: cannot stat`);
      continue;
    }
    if (st.isDirectory() || st.isFile()) out.push({ name, path: real, dir: st.isDirectory() });
  }
  return out;
}

function note(s: SkipStats, kind: 'unreadable' | 'outsideRoot', example: string): void {
  s[kind]++;
  if (s.examples.length < 3) s.examples.push(example);
}

async function listSplit(
  splitDir: string,
  classNames: string[],
  rootReal: string,
  opts: ImageFolderOptions,
  skipped: SkipStats,
  isVal: boolean,
): Promise<Listing> {
  const exts = opts.extensions ?? EXTS;
  const files: string[] = [],
    labels: number[] = [];
  for (const cls of await listDir(splitDir, rootReal, skipped)) {
    if (!cls.dir) continue;
    const label = classNames.indexOf(cls.name);
    if (label < 0)
      throw new FormatError(`${cls.path}: ${isVal ? 'val' : 'train'} class '${cls.name}' is not a train class`);
    const seen = new Set<string>([cls.path]);
    const walk = async (dir: string): Promise<void> => {
      for (const e of await listDir(dir, rootReal, skipped)) {
        if (e.dir) {
          if (!seen.has(e.path)) {
            seen.add(e.path);
            await walk(e.path);
          }
        } else if (exts.includes(extname(e.name).toLowerCase())) {
          files.push(e.path);
          labels.push(label);
        }
      }
    };
    await walk(cls.path);
  }
  const ok = await verifyAll(files, opts, skipped);
  return { files: files.filter((_, i) => ok[i]), labels: labels.filter((_, i) => ok[i]), skipped };
}

async function verifyAll(files: string[], opts: ImageFolderOptions, skipped: SkipStats): Promise<boolean[]> {
  const mode = opts.verify ?? 'header';
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const ok = files.map(() => true);
  if (mode === 'none') return ok;
  const sharp = await loadSharp();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < files.length; i = next++) {
      try {
        if (mode === 'full') await (opts.decode ?? decodeImage)(files[i], opts.size ?? 256, maxPixels, opts.resample);
        else {
          const m = await sharp(files[i]).metadata();
          if (!m.width || !m.height) throw new Error('no dimensions');
          if (m.width * m.height > maxPixels)
            throw new Error(`declares ${m.width}×${m.height} pixels, more than the ${maxPixels} allowed`);
        }
      } catch (e) {
        ok[i] = false;
        note(skipped, 'unreadable', `${files[i]}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 16) }, worker));
  return ok;
}

/** One split of an image folder. get() decodes on demand (opts.decode: here or in workers) behind an LRU cache. */
export class ImageFolderDataset implements Dataset {
  readonly length: number;
  readonly channels = 3;
  readonly height: number;
  readonly width: number;
  readonly classes: number;
  readonly pixels = true;
  /** Decode failures seen during training (each such sample was replaced by a same-class one). */
  decodeFailures = 0;
  private readonly bad = new Set<number>();
  private readonly cache = new Map<number, Uint8Array>();
  private readonly inflight = new Map<number, Promise<Uint8Array>>();
  private readonly cacheEntries: number;

  constructor(
    readonly name: string,
    readonly files: readonly string[],
    readonly labels: Int32Array,
    readonly classNames: string[],
    private readonly opts: ImageFolderOptions,
    private readonly warn: (m: string) => void,
  ) {
    this.length = files.length;
    this.height = this.width = opts.size ?? 256;
    this.classes = classNames.length;
    this.cacheEntries = Math.floor((opts.cacheBytes ?? 256 * 2 ** 20) / (3 * this.height * this.width));
  }

  async get(i: number, out: Float32Array): Promise<void> {
    checkGet(this, i, out);
    const px = await this.pixelsOf(i);
    hwcToChw(px, 0, 3, this.height * this.width, out);
  }

  /** Sample i as 256×256×3 uint8 (shared with the cache: do not modify). */
  getPixels(i: number): Promise<Uint8Array> {
    checkIndex(this, i);
    return this.pixelsOf(i);
  }

  private pixelsOf(i: number): Promise<Uint8Array> {
    const hit = this.cache.get(i);
    if (hit) {
      this.cache.delete(i);
      this.cache.set(i, hit);
      return Promise.resolve(hit);
    }
    let p = this.inflight.get(i);
    if (!p) {
      p = this.load(i).finally(() => this.inflight.delete(i));
      this.inflight.set(i, p);
    }
    return p;
  }

  private async load(i: number): Promise<Uint8Array> {
    if (!this.bad.has(i)) {
      try {
        const decode = this.opts.decode ?? decodeImage;
        const px = await decode(this.files[i], this.height, this.opts.maxPixels, this.opts.resample);
        if (this.cacheEntries > 0) {
          this.cache.set(i, px);
          if (this.cache.size > this.cacheEntries) this.cache.delete(this.cache.keys().next().value!);
        }
        return px;
      } catch (e) {
        this.bad.add(i);
        if (this.decodeFailures++ === 0)
          this.warn(
            `${this.name}: ${this.files[i]} failed to decode (${(e as Error).message}); it and any later failures are replaced by the next image of the same class and counted in decodeFailures`,
          );
      }
    }
    // Next decodable sample of the same class, in file order (deterministic: depends only on which files fail).
    for (let k = 1; k < this.length; k++) {
      const j = (i + k) % this.length;
      if (this.labels[j] === this.labels[i] && !this.bad.has(j)) {
        // If j fails too, its own fallback continues the same search, so its result is ours.
        return this.pixelsOf(j);
      }
    }
    return new Uint8Array(3 * this.height * this.width); // a class with no decodable image at all: black
  }

  async close(): Promise<void> {
    this.cache.clear();
  }
}
