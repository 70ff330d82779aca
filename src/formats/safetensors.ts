// The safetensors format on bytes (u64 LE header length, JSON header, raw little-endian data):
// encoding, and decoding that treats every buffer as hostile (each field is checked before it sizes
// anything). Files are read and written by node/files/safetensors.ts with the same header code.
import { FormatError, ShapeError, fmtShape } from '../errors.js';
import { Sha256, type Hasher } from '../util/sha256.js';

export type SafeDType = 'F32' | 'I32' | 'U32' | 'U8' | 'I64';
export type TensorData = Float32Array | Int32Array | Uint32Array | Uint8Array | BigInt64Array;
export interface NamedTensor {
  dtype: SafeDType;
  shape: number[];
  data: TensorData;
}
export interface Safetensors {
  tensors: Record<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** Headers beyond this are refused before anything is allocated for them. */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** Metadata key written by writeSafetensors: sha256 (hex) of the data section, verified on read. */
export const CHECKSUM_KEY = 'checksum';

const KINDS = new Map<string, { size: number; array: new (n: number) => TensorData }>([
  ['F32', { size: 4, array: Float32Array }],
  ['I32', { size: 4, array: Int32Array }],
  ['U32', { size: 4, array: Uint32Array }],
  ['U8', { size: 1, array: Uint8Array }],
  ['I64', { size: 8, array: BigInt64Array }],
]);
const MAX_RANK = 32;
// Typed arrays use the host's byte order; the format is little-endian.
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface Entry {
  name: string;
  dtype: SafeDType;
  shape: number[];
  count: number;
  begin: number;
  end: number;
}

// ---- writing ----

/**
 * Serialise tensors (sorted by name, header padded with spaces to 8 bytes): same input, same bytes.
 * With `checksum`, metadata "checksum" = sha256 of the data section, verified by every reader.
 */
export function encodeSafetensors(
  tensors: Record<string, NamedTensor>,
  metadata: Record<string, string> = {},
  opts: { checksum?: boolean } = {},
): Uint8Array {
  const { head, views } = encodeParts(tensors, metadata, opts.checksum ? new Sha256() : undefined);
  const out = new Uint8Array(head.length + views.reduce((n, v) => n + v.length, 0));
  out.set(head);
  let pos = head.length;
  for (const v of views) {
    out.set(v, pos);
    pos += v.length;
  }
  return out;
}

/**
 * The header and the data views (no copies) of a safetensors file; with `hasher`, the header carries
 * the data's checksum. Writers stream these parts instead of concatenating them.
 */
export function encodeParts(
  tensors: Record<string, NamedTensor>,
  metadata: Record<string, string>,
  hasher?: Hasher,
): { head: Uint8Array; views: Uint8Array[] } {
  const { entries, views } = layout(tensors);
  if (!hasher) return { head: header(entries, metadata), views };
  for (const v of views) hasher.update(v);
  return { head: header(entries, { ...metadata, [CHECKSUM_KEY]: hasher.digest('hex') }, true), views };
}

// Offsets in sorted-name order; the data stays in the caller's arrays (views, no copies).
function layout(tensors: Record<string, NamedTensor>): { entries: Entry[]; views: Uint8Array[] } {
  if (!LITTLE) throw new FormatError('safetensors needs a little-endian host');
  const entries: Entry[] = [];
  const views: Uint8Array[] = [];
  let pos = 0;
  for (const name of Object.keys(tensors).sort()) {
    const t = tensors[name];
    if (name === '__metadata__' || name === '__proto__') throw new ShapeError(`tensor name "${name}" is reserved`);
    const kind = KINDS.get(t?.dtype as string);
    if (!kind) throw new ShapeError(`tensor "${name}": unsupported dtype ${String(t?.dtype)}`);
    if (!(t.data instanceof kind.array))
      throw new ShapeError(
        `tensor "${name}": data is a ${t.data?.constructor?.name}, not the array of dtype ${t.dtype}`,
      );
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new ShapeError(`tensor "${name}": invalid shape ${fmtShape(t.shape ?? [])}`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length)
      throw new ShapeError(
        `tensor "${name}": shape ${fmtShape(t.shape)} holds ${count} values, data has ${t.data.length}`,
      );
    const bytes = t.data.byteLength;
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], count, begin: pos, end: pos + bytes });
    views.push(new Uint8Array(t.data.buffer, t.data.byteOffset, bytes));
    pos += bytes;
  }
  return { entries, views };
}

