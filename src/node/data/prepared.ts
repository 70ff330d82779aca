// The prepared dataset format (written by prepare.ts): shard files of the paper's centre crops, raw
// uint8 HWC or JPEG, a 16-byte record per image (u32 shard, u32 offset, u32 length, i32 label, little
// endian) and index.json naming them. Samples are read by positional reads; the OS page cache plays
// mmap's role (Node has none), so an epoch costs a read (raw) or a small JPEG decode, not a full decode.
import { createReadStream, readFileSync } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { FormatError } from '../../errors.js';
import { checkGet, checkIndex, hwcToChw, type DataSplits, type Dataset } from '../../data/dataset.js';
import { decodeImage } from './decode.js';

export const PREPARED_FORMAT = 'alexnet-wgsl-prepared';
export const RECORD_BYTES = 16;

export type ShardEntry = { file: string; bytes: number; images: number; sha256: string };
export type SplitEntry = { images: number; records: string; shards: ShardEntry[] };
export type Skipped = { file: string; reason: string };
/** index.json. `quality` is JPEG's; `resample` (informative) is the filter the crops were resized with. */
export type PreparedIndex = {
  format: typeof PREPARED_FORMAT;
  version: 1;
  encoding: 'raw' | 'jpeg';
  quality?: number;
  size: number;
  channels: 3;
  resample?: string;
  classNames: string[];
  splits: { train: SplitEntry; val?: SplitEntry };
  skipped: Skipped[];
};

export interface PreparedOptions {
  /** 'size' (default): shard sizes and record bounds; 'full': also every shard's SHA-256. */
  verify?: 'size' | 'full';
  /** JPEG shards: encoded bytes → size×size×3 pixels (default decodeImage; a DecodePool's decode fits). */
  decode?: (bytes: Uint8Array, size: number) => Promise<Uint8Array>;
}

/** Whether `dir` holds an index.json of this format (openData's test; the rest is checked on open). */
export function isPreparedDir(dir: string): boolean {
  try {
    return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'))?.format === PREPARED_FORMAT;
  } catch {
    return false;
  }
}

/** SHA-256 (hex) of a file, streamed: shards can be hundreds of MB. */
export async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Open a prepared folder: its train split (and val, if prepared) as pixel datasets. */
export async function openPrepared(dir: string, opts: PreparedOptions = {}): Promise<DataSplits> {
  const file = join(dir, 'index.json');
  const index = parseIndex(file, (await readFile(file).catch(unreadable(file))).toString('utf8'));
  const decode = index.encoding === 'jpeg' ? (opts.decode ?? decodeImage) : null;
  const split = async (name: 'train' | 'val', s: SplitEntry) => {
    const { rec, labels } = await readRecords(join(dir, s.records), s, index);
    const paths = s.shards.map((sh) => join(dir, sh.file));
    for (const [k, sh] of s.shards.entries()) await checkShard(paths[k], sh, opts.verify ?? 'size');
    return new PreparedDataset(`${dir}/${name}`, labels, index.classNames, rec, paths, index.size, decode);
  };
  const val = index.splits.val;
  return { train: await split('train', index.splits.train), val: val ? await split('val', val) : undefined };
}

const unreadable = (path: string) => (e: Error) => {
  throw new FormatError(`${path}: cannot read (${e.message})`);
};
const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
// Files the index names must be plain names inside the folder, never paths leaving it.
const isName = (s: unknown): s is string => typeof s === 'string' && /^[A-Za-z0-9_][\w.-]*$/.test(s);

