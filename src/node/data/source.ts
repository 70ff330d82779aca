// Resolves the --data argument into train/validation datasets: `fashion-mnist`, a folder of
// .npy arrays, a prepared folder (index.json, `alexnet-wgsl prepare`), or an ImageFolder tree (train/<class>/*.jpg).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../errors.js';
import type { DataSplits } from '../../data/dataset.js';
import { loadFashionMnist } from './fashion_mnist.js';
import { loadNpyDir } from './npy_dir.js';
import { openImageFolder } from './image_folder.js';
import { isPreparedDir, openPrepared } from './prepared.js';
import type { Resample } from '../../models/spec.js';
import { DecodePool, type Decode } from './decode_pool.js';

export interface OpenDataOptions {
  warn?: (msg: string) => void;
  /** How an ImageFolder's images are resized (the arch's: bilinear for torchvision, else lanczos3). */
  resample?: Resample;
  /**
   * Threads decoding image files (ImageFolder, JPEG shards): default the cores minus one; 0 decodes
   * through this thread's libuv pool. Threads start at the first decode, so other sources start none.
   */
  workers?: number;
}

/** The splits, with the decoding threads they share (when any); close() releases both. */
export interface OpenedData extends DataSplits {
  pool?: DecodePool;
  close(): Promise<void>;
}

export async function openData(spec: string, o: OpenDataOptions = {}): Promise<OpenedData> {
  const pool = o.workers === 0 ? undefined : new DecodePool(o.workers);
  const splits = await openSplits(spec, o, pool?.decode).catch(async (e) => {
    await pool?.close();
    throw e;
  });
  const close = async () => {
    await Promise.all([splits.train.close?.(), splits.val?.close?.()]);
    await pool?.close();
  };
  return { ...splits, pool, close };
}

async function openSplits(spec: string, o: OpenDataOptions, decode?: Decode): Promise<DataSplits> {
  if (spec === 'fashion-mnist') return loadFashionMnist({ download: true });
  if (!existsSync(spec) || !statSync(spec).isDirectory()) {
    throw new FormatError(`--data ${spec}: not 'fashion-mnist' and not a directory`);
  }
  if (existsSync(join(spec, 'train_images.npy'))) return loadNpyDir(spec);
  // a prepared folder's crops were resized when it was prepared
  if (isPreparedDir(spec)) return openPrepared(spec, { decode });
  if (existsSync(join(spec, 'train')))
    return openImageFolder(spec, { warn: o.warn ?? (() => {}), resample: o.resample, decode });
  throw new FormatError(
    `--data ${spec}: expected train_images.npy + train_labels.npy, a prepared folder's index.json, or an ImageFolder tree with train/<class>/ images`,
  );
}