function header(entries: Entry[], metadata: Record<string, string>, keepChecksum = false): Uint8Array {
  // Built on a null prototype, so no key can reach Object.prototype; JSON.stringify keeps our order.
  const root: Record<string, unknown> = Object.create(null);
  const meta: Record<string, string> = Object.create(null);
  for (const k of Object.keys(metadata).sort()) {
    if (k === CHECKSUM_KEY && !keepChecksum) continue; // only writeSafetensors vouches for the data
    if (k === '__proto__') throw new FormatError('metadata key "__proto__" is not allowed');
    if (typeof metadata[k] !== 'string')
      throw new FormatError(`metadata value for "${k}" is a ${typeof metadata[k]}, not a string`);
    meta[k] = metadata[k];
  }
  if (Object.keys(meta).length) root.__metadata__ = meta;
  for (const e of entries) root[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [e.begin, e.end] };
  const json = new TextEncoder().encode(JSON.stringify(root));
  const n = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + n).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(json, 8);
  return out;
}

// ---- reading ----

/** Parse a safetensors buffer; every malformation is a FormatError naming `source` and the problem. */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): Safetensors {
  const n = headerLength(bytes.subarray(0, 8), bytes.length, source);
  const start = 8 + n;
  const { entries, metadata } = parseHeader(bytes.subarray(8, start), bytes.length - start, source);
  const tensors: Record<string, NamedTensor> = Object.create(null);
  for (const e of entries) {
    const { data, raw } = allocate(e);
    raw.set(bytes.subarray(start + e.begin, start + e.end)); // copy: the data section may be unaligned
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data };
  }
  if (metadata[CHECKSUM_KEY] !== undefined)
    verifyChecksum(metadata[CHECKSUM_KEY], new Sha256().update(bytes.subarray(start)).digest('hex'), source);
  return { tensors, metadata };
}

