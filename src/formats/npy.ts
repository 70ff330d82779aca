// NumPy .npy (format v1/v2/v3) on bytes: decoding and encoding of float32 images, uint8 pixels and
// integer labels. The header dict is untrusted data: it is parsed by a strict grammar (never
// evaluated) and checked against the file size. Files: node/files/npy.ts.
import { AlexnetError, FormatError } from '../errors.js';

export type NpyData = Float32Array | Uint8Array | Int32Array;

export interface NpyHeader {
  /** descr as written in the file, e.g. '<f4', '|u1', '<i8' */
  dtype: string;
  kind: 'f' | 'i' | 'u';
  itemsize: number;
  shape: number[];
  /** number of elements (product of shape) */
  count: number;
  /** byte offset of the data in the file */
  dataOffset: number;
  version: 1 | 2 | 3;
}

export interface NpyArray {
  dtype: string;
  shape: number[];
  /** '<f4' → Float32Array, u1 → Uint8Array, every other integer dtype → Int32Array (range-checked). */
  data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Headers of supported dtypes are ~100 bytes; anything larger than this is hostile or unsupported. */
export const MAX_HEADER = 1 << 20;
/** Bytes before the header dict in the longest preamble (v2/v3). */
export const PREAMBLE_MAX = 12;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1)
  throw new AlexnetError('npy: big-endian hosts are not supported');

/**
 * Parse the preamble and header dict. `bytes` must start at the file's beginning and hold at least the
 * header; `fileSize` is the whole file's size, used to check the data length exactly.
 */
