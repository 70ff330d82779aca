// Fashion-MNIST loader: finds the four IDX files (raw or .gz) or downloads and verifies them,
// and returns the 60000-image train split and the 10000-image test split (as val), 1×28×28 pixels.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AlexnetError, FormatError } from '../../errors.js';
import { ArrayDataset, type DataSplits } from '../../data/dataset.js';
import { downloadFile, stderrProgress, type DownloadProgress } from './download.js';
import { readIdx } from '../files/idx.js';

export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
export const FASHION_MNIST_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';
const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  valImages: 't10k-images-idx3-ubyte',
  valLabels: 't10k-labels-idx1-ubyte',
};

/**
 * SHA-256 of the official .gz files (the ones whose MD5s the Fashion-MNIST README lists). Debian's
 * /usr/share/datasets copies are recompressed (no file name in the gzip header) and do NOT match;
 * sums are only checked on download, files found on disk are validated structurally instead.
 */
export const FASHION_MNIST_SHA256: Readonly<Record<string, string>> = {
  'train-images-idx3-ubyte.gz': '3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84',
  'train-labels-idx1-ubyte.gz': 'a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845',
  't10k-images-idx3-ubyte.gz': '346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073',
  't10k-labels-idx1-ubyte.gz': '67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5',
};

export interface FashionMnistOptions {
  /** Only this directory is searched (and downloaded into); without it the default lookup applies. */
  dir?: string;
  /** Download missing files (default true). */
  download?: boolean;
  baseUrl?: string;
  onProgress?: (p: DownloadProgress) => void;
  /** Expected sums by .gz file name (default FASHION_MNIST_SHA256); injectable for tests and mirrors. */
  sha256?: Readonly<Record<string, string>>;
}

/** Directories searched when opts.dir is not given, in order. */
export function fashionMnistSearchPath(): string[] {
  const dirs = [process.env.FASHION_MNIST_DIR, './data/fashion-mnist', '/usr/share/datasets/fashion-mnist'];
  return dirs.filter((d): d is string => !!d).map((d) => resolve(d));
}

/** Path of a file in dir, raw preferred over .gz (faster to read); undefined if neither exists. */
function locate(dir: string, base: string): string | undefined {
  for (const name of [base, `${base}.gz`]) {
    const p = join(dir, name);
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  return undefined;
}

const complete = (dir: string): boolean => Object.values(FILES).every((b) => locate(dir, b) !== undefined);

/** The first directory holding all four files, or undefined. */
export function findFashionMnist(dir?: string): string | undefined {
  return (dir ? [resolve(dir)] : fashionMnistSearchPath()).find(complete);
}

/** Download whichever of the four .gz files are missing from dir, verifying each SHA-256. */
export async function downloadFashionMnist(dir: string, opts: FashionMnistOptions = {}): Promise<void> {
  const base = opts.baseUrl ?? FASHION_MNIST_URL;
  const sums = opts.sha256 ?? FASHION_MNIST_SHA256;
  const onProgress = opts.onProgress ?? stderrProgress();
  for (const b of Object.values(FILES)) {
    if (locate(dir, b)) continue;
    const name = `${b}.gz`;
    const sha256 = sums[name];
    if (!sha256) throw new AlexnetError(`no SHA-256 known for ${name}; refusing an unverified download`);
    await downloadFile(new URL(name, base.endsWith('/') ? base : `${base}/`).href, join(dir, name), {
      sha256,
      onProgress,
    });
  }
}

/** Load Fashion-MNIST as {train (60000), val (the 10000 test images)}, pixels 0..255, 1×28×28. */
export async function loadFashionMnist(opts: FashionMnistOptions = {}): Promise<DataSplits> {
  let dir = findFashionMnist(opts.dir);
  if (!dir) {
    const target = resolve(opts.dir ?? './data/fashion-mnist');
    if (opts.download === false) {
      const searched = opts.dir ? [target] : fashionMnistSearchPath();
      throw new AlexnetError(`Fashion-MNIST not found (searched ${searched.join(', ')}) and download is disabled`);
    }
    await downloadFashionMnist(target, opts);
    dir = target;
  }
  const [train, val] = await Promise.all([
    loadSplit(dir, FILES.trainImages, FILES.trainLabels, 'fashion-mnist/train'),
    loadSplit(dir, FILES.valImages, FILES.valLabels, 'fashion-mnist/val'),
  ]);
  return { train, val };
}

async function loadSplit(dir: string, imagesBase: string, labelsBase: string, name: string): Promise<ArrayDataset> {
  const imagesPath = locate(dir, imagesBase)!,
    labelsPath = locate(dir, labelsBase)!;
  const [images, labels] = await Promise.all([readIdx(imagesPath), readIdx(labelsPath)]);
  if (images.dims.length !== 3)
    throw new FormatError(`${imagesPath}: expected N×H×W images, got dims [${images.dims.join(',')}]`);
  if (labels.dims.length !== 1)
    throw new FormatError(`${labelsPath}: expected N labels, got dims [${labels.dims.join(',')}]`);
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n)
    throw new FormatError(`${labelsPath}: ${labels.dims[0]} labels but ${imagesPath} has ${n} images`);
  const l32 = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels.data[i];
    if (l >= FASHION_MNIST_CLASSES.length)
      throw new FormatError(`${labelsPath}: label ${l} at index ${i} is outside [0, ${FASHION_MNIST_CLASSES.length})`);
    l32[i] = l;
  }
  return new ArrayDataset({
    name,
    images: images.data,
    shape: [n, 1, h, w],
    labels: l32,
    classes: FASHION_MNIST_CLASSES.length,
    classNames: [...FASHION_MNIST_CLASSES],
  });
}
