// A dataset directory of .npy files: train_images.npy, train_labels.npy and optional val_*.npy.
// Images are float32 N×C×H×W (used as given) or uint8 N×H×W×C pixels; big files are read per sample.
// As with ImageFolder, files must lie inside the folder: a symlink resolving outside it is refused.
import { existsSync } from 'node:fs';
import { open, realpath, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { FormatError } from '../../errors.js';
import {
  ArrayDataset,
  checkGet,
  checkIndex,
  checkLabels,
  hwcToChw,
  type DataSplits,
  type Dataset,
} from '../../data/dataset.js';
import { readNpy, readNpyHeader } from '../files/npy.js';
import type { NpyHeader } from '../../formats/npy.js';

export interface NpyDirOptions {
  /** Image files with more data bytes than this are not loaded but read per sample (default 1 GiB). */
  inMemoryLimit?: number;
}

interface Layout {
  n: number;
  c: number;
  h: number;
  w: number;
  pixels: boolean;
}

function layoutOf(h: NpyHeader, path: string): Layout {
  const s = h.shape;
  if (h.dtype === '<f4') {
    if (s.length === 4) return { n: s[0], c: s[1], h: s[2], w: s[3], pixels: false };
    if (s.length === 3) return { n: s[0], c: 1, h: s[1], w: s[2], pixels: false };
  } else if (h.kind === 'u' && h.itemsize === 1) {
    if (s.length === 4) {
      // A uint8 N×C×H×W array would silently be read as a tall thin image with hundreds of channels.
      if (s[3] > 4 && s[1] <= 4)
        throw new FormatError(
          `${path}: uint8 shape (${s.join(', ')}) looks like N×C×H×W; uint8 images must be N×H×W×C`,
        );
      return { n: s[0], h: s[1], w: s[2], c: s[3], pixels: true };
    }
    if (s.length === 3) return { n: s[0], h: s[1], w: s[2], c: 1, pixels: true };
  } else {
    throw new FormatError(`${path}: images must be float32 or uint8, got ${h.dtype}`);
  }
  throw new FormatError(`${path}: images must be 3-D or 4-D, got shape (${s.join(', ')})`);
}

async function readLabels(path: string, n: number): Promise<Int32Array> {
  const { dtype, shape, data } = await readNpy(path);
  if (data instanceof Float32Array) throw new FormatError(`${path}: labels must be integers, got ${dtype}`);
  if (shape.length !== 1) throw new FormatError(`${path}: labels must be 1-D, got shape (${shape.join(', ')})`);
  if (shape[0] !== n) throw new FormatError(`${path}: ${shape[0]} labels for ${n} images`);
  const labels = data instanceof Int32Array ? data : Int32Array.from(data);
  checkLabels(labels, path);
  return labels;
}

async function loadSplit(
  dir: string,
  split: string,
  opts: NpyDirOptions,
): Promise<{ make: (classes: number) => Dataset; labels: Int32Array }> {
  const imagesPath = join(dir, `${split}_images.npy`);
  for (const f of [imagesPath, join(dir, `${split}_labels.npy`)]) {
    if (!existsSync(f)) throw new FormatError(`${dir}: missing ${f}`);
    await confined(dir, f);
  }
  const header = await readNpyHeader(imagesPath);
  const lay = layoutOf(header, imagesPath);
  if (lay.n === 0 || lay.c === 0 || lay.h === 0 || lay.w === 0)
    throw new FormatError(`${imagesPath}: empty image array (${header.shape.join(', ')})`);
  const labels = await readLabels(join(dir, `${split}_labels.npy`), lay.n);
  const name = `${dir}/${split}`;
  if (header.count * header.itemsize > (opts.inMemoryLimit ?? 1 << 30)) {
    return { labels, make: (classes) => new NpyFileDataset(name, imagesPath, header, lay, labels, classes) };
  }
  const { data } = await readNpy(imagesPath);
  return {
    labels,
    make: (classes) =>
      new ArrayDataset({
        name,
        images: data as Float32Array | Uint8Array,
        shape: [lay.n, lay.c, lay.h, lay.w],
        labels,
        classes,
      }),
  };
}

async function confined(dir: string, file: string): Promise<void> {
  const [root, real] = await Promise.all([realpath(dir), realpath(file)]);
  if (!real.startsWith(root + sep))
    throw new FormatError(
      `${file}: resolves to ${real}, outside the dataset folder ${dir} (links out of the folder are refused)`,
    );
}

/** Load a .npy dataset directory. classes = 1 + the largest label of either split. */
export async function loadNpyDir(dir: string, opts: NpyDirOptions = {}): Promise<DataSplits> {
  const train = await loadSplit(dir, 'train', opts);
  const hasVal = existsSync(join(dir, 'val_images.npy')) || existsSync(join(dir, 'val_labels.npy'));
  const val = hasVal ? await loadSplit(dir, 'val', opts) : undefined;
  const classes = Math.max(checkLabels(train.labels, dir), val ? checkLabels(val.labels, dir) : 0);
  const trainDs = train.make(classes);
  const valDs = val?.make(classes);
  if (
    valDs &&
    (valDs.channels !== trainDs.channels ||
      valDs.height !== trainDs.height ||
      valDs.width !== trainDs.width ||
      valDs.pixels !== trainDs.pixels)
  ) {
    throw new FormatError(
      `${dir}: val images (${valDs.channels}×${valDs.height}×${valDs.width}) do not match train images (${trainDs.channels}×${trainDs.height}×${trainDs.width}) in shape or dtype`,
    );
  }
  return { train: trainDs, val: valDs };
}

/** Samples read from the .npy file on demand (positional reads, safe to run concurrently). */
class NpyFileDataset implements Dataset {
  readonly length: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly pixels: boolean;
  private fh?: Promise<FileHandle>;
  private readonly sampleBytes: number;

  constructor(
    readonly name: string,
    private readonly path: string,
    private readonly header: NpyHeader,
    lay: Layout,
    readonly labels: Int32Array,
    readonly classes: number,
  ) {
    this.length = lay.n;
    this.channels = lay.c;
    this.height = lay.h;
    this.width = lay.w;
    this.pixels = lay.pixels;
    this.sampleBytes = lay.c * lay.h * lay.w * header.itemsize;
    if (lay.pixels)
      this.getPixels = (i) => {
        checkIndex(this, i);
        return this.read(i);
      };
  }

  async get(i: number, out: Float32Array): Promise<void> {
    checkGet(this, i, out);
    const buf = await this.read(i);
    if (this.pixels) hwcToChw(buf, 0, this.channels, this.height * this.width, out);
    else out.set(new Float32Array(buf.buffer, 0, buf.length / 4));
  }

  readonly getPixels?: (i: number) => Promise<Uint8Array>;

  private async read(i: number): Promise<Uint8Array> {
    this.fh ??= open(this.path, 'r');
    const fh = await this.fh;
    const buf = new Uint8Array(this.sampleBytes);
    const { bytesRead } = await fh.read(buf, 0, buf.length, this.header.dataOffset + i * this.sampleBytes);
    if (bytesRead !== buf.length)
      throw new FormatError(`${this.path}: short read of sample ${i} (file changed since it was opened?)`);
    return buf;
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (fh) await (await fh).close();
  }
}