function parseIndex(file: string, text: string): PreparedIndex {
  const bad = (what: string) => new FormatError(`${file}: ${what}`);
  let j: PreparedIndex;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message})`);
  }
  if (j?.format !== PREPARED_FORMAT) throw bad(`format is ${JSON.stringify(j?.format)}, not '${PREPARED_FORMAT}'`);
  if (j.version !== 1) throw bad(`version ${JSON.stringify(j.version)} is not supported (this reader reads 1)`);
  if (j.encoding !== 'raw' && j.encoding !== 'jpeg') throw bad(`encoding ${JSON.stringify(j.encoding)}`);
  if (!isCount(j.size) || j.size === 0 || j.channels !== 3) throw bad('needs a positive size and channels 3');
  if (!Array.isArray(j.classNames) || !j.classNames.length || !j.classNames.every((c) => typeof c === 'string'))
    throw bad('classNames must be a non-empty list of names');
  if (!Array.isArray(j.skipped)) throw bad('skipped is missing');
  for (const name of ['train', 'val'] as const) {
    const s = j.splits?.[name];
    if (s === undefined && name === 'val') continue;
    if (!s || !isCount(s.images) || !isName(s.records) || !Array.isArray(s.shards))
      throw bad(`splits.${name} needs images, records and shards`);
    for (const [k, sh] of s.shards.entries())
      if (!sh || !isName(sh.file) || !isCount(sh.bytes) || !isCount(sh.images) || !/^[0-9a-f]{64}$/.test(sh.sha256))
        throw bad(`splits.${name}.shards[${k}] needs file, bytes, images and sha256`);
  }
  return j;
}

/** The records of a split as (shard, offset, length) triples and labels, every one checked against the index. */
async function readRecords(path: string, s: SplitEntry, index: PreparedIndex) {
  const buf = await readFile(path).catch(unreadable(path));
  if (buf.byteLength !== RECORD_BYTES * s.images)
    throw new FormatError(`${path}: ${buf.byteLength} bytes, expected ${RECORD_BYTES} × ${s.images} images`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const rec = new Uint32Array(3 * s.images),
    labels = new Int32Array(s.images),
    counts = s.shards.map(() => 0);
  const raw = index.encoding === 'raw' ? 3 * index.size * index.size : 0;
  for (let i = 0; i < s.images; i++) {
    const [k, off, len] = [0, 4, 8].map((b) => dv.getUint32(RECORD_BYTES * i + b, true));
    const label = (labels[i] = dv.getInt32(RECORD_BYTES * i + 12, true));
    const where = `${path}: record ${i}`;
    if (k >= s.shards.length) throw new FormatError(`${where} names shard ${k} of ${s.shards.length}`);
    if (off + len > s.shards[k].bytes)
      throw new FormatError(`${where} (bytes ${off}..${off + len}) lies outside ${s.shards[k].file}`);
    if (label < 0 || label >= index.classNames.length)
      throw new FormatError(`${where}: label ${label} outside 0..${index.classNames.length - 1}`);
    if (raw && len !== raw) throw new FormatError(`${where} holds ${len} bytes, a raw image ${raw}`);
    rec.set([k, off, len], 3 * i);
    counts[k]++;
  }
  for (const [k, sh] of s.shards.entries())
    if (counts[k] !== sh.images)
      throw new FormatError(`${path}: ${counts[k]} records in ${sh.file}, index.json says ${sh.images}`);
  return { rec, labels };
}

async function checkShard(path: string, sh: ShardEntry, verify: 'size' | 'full'): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw new FormatError(`${path}: missing (index.json lists it)`);
  if (st.size !== sh.bytes)
    throw new FormatError(`${path}: ${st.size} bytes, index.json says ${sh.bytes} (truncated or replaced)`);
  const got = verify === 'full' ? await hashFile(path) : sh.sha256;
  if (got !== sh.sha256) throw new FormatError(`${path}: SHA-256 ${got} does not match index.json's ${sh.sha256}`);
}

/**
 * One prepared split. Shard handles open on first use and stay open until close() (Node raises the
 * open-file soft limit to the hard one, so even ImageNet's ~1250 train shards fit).
 */
export class PreparedDataset implements Dataset {
  readonly length: number;
  readonly channels = 3;
  readonly height: number;
  readonly width: number;
  readonly classes: number;
  readonly pixels = true;
  private readonly handles = new Map<number, Promise<FileHandle>>();

  constructor(
    readonly name: string,
    readonly labels: Int32Array,
    readonly classNames: string[],
    private readonly rec: Uint32Array,
    private readonly paths: string[],
    size: number,
    private readonly decode: PreparedOptions['decode'] | null,
  ) {
    this.length = labels.length;
    this.height = this.width = size;
    this.classes = classNames.length;
  }

  async get(i: number, out: Float32Array): Promise<void> {
    checkGet(this, i, out);
    hwcToChw(await this.getPixels(i), 0, 3, this.height * this.width, out);
  }

  /** Sample i as size×size×3 uint8, a fresh buffer: a positional read of its record (and a decode for JPEG). */
  async getPixels(i: number): Promise<Uint8Array> {
    checkIndex(this, i);
    const [k, off, len] = this.rec.subarray(3 * i, 3 * i + 3);
    let fh = this.handles.get(k);
    if (!fh) {
      this.handles.set(k, (fh = open(this.paths[k], 'r')));
      fh.catch(() => this.handles.delete(k)); // a failed open is retried by the next read
    }
    const buf = new Uint8Array(len);
    const { bytesRead } = await (await fh).read(buf, 0, len, off);
    if (bytesRead !== len)
      throw new FormatError(`${this.paths[k]}: ${bytesRead} of ${len} bytes at ${off}; the shard shrank after opening`);
    const px = this.decode ? await this.decode(buf, this.height) : buf;
    if (px.length !== 3 * this.height * this.width)
      throw new FormatError(`${this.paths[k]}: image ${i} decoded to ${px.length} bytes, not ${this.height}²×3`);
    return px;
  }

  async close(): Promise<void> {
    const hs = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(hs.map((h) => h.then((f) => f.close()).catch(() => {})));
  }
}