export function parseNpyHeader(bytes: Uint8Array, name = '<buffer>', fileSize = bytes.length): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m))
    throw new FormatError(`${name}: not a .npy file (bad magic)`);
  const major = bytes[6],
    minor = bytes[7];
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0)
    throw new FormatError(`${name}: unsupported .npy version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start: number, hlen: number;
  if (major === 1) {
    start = 10;
    hlen = view.getUint16(8, true);
  } else {
    if (bytes.length < 12) throw new FormatError(`${name}: truncated .npy preamble`);
    start = 12;
    hlen = view.getUint32(8, true);
  }
  if (hlen > MAX_HEADER) throw new FormatError(`${name}: .npy header length ${hlen} exceeds ${MAX_HEADER}`);
  if (start + hlen > fileSize)
    throw new FormatError(`${name}: .npy header length ${hlen} runs past the end of the ${fileSize}-byte file`);
  if (start + hlen > bytes.length) throw new FormatError(`${name}: .npy header not fully read`);
  let text = '';
  for (let i = start; i < start + hlen; i++) text += String.fromCharCode(bytes[i]);
  const dict = parseHeaderDict(text, name);
  const { kind, itemsize } = parseDescr(dict.descr, name);
  if (dict.fortran_order)
    throw new FormatError(`${name}: fortran_order=True is not supported (save a C-ordered array)`);
  const dataOffset = start + hlen;
  const avail = fileSize - dataOffset;
  let count = 1;
  for (const d of dict.shape) {
    count *= d;
    // Checked as the product grows so it stays exact and nothing is sized from an unchecked field.
    if (count * itemsize > avail)
      throw new FormatError(
        `${name}: truncated: shape (${dict.shape.join(', ')}) of ${dict.descr} needs more than the ${avail} data bytes present`,
      );
  }
  if (count * itemsize !== avail)
    throw new FormatError(
      `${name}: ${avail - count * itemsize} trailing bytes after the (${dict.shape.join(', ')}) ${dict.descr} data`,
    );
  return { dtype: dict.descr, kind, itemsize, shape: dict.shape, count, dataOffset, version: major as 1 | 2 | 3 };
}

function parseDescr(descr: string, name: string): { kind: 'f' | 'i' | 'u'; itemsize: number } {
  const m = /^([<>|=])([fiu])([1248])$/.exec(descr);
  if (!m)
    throw new FormatError(
      `${name}: unsupported dtype '${descr}' (supported: <f4, |u1, <i1, <i2, <i4, <i8, <u2, <u4, <u8)`,
    );
  const [, order, kind, size] = m;
  const itemsize = Number(size);
  if (kind === 'f' && itemsize !== 4)
    throw new FormatError(`${name}: dtype '${descr}' is not supported; convert to float32 ('<f4')`);
  if (itemsize > 1 && order === '>') throw new FormatError(`${name}: big-endian dtype '${descr}' is not supported`);
  if (itemsize > 1 && order !== '<')
    throw new FormatError(`${name}: dtype '${descr}' has no explicit little-endian byte order`);
  return { kind: kind as 'f' | 'i' | 'u', itemsize };
}

interface HeaderDict {
  descr: string;
  fortran_order: boolean;
  shape: number[];
}

/** Strict parser for the header: a Python dict literal with exactly descr, fortran_order and shape. */
function parseHeaderDict(text: string, name: string): HeaderDict {
  let pos = 0;
  const fail = (what: string): never => {
    throw new FormatError(`${name}: malformed .npy header at offset ${pos}: ${what}`);
  };
  const ws = () => {
    while (pos < text.length && ' \t\r\n'.includes(text[pos])) pos++;
  };
  const expect = (ch: string) => {
    ws();
    if (text[pos] !== ch) fail(`expected '${ch}'`);
    pos++;
  };
  const str = (): string => {
    ws();
    const q = text[pos];
    if (q !== "'" && q !== '"') fail('expected a string');
    const end = text.indexOf(q, pos + 1);
    if (end < 0 || end - pos > 64) fail('unterminated or overlong string');
    const s = text.slice(pos + 1, end);
    if (!/^[A-Za-z0-9_<>|=]*$/.test(s)) fail(`unexpected characters in string '${s}'`);
    pos = end + 1;
    return s;
  };
  const int = (): number => {
    const m = /^(0|[1-9][0-9]{0,15})(?![0-9A-Za-z_.])/.exec(text.slice(pos, pos + 18));
    if (!m) fail('expected a non-negative integer');
    pos += m![1].length;
    const v = Number(m![1]);
    if (!Number.isSafeInteger(v)) fail('integer too large');
    return v;
  };
  const tuple = (): number[] => {
    expect('(');
    const out: number[] = [];
    let comma = false;
    for (;;) {
      ws();
      if (text[pos] === ')') {
        pos++;
        break;
      }
      if (out.length > 0 && !comma) fail("expected ',' or ')'");
      if (out.length >= 32) fail('too many dimensions');
      out.push(int());
      ws();
      comma = text[pos] === ',';
      if (comma) pos++;
    }
    // Python's (3) is an int, not a tuple: one-element shapes need the trailing comma.
    if (out.length === 1 && !comma) fail('one-element shape tuple lacks its trailing comma');
    return out;
  };
  const value = (key: string): string | boolean | number[] => {
    ws();
    if (key === 'shape') return tuple();
    if (key === 'descr') return str();
    for (const [word, v] of [
      ['True', true],
      ['False', false],
    ] as const) {
      if (text.startsWith(word, pos) && !/[A-Za-z0-9_]/.test(text[pos + word.length] ?? '')) {
        pos += word.length;
        return v;
      }
    }
    return fail('expected True or False');
  };

  expect('{');
  const seen = new Map<string, string | boolean | number[]>();
  for (;;) {
    ws();
    if (text[pos] === '}') {
      pos++;
      break;
    }
    const key = str();
    if (key !== 'descr' && key !== 'fortran_order' && key !== 'shape') fail(`unexpected key '${key}'`);
    if (seen.has(key)) fail(`duplicate key '${key}'`);
    expect(':');
    seen.set(key, value(key));
    ws();
    if (text[pos] === ',') pos++;
    else if (text[pos] !== '}') fail("expected ',' or '}'");
  }
  ws();
  if (pos !== text.length) fail('unexpected text after the header dict');
  for (const k of ['descr', 'fortran_order', 'shape']) if (!seen.has(k)) fail(`missing key '${k}'`);
  return {
    descr: seen.get('descr') as string,
    fortran_order: seen.get('fortran_order') as boolean,
    shape: seen.get('shape') as number[],
  };
}

/** Decode a whole .npy file held in memory. Float32/uint8 results may be views into `bytes`. */
export function decodeNpy(bytes: Uint8Array, name = '<buffer>'): NpyArray {
  const h = parseNpyHeader(bytes, name);
  return { dtype: h.dtype, shape: h.shape, data: convert(bytes, h, name) };
}

function convert(bytes: Uint8Array, h: NpyHeader, name: string): NpyData {
  const off = bytes.byteOffset + h.dataOffset;
  if (h.kind === 'f') {
    if (off % 4 === 0) return new Float32Array(bytes.buffer, off, h.count);
    return new Float32Array(bytes.slice(h.dataOffset, h.dataOffset + 4 * h.count).buffer);
  }
  if (h.kind === 'u' && h.itemsize === 1) return new Uint8Array(bytes.buffer, off, h.count); // plain view, even of a Buffer
  const view = new DataView(bytes.buffer, off, h.count * h.itemsize);
  const out = new Int32Array(h.count);
  const signed = h.kind === 'i';
  for (let i = 0; i < h.count; i++) {
    let v: number;
    switch (h.itemsize) {
      case 1:
        v = signed ? view.getInt8(i) : view.getUint8(i);
        break;
      case 2:
        v = signed ? view.getInt16(2 * i, true) : view.getUint16(2 * i, true);
        break;
      case 4:
        v = signed ? view.getInt32(4 * i, true) : view.getUint32(4 * i, true);
        break;
      default: {
        const lo = view.getUint32(8 * i, true),
          hi = view.getUint32(8 * i + 4, true);
        // Fits int32 iff the high word is the sign extension of the low word (and, unsigned, is 0).
        v = hi === 0 && lo <= 0x7fffffff ? lo : signed && hi === 0xffffffff && lo >= 0x80000000 ? lo | 0 : NaN;
      }
    }
    if (!(v >= -2147483648 && v <= 2147483647))
      throw new FormatError(`${name}: element ${i} of ${h.dtype} data does not fit in int32`);
    out[i] = v;
  }
  return out;
}

const DESCR = (data: NpyData): string =>
  data instanceof Float32Array ? '<f4' : data instanceof Uint8Array ? '|u1' : '<i4';

/** Encode an array as .npy bytes: Float32Array → '<f4', Uint8Array → '|u1', Int32Array → '<i4'. */
export function encodeNpy(data: NpyData, shape: readonly number[], opts: { version?: 1 | 2 | 3 } = {}): Uint8Array {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new FormatError(`encodeNpy: invalid shape (${shape.join(', ')})`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length)
    throw new FormatError(`encodeNpy: shape (${shape.join(', ')}) holds ${count} elements, data has ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${DESCR(data)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  let version = opts.version ?? 1;
  let pre = version === 1 ? 10 : 12;
  // Pad with spaces so the data starts 64-byte aligned, as numpy does; the header ends with '\n'.
  let hlen = Math.ceil((pre + dict.length + 1) / 64) * 64 - pre;
  if (version === 1 && hlen > 0xffff) {
    version = 2;
    pre = 12;
    hlen = Math.ceil((pre + dict.length + 1) / 64) * 64 - pre;
  }
  const bytes = new Uint8Array(pre + hlen + data.byteLength);
  bytes.set(MAGIC);
  bytes[6] = version;
  bytes[7] = 0;
  const view = new DataView(bytes.buffer);
  if (version === 1) view.setUint16(8, hlen, true);
  else view.setUint32(8, hlen, true);
  const header = `${dict.padEnd(hlen - 1, ' ')}\n`;
  for (let i = 0; i < hlen; i++) bytes[pre + i] = header.charCodeAt(i);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pre + hlen);
  return bytes;
}
