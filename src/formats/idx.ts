// IDX (MNIST / Fashion-MNIST) on bytes: parsing and encoding. The header is untrusted: every field
// is checked against the bytes actually present before anything is sized from it. Files and gzip:
// node/files/idx.ts.
import { FormatError } from '../errors.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const DTYPE_NAMES: Record<number, string> = {
  0x08: 'ubyte',
  0x09: 'sbyte',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
};

export const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Parse uncompressed IDX bytes. The returned data is a view into `raw` (no copy). */
export function parseIdx(raw: Uint8Array, name = '<buffer>'): IdxArray {
  if (raw.length < 4) throw new FormatError(`${name}: too short for an IDX header (${raw.length} bytes)`);
  if (raw[0] !== 0 || raw[1] !== 0)
    throw new FormatError(`${name}: bad IDX magic ${hex(raw, 0, 4)} (expected 00 00 08 nd)`);
  const dtype = raw[2];
  if (dtype !== 0x08) {
    const known = DTYPE_NAMES[dtype];
    throw new FormatError(
      known
        ? `${name}: IDX dtype 0x${dtype.toString(16).padStart(2, '0')} (${known}) is not supported; only 0x08 ubyte is`
        : `${name}: invalid IDX dtype byte 0x${dtype.toString(16).padStart(2, '0')}`,
    );
  }
  const nd = raw[3];
  if (nd < 1 || nd > 4) throw new FormatError(`${name}: IDX rank ${nd} is out of range 1..4`);
  const header = 4 + 4 * nd;
  if (raw.length < header) throw new FormatError(`${name}: truncated IDX header (${raw.length} of ${header} bytes)`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const dims: number[] = [];
  const avail = raw.length - header;
  let count = 1;
  for (let i = 0; i < nd; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    if (d === 0) throw new FormatError(`${name}: IDX dimension ${i} is 0`);
    dims.push(d);
    // Products are compared with the bytes present as they grow, so they stay exact (< 2^53).
    count *= d;
    if (count > avail)
      throw new FormatError(
        `${name}: truncated: dims [${dims.join(',')}${i < nd - 1 ? ',…' : ''}] need more than the ${avail} data bytes present`,
      );
  }
  if (count !== avail)
    throw new FormatError(`${name}: ${avail - count} trailing bytes after the [${dims.join(',')}] ubyte data`);
  return { dims, data: new Uint8Array(raw.buffer, raw.byteOffset + header, count) }; // plain view, even of a Buffer
}

/** Encode dims + ubyte data as an IDX file (for tests and tools). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  if (dims.length < 1 || dims.length > 4) throw new FormatError(`encodeIdx: rank ${dims.length} out of range 1..4`);
  if (dims.some((d) => !Number.isInteger(d) || d < 1 || d > 0xffffffff))
    throw new FormatError(`encodeIdx: invalid dims [${dims.join(',')}]`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length)
    throw new FormatError(`encodeIdx: dims [${dims.join(',')}] hold ${n} bytes, data has ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + n);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function hex(b: Uint8Array, start: number, end: number): string {
  return Array.from(b.subarray(start, end), (x) => x.toString(16).padStart(2, '0')).join(' ');
}
