// .npy files: the header alone (for file-backed access to arrays too big to load), a whole array,
// and writing one atomically. Parsing and encoding are the core's (formats/npy.ts).
import { open, readFile } from 'node:fs/promises';
import { AlexnetError } from '../../errors.js';
import {
  decodeNpy,
  encodeNpy,
  parseNpyHeader,
  MAX_HEADER,
  PREAMBLE_MAX,
  type NpyArray,
  type NpyData,
  type NpyHeader,
} from '../../formats/npy.js';
import { atomicWrite } from './atomic.js';

/** Read only the header of a .npy file (for file-backed access to arrays too big to load). */
export async function readNpyHeader(path: string): Promise<NpyHeader & { fileSize: number }> {
  const fh = await open(path, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    const pre = new Uint8Array(Math.min(fileSize, PREAMBLE_MAX));
    await fh.read(pre, 0, pre.length, 0);
    if (pre.length < 10) return { ...parseNpyHeader(pre, path, fileSize), fileSize }; // throws
    const view = new DataView(pre.buffer);
    const hlen = pre[6] === 1 ? view.getUint16(8, true) : pre.length >= 12 ? view.getUint32(8, true) : 0;
    const total = (pre[6] === 1 ? 10 : 12) + Math.min(hlen, MAX_HEADER + 1);
    const head = new Uint8Array(Math.min(total, fileSize));
    await fh.read(head, 0, head.length, 0);
    return { ...parseNpyHeader(head, path, fileSize), fileSize };
  } finally {
    await fh.close();
  }
}

/** Read a whole .npy file. Files over 2 GiB cannot be held in one buffer; use readNpyHeader + reads. */
export async function readNpy(path: string): Promise<NpyArray> {
  const fh = await open(path, 'r');
  let size: number;
  try {
    size = (await fh.stat()).size;
  } finally {
    await fh.close();
  }
  if (size > 0x7fffffff)
    throw new AlexnetError(`${path}: ${size} bytes is too large to load at once; use a file-backed reader`);
  return decodeNpy(await readFile(path), path);
}

/** Write a .npy file atomically (temp file, fsync, rename), so readers never see a partial file. */
export async function writeNpy(
  path: string,
  data: NpyData,
  shape: readonly number[],
  opts: { version?: 1 | 2 | 3 } = {},
): Promise<void> {
  await atomicWrite(path, encodeNpy(data, shape, opts));
}
