// Resolves the --data argument into train/validation datasets: `fashion-mnist`, a folder of
// .npy arrays, or an ImageFolder tree (train/<class>/*.jpg).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '../../errors.js';
import type { DataSplits } from '../../data/dataset.js';
import { loadFashionMnist } from './fashion_mnist.js';
import { loadNpyDir } from './npy_dir.js';
import { openImageFolder } from './image_folder.js';
import type { Resample } from '../../models/spec.js';

/** `resample`: how an ImageFolder's images are resized (the arch's: bilinear for torchvision, else lanczos3). */
export async function openData(
  spec: string,
  warn: (msg: string) => void = () => {},
  resample?: Resample,
): Promise<DataSplits> {
  if (spec === 'fashion-mnist') return loadFashionMnist({ download: true });
  if (!existsSync(spec) || !statSync(spec).isDirectory()) {
    throw new FormatError(`--data ${spec}: not 'fashion-mnist' and not a directory`);
  }
  if (existsSync(join(spec, 'train_images.npy'))) return loadNpyDir(spec);
  if (existsSync(join(spec, 'train'))) return openImageFolder(spec, { warn, resample });
  throw new FormatError(
    `--data ${spec}: expected train_images.npy + train_labels.npy, or an ImageFolder tree with train/<class>/ images`,
  );
}