/** A zeroed typed array for an entry, and its bytes to fill. */
export function allocate(e: Entry): { data: TensorData; raw: Uint8Array } {
  if (!LITTLE) throw new FormatError('safetensors needs a little-endian host');
  const data = new (KINDS.get(e.dtype)!.array)(e.count); // count was checked against the file size
  return { data, raw: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function verifyChecksum(expected: string, actual: string, source: string): void {
  if (expected !== actual)
    throw new FormatError(
      `${source}: checksum mismatch: header says ${expected}, data hashes to ${actual} (file corrupted?)`,
    );
}

/** The header length from the first 8 bytes, checked against the file size. */
export function headerLength(prefix: Uint8Array, fileSize: number, source: string): number {
  const bad = (why: string) => new FormatError(`${source}: ${why}; not a safetensors file`);
  if (prefix.length < 8 || fileSize < 8) throw bad(`file is ${fileSize} bytes, too short for the 8-byte header length`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = view.getUint32(0, true),
    hi = view.getUint32(4, true);
  if (hi !== 0)
    throw bad(
      `header length ${view.getBigUint64(0, true)} is absurd (high bits set, negative as i64: ${view.getBigInt64(0, true)})`,
    );
  if (lo > MAX_HEADER_BYTES) throw bad(`header length ${lo} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  if (8 + lo > fileSize) throw bad(`header length ${lo} exceeds the file size ${fileSize}`);
  if (lo < 2) throw bad(`header length ${lo} is too small for a JSON object`);
  return lo;
}

// Names come from the file: keep messages readable however long they are.
const short = (s: string): string => (s.length > 80 ? `${s.slice(0, 80)}…` : s);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse and check the JSON header: entries (sorted by offset, tiling the data section) and metadata. */
export function parseHeader(
  bytes: Uint8Array,
  dataLen: number,
  source: string,
): { entries: Entry[]; metadata: Record<string, string> } {
  const bad = (why: string) => new FormatError(`${source}: ${why}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw bad('header is not valid UTF-8');
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw bad(`header is not valid JSON (${String((err as Error).message).slice(0, 120)})`);
  }
  if (!isObject(root))
    throw bad(`header is JSON ${root === null ? 'null' : Array.isArray(root) ? 'array' : typeof root}, not an object`);

  const metadata: Record<string, string> = Object.create(null);
  const entries: Entry[] = [];
  for (const name of Object.keys(root)) {
    const v = root[name];
    if (name === '__proto__') throw bad('header key "__proto__" is not allowed');
    if (name === '__metadata__') {
      if (!isObject(v)) throw bad('"__metadata__" is not an object');
      for (const k of Object.keys(v)) {
        if (k === '__proto__') throw bad('metadata key "__proto__" is not allowed');
        if (typeof v[k] !== 'string')
          throw bad(`metadata value for "${short(k)}" is ${JSON.stringify(v[k])?.slice(0, 40)}, not a string`);
        metadata[k] = v[k] as string;
      }
      continue;
    }
    entries.push(parseEntry(name, v, dataLen, bad));
  }
  const sum = metadata[CHECKSUM_KEY];
  if (sum !== undefined && !/^[0-9a-f]{64}$/.test(sum))
    throw bad(`metadata "${CHECKSUM_KEY}" is not a sha256 hex digest`);

  // The tensors must tile the data section exactly: no overlap, no gap, nothing left over.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0,
    prev = '';
  for (const e of entries) {
    if (e.begin < pos)
      throw bad(
        `tensor "${short(e.name)}" (bytes ${e.begin}..${e.end}) overlaps tensor "${short(prev)}" (ends at ${pos})`,
      );
    if (e.begin > pos)
      throw bad(`bytes ${pos}..${e.begin} of the data section belong to no tensor (gap before "${short(e.name)}")`);
    pos = e.end;
    prev = e.name;
  }
  if (pos !== dataLen)
    throw bad(`bytes ${pos}..${dataLen} of the data section belong to no tensor (offsets do not cover the buffer)`);
  return { entries, metadata };
}

function parseEntry(name: string, v: unknown, dataLen: number, bad: (why: string) => FormatError): Entry {
  const what = `tensor "${short(name)}"`;
  if (!isObject(v)) throw bad(`${what}: entry is not an object`);
  const dtype = v.dtype;
  const kind = typeof dtype === 'string' ? KINDS.get(dtype) : undefined;
  if (!kind)
    throw bad(`${what}: bad dtype ${JSON.stringify(dtype)?.slice(0, 40)} (supported: ${[...KINDS.keys()].join(', ')})`);
  const shape = v.shape;
  if (!Array.isArray(shape)) throw bad(`${what}: shape is not an array`);
  if (shape.length > MAX_RANK) throw bad(`${what}: rank ${shape.length} exceeds ${MAX_RANK}`);
  let count = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)
      throw bad(`${what}: shape entry ${JSON.stringify(d)?.slice(0, 40)} is not a non-negative integer`);
    if (d !== 0 && count > Number.MAX_SAFE_INTEGER / d) throw bad(`${what}: shape ${fmtShape(shape)} overflows`);
    count *= d;
  }
  const off = v.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !off.every((x) => typeof x === 'number' && Number.isSafeInteger(x))) {
    throw bad(`${what}: data_offsets is not a pair of integers`);
  }
  const [begin, end] = off as number[];
  if (begin < 0 || end < begin || end > dataLen)
    throw bad(`${what}: data_offsets [${begin},${end}] out of range (data section is ${dataLen} bytes)`);
  if (count * kind.size !== end - begin) {
    throw bad(
      `${what}: shape ${fmtShape(shape)} of ${dtype} needs ${count * kind.size} bytes but data_offsets span ${end - begin}`,
    );
  }
  return { name, dtype: dtype as SafeDType, shape: shape as number[], count, begin, end };
}

// ---- helpers for loaders ----

/** Values of a tensor as plain numbers; I64 values beyond ±2^53 are a FormatError. */
export function toNumbers(t: NamedTensor, what = 'tensor', source = '<buffer>'): number[] {
  if (!(t.data instanceof BigInt64Array)) return Array.from(t.data as ArrayLike<number>);
  return Array.from(t.data, (b) => {
    if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER))
      throw new FormatError(`${source}: ${what} holds ${b}, too large to be a number`);
    return Number(b);
  });
}

/** The tensor `name` with the expected dtype (and shape, if given), or a FormatError saying what differs. */
export function requireTensor(
  file: Safetensors,
  name: string,
  dtype: SafeDType,
  shape: readonly number[] | undefined,
  source = '<buffer>',
): NamedTensor {
  const t = Object.hasOwn(file.tensors, name) ? file.tensors[name] : undefined;
  if (!t) throw new FormatError(`${source}: tensor "${name}" is missing`);
  if (t.dtype !== dtype) throw new FormatError(`${source}: tensor "${name}" is ${t.dtype}, expected ${dtype}`);
  if (shape && (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))) {
    throw new FormatError(`${source}: tensor "${name}" has shape ${fmtShape(t.shape)}, expected ${fmtShape(shape)}`);
  }
  return t;
}
